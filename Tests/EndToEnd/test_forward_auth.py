"""Forward-auth end to end (<doc:Decisions>): a real nginx (Debian's, `auth_request`) in front of a small upstream,
asking the real gateway's /auth/check before every request. Valid credentials reach the upstream with the
principal's headers; a client-forged X-Akto-User-Id never does; a GUEST's write, a deleted key and a logged-out
session are refused by nginx before the upstream sees them; a demotion takes effect on the very next request."""
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

import pytest
import requests

from conftest import Server, free_port, wait_for_http

from akrp_client import AkrpClient
from akto.access.v1 import session_pb2

PASSWORD = "Secret123-horse"
ROUTES = """\
# METHOD PATH-PREFIX FEATURE ACCESS
GET  /inventory/  INVENTORY     READ
*    /inventory/  INVENTORY     READ_WRITE
*    /admin/      ADMIN_ACTIONS READ_WRITE
"""
NGINX_CONF = """\
{user}worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location = /_akto_auth {{
            internal;
            proxy_pass http://127.0.0.1:{gateway}/auth/check;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Original-Method $request_method;
        }}
        location / {{
            auth_request /_akto_auth;
            auth_request_set $akto_user_id $upstream_http_x_akto_user_id;
            auth_request_set $akto_role $upstream_http_x_akto_role;
            auth_request_set $akto_account_id $upstream_http_x_akto_account_id;
            proxy_set_header X-Akto-User-Id $akto_user_id;
            proxy_set_header X-Akto-Role $akto_role;
            proxy_set_header X-Akto-Account-Id $akto_account_id;
            proxy_pass http://127.0.0.1:{upstream};
        }}
    }}
}}
"""


class Upstream:
    """The protected service: records every request that reached it."""

    def __init__(self):
        self.seen = []
        seen = self.seen

        class Handler(http.server.BaseHTTPRequestHandler):
            def handle_one(self):
                seen.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
                body = b"upstream"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = handle_one

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def stack():
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx):
        pytest.fail("nginx is missing: tools/test installs it (apt-get install nginx)")
    folder = tempfile.mkdtemp(prefix="akto-nginx-")
    routes = os.path.join(folder, "routes")
    with open(routes, "w") as fh:
        fh.write(ROUTES)
    gateway = free_port()
    server = Server(["--forward-auth-routes", routes], http_port=gateway)
    wait_for_http(gateway)
    upstream = Upstream()
    port = free_port()
    with open(os.path.join(folder, "nginx.conf"), "w") as fh:
        # As root the workers would drop to nobody, who cannot enter the 0700 folder.
        user = "user root;\n" if os.geteuid() == 0 else ""
        fh.write(NGINX_CONF.format(user=user, dir=folder, port=port, gateway=gateway, upstream=upstream.port))
    proxy = subprocess.Popen([nginx, "-p", folder, "-c", os.path.join(folder, "nginx.conf"), "-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 20
    while True:
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=2)
            break
        except requests.ConnectionError:
            if proxy.poll() is not None or time.time() > deadline:
                raise RuntimeError("nginx did not start: " + proxy.stderr.read().decode())
            time.sleep(0.05)
    client = AkrpClient.connect(server.socket)
    status, _ = client.call("/akto.access.v1.SessionService/Signup",
                            session_pb2.SignupRequest(email="admin@example.com", password=PASSWORD, organization="Acme"),
                            session_pb2.SignupResponse)
    assert status.code == 0
    client.close()
    yield server, gateway, port, upstream
    proxy.terminate()
    proxy.wait(timeout=20)
    upstream.close()
    assert server.terminate() == 0


def api(gateway, name, body, token=None, key=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    if key:
        headers["X-API-KEY"] = key
    return requests.post(f"http://127.0.0.1:{gateway}/api/{name}", data=json.dumps(body), headers=headers, timeout=30)


def login(gateway, email):
    response = api(gateway, "login", {"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()["sessionToken"]


def test_nginx_lets_through_exactly_what_the_decision_allows(stack):
    server, gateway, port, upstream = stack
    admin = login(gateway, "admin@example.com")
    me = api(gateway, "me", {}, token=admin).json()
    key = api(gateway, "addApiToken", {"tokenUtility": "EXTERNAL_API"}, token=admin).json()["apiTokenList"][0]
    proxied = f"http://127.0.0.1:{port}"

    # A valid key reaches the upstream, with the principal in the headers; a forged one is replaced.
    response = requests.get(proxied + "/inventory/collections", timeout=30,
                            headers={"X-API-KEY": key["key"], "X-Akto-User-Id": "999999", "X-Akto-Role": "ADMIN"})
    assert response.status_code == 200 and response.text == "upstream"
    method, path, headers = upstream.seen[-1]
    assert (method, path) == ("GET", "/inventory/collections")
    assert headers["x-akto-user-id"] == str(me["user"]["id"]) and headers["x-akto-role"] == "ADMIN"
    assert headers["x-akto-account-id"] == "1000000"

    # No credential, with a forged principal: refused by nginx, the upstream never sees it.
    before = len(upstream.seen)
    forged = requests.get(proxied + "/inventory/collections", timeout=30, headers={"X-Akto-User-Id": "1"})
    assert forged.status_code == 401 and len(upstream.seen) == before

    # A path no route names is refused (fail closed), and so is a dot-segment walk into /admin for a GUEST below.
    assert requests.get(proxied + "/elsewhere", headers={"X-API-KEY": key["key"]}, timeout=30).status_code == 403

    # A GUEST may read, not write.
    invite = api(gateway, "inviteUsers", {"inviteeEmail": "guest@example.com", "inviteeRole": "GUEST"}, token=admin)
    assert invite.status_code == 200, invite.text
    joined = api(gateway, "signup", {"email": "guest@example.com", "password": PASSWORD,
                                     "inviteCode": invite.json()["inviteCode"]})
    assert joined.status_code == 200, joined.text
    guest = joined.json()["sessionToken"]
    bearer = {"Authorization": "Bearer " + guest}
    assert requests.get(proxied + "/inventory/a", headers=bearer, timeout=30).status_code == 200
    before = len(upstream.seen)
    assert requests.post(proxied + "/inventory/a", headers=bearer, data="x", timeout=30).status_code == 403
    assert requests.get(proxied + "/inventory/../admin/users", headers=bearer, timeout=30).status_code == 403
    # A forged second form of the method (nginx passes the client's headers to the subrequest) is refused.
    forged = {**bearer, "X-Forwarded-Method": "GET"}
    assert requests.post(proxied + "/inventory/a", headers=forged, data="x", timeout=30).status_code == 403
    assert len(upstream.seen) == before

    # A deleted key and a logged-out session: refused on the very next request.
    assert api(gateway, "deleteApiToken", {"apiTokenId": key["id"]}, token=admin).status_code == 200
    assert requests.get(proxied + "/inventory/a", headers={"X-API-KEY": key["key"]}, timeout=30).status_code == 401
    assert api(gateway, "logout", {}, token=guest).status_code == 200
    assert requests.get(proxied + "/inventory/a", headers=bearer, timeout=30).status_code == 401
    assert len(upstream.seen) == before


def test_a_demotion_takes_effect_on_the_very_next_request(stack):
    server, gateway, port, upstream = stack
    admin = login(gateway, "admin@example.com")
    invite = api(gateway, "inviteUsers", {"inviteeEmail": "second@example.com", "inviteeRole": "ADMIN"}, token=admin)
    assert invite.status_code == 200, invite.text
    joined = api(gateway, "signup", {"email": "second@example.com", "password": PASSWORD,
                                     "inviteCode": invite.json()["inviteCode"]})
    second = {"Authorization": "Bearer " + joined.json()["sessionToken"]}
    proxied = f"http://127.0.0.1:{port}"
    assert requests.delete(proxied + "/admin/users/7", headers=second, timeout=30).status_code == 200
    demoted = api(gateway, "makeAdmin", {"email": "second@example.com", "userRole": "MEMBER"}, token=admin)
    assert demoted.status_code == 200, demoted.text
    before = len(upstream.seen)
    assert requests.delete(proxied + "/admin/users/7", headers=second, timeout=30).status_code == 403
    assert len(upstream.seen) == before
