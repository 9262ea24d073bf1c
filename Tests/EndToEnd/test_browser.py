"""A real headless Chromium drives the gateway from another origin, as the Akto dashboard would."""
import http.server
import json
import shutil
import threading
import time
import urllib.request

import pytest

from akrp_client import AkrpClient
from akto.access.v1 import role_pb2, session_pb2
from conftest import Server, free_port

PAGE = """<!doctype html><html><head><title>loading</title></head><body><script>
const base = "http://127.0.0.1:%(api)d";
async function call(path, body) {
  try {
    const response = await fetch(base + path, {method: "POST", credentials: "include",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify(body || {})});
    return {status: response.status, body: await response.json()};
  } catch (error) {
    return {status: 0, error: String(error)};
  }
}
(async () => {
  const results = {};
  results.login = await call("/api/login", {email: "admin@example.com", password: "Secret123-horse"});
  results.role = await call("/api/createCustomRole", {roleName: "%(role)s", baseRole: "GUEST"});
  results.logout = await call("/api/logout", {});
  results.after = await call("/api/me", {});
  window.results = results;
  document.title = "done";
})();
</script></body></html>"""


def serve_page(api_port, role, port=0):
    """Serves the page on its own origin (`port`, or a free one); returns (port, stop)."""
    body = (PAGE % {"api": api_port, "role": role}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd.server_address[1], httpd.shutdown


def run_page(url):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]:
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
    try:
        driver.set_page_load_timeout(30)
        driver.get(url)
        deadline = time.time() + 30
        while driver.title != "done" and time.time() < deadline:
            time.sleep(0.1)
        return driver.execute_script("return window.results")
    finally:
        driver.quit()


@pytest.mark.skipif(not shutil.which("chromedriver"), reason="chromium-driver is missing (tools/test installs it)")
def test_a_browser_on_an_allowed_origin_works_and_another_origin_is_refused():
    api_port = free_port()
    allowed_page_port = free_port()
    server = Server(["--allowed-origins", f"http://127.0.0.1:{allowed_page_port}"], http_port=api_port)
    deadline = time.time() + 20
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{api_port}/healthz", timeout=2)
            break
        except OSError:
            assert time.time() < deadline
            time.sleep(0.05)
    client = AkrpClient.connect(server.socket)
    status, _ = client.call("/akto.access.v1.SessionService/Signup",
                            session_pb2.SignupRequest(email="admin@example.com", password="Secret123-horse"))
    assert status.code == 0

    # The allowed origin: the page's own http server listens on the allow-listed port.
    _, stop = serve_page(api_port, "browser-role", port=allowed_page_port)
    try:
        results = run_page(f"http://127.0.0.1:{allowed_page_port}/")
    finally:
        stop()
    assert results["login"]["status"] == 200, results
    assert "sessionToken" in results["login"]["body"]
    assert results["role"]["status"] == 200, results
    assert results["role"]["body"]["role"]["name"] == "BROWSER-ROLE"
    assert results["logout"]["status"] == 200
    assert results["after"]["status"] == 401  # the cookie was expired and the session revoked

    # A page from an origin that is not allowed: CORS stops it, and nothing changes.
    other_port, stop = serve_page(api_port, "evil-role")
    try:
        results = run_page(f"http://127.0.0.1:{other_port}/")
    finally:
        stop()
    assert results["login"]["status"] == 0 and results["role"]["status"] == 0, results
    status, login = client.call("/akto.access.v1.SessionService/Login",
                                session_pb2.LoginRequest(email="admin@example.com", password="Secret123-horse"),
                                session_pb2.LoginResponse)
    status, roles = client.call("/akto.access.v1.RoleService/GetCustomRoles", role_pb2.GetCustomRolesRequest(),
                                role_pb2.GetCustomRolesResponse, metadata={"authorization": "Bearer " + login.session_token})
    assert [r.name for r in roles.roles] == ["BROWSER-ROLE"]
    client.close()
    assert server.terminate() == 0
