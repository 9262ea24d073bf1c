"""The HTTP/JSON gateway of the real binary: Akto-style requests with curl-like clients, and schemathesis
against the live /openapi.json (no 5xx, no response that violates the document)."""
import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from akrp_client import AkrpClient
from akto.access.v1 import role_pb2, session_pb2, token_pb2
from conftest import Server, free_port, wait_for_http


def post(port, path, body, headers=None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


@pytest.fixture
def gateway():
    port = free_port()
    server = Server(http_port=port)
    wait_for_http(port)
    client = AkrpClient.connect(server.socket)
    status, signup = client.call("/akto.access.v1.SessionService/Signup",
                                 session_pb2.SignupRequest(email="admin@example.com", password="Secret123-horse"),
                                 session_pb2.SignupResponse)
    assert status.code == 0
    session = {"authorization": "Bearer " + signup.session_token}
    status, added = client.call("/akto.access.v1.TokenService/AddApiToken",
                                token_pb2.AddApiTokenRequest(token_utility="EXTERNAL_API"), token_pb2.AddApiTokenResponse,
                                metadata=session)
    assert status.code == 0
    yield server, port, added.api_token_list[0].key, client, session
    client.close()
    assert server.terminate() == 0


def test_akto_style_request_matches_the_socket(gateway):
    server, port, key, client, session = gateway
    body = {"roleName": "security-analyst", "baseRole": "MEMBER", "apiCollectionIds": [1], "defaultInviteRole": False}
    status, answer, headers = post(port, "/api/createCustomRole", body, {"X-API-KEY": key})
    assert status == 200, answer
    assert answer["role"]["name"] == "SECURITY-ANALYST" and answer["role"]["apiCollectionIds"] == [1]
    assert headers.get("X-Content-Type-Options") == "nosniff"
    # The socket sees the same role, and the same duplicate rule.
    status_socket, roles = client.call("/akto.access.v1.RoleService/GetCustomRoles", role_pb2.GetCustomRolesRequest(),
                                       role_pb2.GetCustomRolesResponse, metadata={"x-api-key": key})
    assert status_socket.code == 0 and [r.name for r in roles.roles] == ["SECURITY-ANALYST"]
    status, error, _ = post(port, "/api/createCustomRole", body, {"X-API-KEY": key})
    assert status == 409 and error["code"] == "already_exists"


def test_schemathesis_finds_no_server_errors_or_schema_violations(gateway):
    server, port, key, _, _ = gateway
    st = shutil.which("st") or shutil.which("schemathesis")
    assert st, "schemathesis is missing (tools/test installs it)"
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=10) as response:
        document = json.loads(response.read())
    # Operations the server does not implement yet answer 501 by design; they are left out of the fuzz run.
    skipped = [op["operationId"] for item in document["paths"].values() for op in item.values()
               if not op.get("x-akto-implemented", True)]
    command = [st, "run", f"http://127.0.0.1:{port}/openapi.json", "-H", f"X-API-KEY: {key}",
               "--checks", "not_a_server_error,response_schema_conformance,content_type_conformance",
               "--max-examples", "25", "--request-timeout", "10", "--workers", "1", "--generation-deterministic",
               "--phases", "examples,fuzzing"]
    for operation_id in skipped:
        command += ["--exclude-operation-id", operation_id]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    output = result.stdout + result.stderr
    print(output[-3000:])
    assert result.returncode == 0, output[-6000:]
