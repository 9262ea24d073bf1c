"""Identity operations through the Python client, and durability across kill -9."""
import pytest
import signal
import threading
import time

from akrp_client import AkrpClient, ProtocolError
from akto.access.v1 import account_pb2, session_pb2, token_pb2
from conftest import BACKEND, Server

SIGNUP = "/akto.access.v1.SessionService/Signup"
LOGIN = "/akto.access.v1.SessionService/Login"
ME = "/akto.access.v1.SessionService/Me"
ADD_TOKEN = "/akto.access.v1.TokenService/AddApiToken"
FETCH_TOKENS = "/akto.access.v1.TokenService/FetchApiTokens"
AUDIT = "/akto.access.v1.AccountService/FetchAuditLogs"
UNAUTHENTICATED, PERMISSION_DENIED = 16, 7


def signup(client):
    status, answer = client.call(
        SIGNUP, session_pb2.SignupRequest(email="admin@example.com", password="Secret123-horse", name="Admin"),
        session_pb2.SignupResponse)
    assert status.code == 0, status
    return {"authorization": "Bearer " + answer.session_token}


def test_signup_login_me_and_api_keys_from_python(server):
    client = AkrpClient.connect(server.socket)
    session = signup(client)
    status, me = client.call(ME, session_pb2.MeRequest(), session_pb2.MeResponse, metadata=session)
    assert status.code == 0 and me.current_role == "ADMIN" and me.active_account_id == 1000000
    status, added = client.call(ADD_TOKEN, token_pb2.AddApiTokenRequest(token_utility="EXTERNAL_API"),
                                token_pb2.AddApiTokenResponse, metadata=session)
    assert status.code == 0
    key = added.api_token_list[0].key
    assert key.startswith("akto_") and len(key) == 51
    status, listed = client.call(FETCH_TOKENS, token_pb2.FetchApiTokensRequest(), token_pb2.FetchApiTokensResponse,
                                 metadata={"x-api-key": key})
    assert status.code == 0 and [t.key for t in listed.api_tokens] == [""]
    status, _ = client.call(ADD_TOKEN, token_pb2.AddApiTokenRequest(token_utility="BURP"), metadata={"x-api-key": key})
    assert status.code == PERMISSION_DENIED
    status, _ = client.call(ME, session_pb2.MeRequest(), metadata={})
    assert status.code == UNAUTHENTICATED
    client.close()


def test_every_acknowledged_mutation_survives_kill_9():
    server = Server(["--max-api-tokens", "10000"])
    setup = AkrpClient.connect(server.socket)
    session = signup(setup)
    setup.close()
    acknowledged = [[] for _ in range(4)]
    stop = threading.Event()

    def mutate(index):
        try:
            client = AkrpClient.connect(server.socket)
            while not stop.is_set():
                status, added = client.call(ADD_TOKEN, token_pb2.AddApiTokenRequest(token_utility="CICD"),
                                            token_pb2.AddApiTokenResponse, metadata=session)
                if status.code == 0:
                    acknowledged[index].append((added.api_token_list[0].id, added.api_token_list[0].key))
        except (ProtocolError, OSError):
            return  # the server died mid-call: that call was never acknowledged

    threads = [threading.Thread(target=mutate, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=10)
    stop.set()
    for t in threads:
        t.join(timeout=10)
    acked = [item for items in acknowledged for item in items]
    assert len(acked) > 10, "the test should have seen mutations acknowledged before the kill"

    restarted = Server(["--max-api-tokens", "10000"], data_dir=server.dir)
    client = AkrpClient.connect(restarted.socket)
    status, listed = client.call(FETCH_TOKENS, token_pb2.FetchApiTokensRequest(), token_pb2.FetchApiTokensResponse,
                                 metadata=session)
    assert status.code == 0
    stored = {t.id for t in listed.api_tokens}
    missing = [token_id for token_id, _ in acked if token_id not in stored]
    assert not missing, f"{len(missing)} acknowledged tokens lost: {missing[:5]}"
    print(f"kill -9 after {len(acked)} acknowledged mutations: all {len(acked)} present, {len(stored)} stored")
    # Every stored token has exactly one audit row (a call that died before its answer may have committed both).
    status, audit = client.call(AUDIT, account_pb2.FetchAuditLogsRequest(limit=500), account_pb2.FetchAuditLogsResponse,
                                metadata=session)
    assert status.code == 0
    rows = [r for r in audit.audit_logs if r.operation == "AddApiToken"]
    if len(stored) <= 500:
        assert len(rows) == len(stored)
    # The acknowledged keys still authenticate.
    status, _ = client.call(ME, session_pb2.MeRequest(), metadata={"x-api-key": acked[-1][1]})
    assert status.code == 0
    client.close()
    assert restarted.terminate() == 0


def test_admin_bootstrap_then_login():
    import subprocess
    import tempfile
    from conftest import binary, database_env
    data = tempfile.mkdtemp(prefix="akto-boot-")
    env = database_env(data)
    command = [binary(), "admin", "bootstrap", "--email", "Root@Example.com", "--password-stdin", "--data-dir", data,
               "--scrypt-log-rounds", "10"]
    first = subprocess.run(command, input="Secret123-horse\n", capture_output=True, text=True, timeout=60, env=env)
    assert first.returncode == 0, first.stderr
    assert "root@example.com" in first.stdout and "1000000" in first.stdout
    again = subprocess.run(command, input="Secret123-horse\n", capture_output=True, text=True, timeout=60, env=env)
    assert again.returncode != 0 and "already has users" in again.stderr
    weak = subprocess.run(command[:-2] + ["--data-dir", tempfile.mkdtemp()], input="short\n", capture_output=True,
                          text=True, timeout=60)
    assert weak.returncode != 0 and "password" in weak.stderr
    no_stdin_flag = subprocess.run([c for c in command if c != "--password-stdin"], input="Secret123-horse\n",
                                   capture_output=True, text=True, timeout=60)
    assert no_stdin_flag.returncode != 0
    server = Server(data_dir=data)
    client = AkrpClient.connect(server.socket)
    status, login = client.call(LOGIN, session_pb2.LoginRequest(email="root@example.com", password="Secret123-horse"),
                                session_pb2.LoginResponse)
    assert status.code == 0 and login.active_account_id == 1000000
    client.close()
    assert server.terminate() == 0


@pytest.mark.skipif(BACKEND == "postgres", reason="SQLite's group commit; PostgreSQL commits per transaction")
def test_group_commit_limit_is_validated_and_one_means_a_transaction_per_write():
    import subprocess
    import tempfile
    from conftest import binary
    for bad in ["0", "4097", "many"]:
        data = tempfile.mkdtemp(prefix="akto-gc-")
        run = subprocess.run([binary(), "serve", "--data-dir", data, "--http-address", "off",
                              "--sqlite-max-writes-per-commit", bad], capture_output=True, text=True, timeout=60)
        assert run.returncode != 0 and "sqlite-max-writes-per-commit" in run.stderr, (bad, run.stderr)
    # Group commit off: concurrent writes from several connections still all land, each once.
    server = Server(extra_args=["--sqlite-max-writes-per-commit", "1"])
    client = AkrpClient.connect(server.socket)
    session = signup(client)
    errors = []

    def add_tokens():
        own = AkrpClient.connect(server.socket)
        for _ in range(5):
            status, _ = own.call(ADD_TOKEN, token_pb2.AddApiTokenRequest(token_utility="CICD"), metadata=session)
            if status.code != 0:
                errors.append(status)
        own.close()

    threads = [threading.Thread(target=add_tokens) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    status, tokens = client.call(FETCH_TOKENS, token_pb2.FetchApiTokensRequest(), token_pb2.FetchApiTokensResponse,
                                 metadata=session)
    assert status.code == 0 and len(tokens.api_tokens) == 20
    client.close()
    assert server.terminate() == 0
