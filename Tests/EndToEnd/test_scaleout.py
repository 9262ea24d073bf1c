"""Scale-out (<doc:Storage>): two `akto-access serve` processes, each with its own socket and gateway port, sharing
one PostgreSQL database (skipped without AKTO_TEST_POSTGRES_URL; tools/test starts a throw-away cluster and
requires these tests) — and, for the principal cache's cross-process check, one SQLite file."""
import json
import os
import signal
import tempfile
import threading
import time
import urllib.request

import pytest

from akrp_client import AkrpClient
from akto.access.v1 import decision_pb2, inventory_pb2, role_pb2, session_pb2, team_pb2, token_pb2
from conftest import Server, free_port, fresh_database, psql, require_postgres
from test_jobs import access_types, setup, wait_for

PREFIX = "/akto.access.v1."
OK, UNAUTHENTICATED, PERMISSION_DENIED = 0, 16, 7


def pair(extra=()):
    """Two servers on one fresh database, A started first (it applies the migrations)."""
    require_postgres()
    database = fresh_database()
    ports = free_port(), free_port()
    a = Server(list(extra), http_port=ports[0], database_url=database)
    b = Server(list(extra), http_port=ports[1], database_url=database)
    return database, (a, ports[0]), (b, ports[1])


def call(client, method, request, response_type=None, session=None, expect=OK):
    status, answer = client.call(PREFIX + method, request, response_type, metadata=session)
    assert status.code == expect, (method, status)
    return answer


def post(port, path, body, headers):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", **headers}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def race(count, socket_of, call_with):
    """`count` calls released at once: call `i` runs `call_with(i, client)` on a connection of its own to
    `socket_of(i)`, opened before the barrier. Returns the results by `i`; an exception in any call is raised."""
    results, errors, barrier = [None] * count, [], threading.Barrier(count)

    def run(i):
        try:
            client = AkrpClient.connect(socket_of(i), timeout=60)
            barrier.wait()
            results[i] = call_with(i, client)
            client.close()
        except Exception as error:  # noqa: BLE001 - re-raised below, in the test's thread
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def api_admins(database):
    """The e-mails of the members who are ADMIN in the API scope."""
    return [row[0] for row in psql(database, "SELECT u.email FROM member_roles r JOIN users u ON u.id = r.user_id "
                                             "WHERE r.scope = 'API' AND r.role = 'ADMIN'")]


def stop(*servers):
    for server in servers:
        assert server.terminate() == 0, server.output()[-2000:]


def test_a_role_session_and_logout_made_on_one_process_hold_on_the_other():
    database, (a, port_a), (b, port_b) = pair()
    client_a, client_b = AkrpClient.connect(a.socket), AkrpClient.connect(b.socket)
    signup = call(client_a, "SessionService/Signup", session_pb2.SignupRequest(
        email="admin@example.com", password="Secret123-horse"), session_pb2.SignupResponse)
    admin = {"authorization": "Bearer " + signup.session_token}

    # The session from A works on B, over the socket and over B's gateway.
    me = call(client_b, "SessionService/Me", session_pb2.MeRequest(), session_pb2.MeResponse, admin)
    assert me.user.login == "admin@example.com", me
    status, _ = post(port_b, "/api/me", {}, {"Authorization": admin["authorization"]})
    assert status == 200

    # A role created through A is used through B at once: invite a member with it on B, sign them up on B.
    call(client_a, "RoleService/CreateCustomRole", role_pb2.CreateCustomRoleRequest(
        role_name="AUDITOR", base_role="GUEST"), session=admin)
    invite = call(client_b, "TeamService/InviteUsers", team_pb2.InviteUsersRequest(
        invitee_email="auditor@example.com", invitee_role="AUDITOR"), team_pb2.InviteUsersResponse, admin)
    joined = call(client_b, "SessionService/Signup", session_pb2.SignupRequest(
        email="auditor@example.com", password="Secret123-horse", invite_code=invite.final_invite_code),
        session_pb2.SignupResponse)
    auditor = {"authorization": "Bearer " + joined.session_token}
    me = call(client_a, "SessionService/Me", session_pb2.MeRequest(), session_pb2.MeResponse, auditor)
    assert me.current_role == "AUDITOR", me
    # The role's base (GUEST) limits the member on both processes: creating a role is ADMIN-only.
    for client in (client_a, client_b):
        call(client, "RoleService/CreateCustomRole", role_pb2.CreateCustomRoleRequest(
            role_name="X", base_role="GUEST"), session=auditor, expect=PERMISSION_DENIED)
    # A change of the role on B is seen by A's next call.
    call(client_b, "RoleService/UpdateCustomRole", role_pb2.UpdateCustomRoleRequest(
        role_name="AUDITOR", base_role="ADMIN"), session=admin)
    call(client_a, "RoleService/CreateCustomRole", role_pb2.CreateCustomRoleRequest(
        role_name="BY-AUDITOR", base_role="GUEST"), session=auditor)

    # Logout on A revokes the session on B (socket and gateway).
    call(client_a, "SessionService/Logout", session_pb2.LogoutRequest(), session_pb2.LogoutResponse, admin)
    call(client_b, "SessionService/Me", session_pb2.MeRequest(), session_pb2.MeResponse, admin, expect=UNAUTHENTICATED)
    status, _ = post(port_b, "/api/me", {}, {"Authorization": admin["authorization"]})
    assert status == 401
    client_a.close()
    client_b.close()
    stop(a, b)


def shared_file_pair():
    """Two servers on one SQLite file: one data directory, a socket each."""
    shared = tempfile.mkdtemp(prefix="akto-py-shared-")
    a = Server(data_dir=shared, socket_path=os.path.join(shared, "a.sock"))
    b = Server(data_dir=shared, socket_path=os.path.join(shared, "b.sock"))
    return a, b


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_a_decision_on_one_process_follows_a_revocation_acknowledged_by_the_other(store):
    """<doc:Storage> (the principal cache): B's principals are cached, but every revoking write moves the
    authority version before A acknowledges it, so B's decision right after the acknowledgement already denies —
    over one SQLite file (the shared counter file) and over one PostgreSQL database (the trigger-moved rows)."""
    if store == "postgres":
        _, (a, _), (b, _) = pair()
    else:
        a, b = shared_file_pair()
    client_a, client_b = AkrpClient.connect(a.socket), AkrpClient.connect(b.socket)
    signup = call(client_a, "SessionService/Signup", session_pb2.SignupRequest(
        email="admin@example.com", password="Secret123-horse"), session_pb2.SignupResponse)
    admin = {"authorization": "Bearer " + signup.session_token}
    # B's decision client: a DECISIONS key, minted on A.
    decisions = call(client_a, "TokenService/AddApiToken", token_pb2.AddApiTokenRequest(token_utility="DECISIONS"),
                     token_pb2.AddApiTokenResponse, admin).api_token_list[0].key
    asker = {"x-api-key": decisions}

    def decide(credential, feature, access):
        answer = call(client_b, "DecisionService/Authorize", decision_pb2.AuthorizeRequest(
            credential=credential, check=decision_pb2.DecisionCheck(feature=feature, access=access)),
            decision_pb2.AuthorizeResponse, asker)
        return answer.decision

    invite = call(client_a, "TeamService/InviteUsers", team_pb2.InviteUsersRequest(
        invitee_email="member@example.com", invitee_role="ADMIN"), team_pb2.InviteUsersResponse, admin)
    joined = call(client_a, "SessionService/Signup", session_pb2.SignupRequest(
        email="member@example.com", password="Secret123-horse", invite_code=invite.invite_code),
        session_pb2.SignupResponse)
    member = decision_pb2.DecisionCredential(session_token=joined.session_token)
    for _ in range(3):  # warm B's cache
        assert decide(member, "ADMIN_ACTIONS", "READ_WRITE").allowed
    # A demotion on A: B's very next decision denies.
    call(client_a, "TeamService/MakeAdmin", team_pb2.MakeAdminRequest(email="member@example.com", user_role="GUEST"),
         team_pb2.MakeAdminResponse, admin)
    demoted = decide(member, "ADMIN_ACTIONS", "READ_WRITE")
    assert not demoted.allowed and demoted.code == "PERMISSION_DENIED", demoted
    assert decide(member, "INVENTORY", "READ").allowed
    # A key deleted on A.
    key = call(client_a, "TokenService/AddApiToken", token_pb2.AddApiTokenRequest(token_utility="EXTERNAL_API"),
               token_pb2.AddApiTokenResponse, admin).api_token_list[0]
    for _ in range(3):
        assert decide(decision_pb2.DecisionCredential(api_key=key.key), "INVENTORY", "READ").allowed
    call(client_a, "TokenService/DeleteApiToken", token_pb2.DeleteApiTokenRequest(api_token_id=key.id),
         token_pb2.DeleteApiTokenResponse, admin)
    assert decide(decision_pb2.DecisionCredential(api_key=key.key), "INVENTORY", "READ").code == "UNAUTHENTICATED"
    # A logout on A.
    call(client_a, "SessionService/Logout", session_pb2.LogoutRequest(), session_pb2.LogoutResponse,
         {"authorization": "Bearer " + joined.session_token})
    assert decide(member, "USER_ACTIONS", "READ").code == "UNAUTHENTICATED"
    client_a.close()
    client_b.close()
    stop(a, b)


def test_fifty_racing_demotions_over_both_processes_keep_an_admin():
    database, (a, _), (b, _) = pair()
    client = AkrpClient.connect(a.socket)
    signup = call(client, "SessionService/Signup", session_pb2.SignupRequest(
        email="admin@example.com", password="Secret123-horse"), session_pb2.SignupResponse)
    first = {"authorization": "Bearer " + signup.session_token}
    invite = call(client, "TeamService/InviteUsers", team_pb2.InviteUsersRequest(
        invitee_email="second@example.com", invitee_role="ADMIN"), team_pb2.InviteUsersResponse, first)
    joined = call(client, "SessionService/Signup", session_pb2.SignupRequest(
        email="second@example.com", password="Secret123-horse", invite_code=invite.final_invite_code),
        session_pb2.SignupResponse)
    second = {"authorization": "Bearer " + joined.session_token}
    client.close()

    sessions = {"admin@example.com": first, "second@example.com": second}
    for round_ in range(10):
        # Both are ADMIN again; then 50 demotions at once: even ones by admin@ (through A) of second@, odd
        # ones by second@ (through B) of admin@. Each alone is allowed; together they must leave one admin.
        admins = api_admins(database)
        other = ({"admin@example.com", "second@example.com"} - set(admins))
        if other:
            c = AkrpClient.connect(b.socket)
            call(c, "TeamService/MakeAdmin", team_pb2.MakeAdminRequest(email=other.pop(), user_role="ADMIN"),
                 session=sessions[admins[0]])
            c.close()

        def demote(i, client):
            actor, target = ("admin@example.com", "second@example.com") if i % 2 == 0 else (
                "second@example.com", "admin@example.com")
            status, _ = client.call(PREFIX + "TeamService/UpdateUserScopeRoleMapping",
                                    team_pb2.UpdateUserScopeRoleMappingRequest(email=target,
                                                                              scope_role_mapping={"API": "MEMBER"}),
                                    None, metadata=sessions[actor])
            return status.code

        # Even calls by admin@ through A, odd ones by second@ through B.
        codes = race(50, lambda i: (a if i % 2 == 0 else b).socket, demote)
        admins = api_admins(database)
        assert len(admins) == 1, (round_, admins, codes)
        # OK; FAILED_PRECONDITION (would leave no admin); PERMISSION_DENIED (the actor was demoted first).
        assert codes.count(OK) >= 1 and all(code in (OK, 9, PERMISSION_DENIED) for code in codes), codes
    stop(a, b)


def test_hundred_apply_access_type_requests_over_both_make_one_job_and_a_kill_9_is_finished_by_the_other():
    components = 20000
    # The uninterrupted run, for the expected result.
    reference = Server(["--job-lease", "2"], database_url=fresh_database())
    client, session = setup(reference, components)
    status, started = client.call(PREFIX + "InventoryService/ApplyAccessType", inventory_pb2.ApplyAccessTypeRequest(),
                                  inventory_pb2.ApplyAccessTypeResponse, metadata=session)
    assert status.code == OK
    assert wait_for(client, session, started.job_id, {"SUCCEEDED", "FAILED"}).state == "SUCCEEDED"
    expected = access_types(client, session)
    client.close()
    stop(reference)

    # Two processes, both running job workers as in production; queued jobs wait 2 s (--job-coalesce), so the
    # burst of requests folds into one job before any worker may claim it.
    database, (a, _), (b, _) = pair(["--job-lease", "2", "--job-coalesce", "2"])
    client, session = setup(a, components)
    def apply(_, client):
        status, answer = client.call(PREFIX + "InventoryService/ApplyAccessType",
                                     inventory_pb2.ApplyAccessTypeRequest(), inventory_pb2.ApplyAccessTypeResponse,
                                     metadata=session)
        assert status.code == OK, status
        return answer.job_id

    ids = race(100, lambda i: (a if i % 2 == 0 else b).socket, apply)
    assert len(ids) == 100
    jobs = psql(database, "SELECT id FROM jobs WHERE kind = 'APPLY_ACCESS_TYPE'")
    assert len(jobs) == 1 and set(ids) == {int(jobs[0][0])}, (jobs, set(ids))
    job_id = int(jobs[0][0])

    # Find the process holding the lease (owner = host:pid:…) and kill -9 it.
    deadline, owner = time.time() + 60, None
    while time.time() < deadline:
        rows = psql(database, f"SELECT state, COALESCE(lease_owner, '') FROM jobs WHERE id = {job_id}")
        if rows and rows[0][0] == "RUNNING" and rows[0][1]:
            owner = rows[0][1]
            break
        assert rows[0][0] != "SUCCEEDED", "the job finished before it could be interrupted; seed more components"
        time.sleep(0.01)
    assert owner, "the job never started"
    pid = int(owner.split(":")[1])
    victim, survivor = (a, b) if pid == a.process.pid else (b, a)
    assert pid == victim.process.pid, (owner, a.process.pid, b.process.pid)
    client.close()
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait(timeout=10)

    # The survivor picks the job up once the lease expires and finishes it.
    client = AkrpClient.connect(survivor.socket, timeout=120)
    login = call(client, "SessionService/Login", session_pb2.LoginRequest(email="admin@example.com", password="Secret123-horse"),
                 session_pb2.LoginResponse)
    session = {"authorization": "Bearer " + login.session_token}
    job = wait_for(client, session, job_id, {"SUCCEEDED", "FAILED"})
    assert job.state == "SUCCEEDED" and job.attempts == 2, job
    finished_by = psql(database, f"SELECT result FROM jobs WHERE id = {job_id}")
    assert finished_by
    assert access_types(client, session) == expected
    client.close()
    stop(survivor)


def test_a_database_outage_answers_unavailable_quickly_and_the_server_recovers_by_itself():
    """PostgreSQL stops under a running server: calls needing it answer UNAVAILABLE within the connect timeout
    (not at their deadline), calls that do not (Health) go on, and once PostgreSQL is back the same server
    serves again without a restart. Runs on a cluster of its own, since it stops it."""
    import subprocess
    from conftest import own_cluster
    with own_cluster("--fast") as (tool, cluster, url):
        subprocess.run(["psql", url, "-qc", "CREATE DATABASE outage"], check=True, capture_output=True)
        # A 1 s connect timeout and a 300 s call deadline: the 10 s bound below is 10x the one and 30x from the
        # other (an outage the store did not notice would hold the call until its deadline).
        database = url.replace("/postgres?", "/outage?") + "&connect_timeout=1"
        server = Server(["--default-timeout", "300"], database_url=database)
        client = AkrpClient.connect(server.socket, timeout=60)
        call(client, "SessionService/Signup", session_pb2.SignupRequest(email="admin@example.com", password="Secret123-horse"),
             session_pb2.SignupResponse)
        login = session_pb2.LoginRequest(email="admin@example.com", password="Secret123-horse")

        subprocess.run([tool, "stop", cluster], check=True)
        start = time.time()
        call(client, "SessionService/Login", login, session_pb2.LoginResponse, expect=14)  # UNAVAILABLE
        assert time.time() - start < 10, "the outage should be reported within the connect timeout"
        status, _ = client.call("/akto.rpc.v1.Health/Check", None)
        assert status.code == OK

        subprocess.run([tool, "start", cluster, "--fast"], check=True, capture_output=True)
        deadline, answered = time.time() + 30, None
        while time.time() < deadline:
            status, _ = client.call(PREFIX + "SessionService/Login", login, session_pb2.LoginResponse)
            answered = status.code
            if answered == OK:
                break
            time.sleep(0.2)
        assert answered == OK, f"the server did not recover after PostgreSQL came back: {answered}"
        client.close()
        stop(server)


def test_a_single_machine_install_moves_to_postgres_with_admin_copy_to_postgres():
    """`admin copy-to-postgres` refuses while the server runs, copies the stopped install's SQLite file into an
    empty database (ids included), refuses a second copy, and servers on the database serve the same data."""
    import subprocess
    from conftest import binary
    require_postgres()
    server = Server()
    client = AkrpClient.connect(server.socket)
    signup = call(client, "SessionService/Signup", session_pb2.SignupRequest(email="admin@example.com", password="Secret123-horse"),
                  session_pb2.SignupResponse)
    admin = {"authorization": "Bearer " + signup.session_token}
    call(client, "RoleService/CreateCustomRole", role_pb2.CreateCustomRoleRequest(role_name="AUDITOR", base_role="GUEST"),
         session=admin)
    database = fresh_database()
    copy = [binary(), "admin", "copy-to-postgres", "--data-dir", server.dir]
    env = {**__import__("os").environ, "AKTO_ACCESS_DATABASE_URL": database}
    live = subprocess.run(copy, env=env, capture_output=True, text=True, timeout=60)
    assert live.returncode != 0 and "stop it first" in live.stderr, live.stderr
    client.close()
    stop(server)

    done = subprocess.run(copy, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "users: 1" in done.stdout and "custom_roles: 1" in done.stdout and "copied " in done.stdout, done.stdout
    again = subprocess.run(copy, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode != 0 and "already has data" in again.stderr, again.stderr

    moved = Server(database_url=database)
    client = AkrpClient.connect(moved.socket)
    me = call(client, "SessionService/Me", session_pb2.MeRequest(), session_pb2.MeResponse, admin)  # the same session
    assert me.user.login == "admin@example.com" and me.active_account_id == 1000000
    roles = call(client, "RoleService/GetCustomRoles", role_pb2.GetCustomRolesRequest(), role_pb2.GetCustomRolesResponse,
                 admin)
    assert [r.name for r in roles.roles] == ["AUDITOR"], roles
    call(client, "RoleService/CreateCustomRole", role_pb2.CreateCustomRoleRequest(role_name="NEW", base_role="GUEST"),
         session=admin)
    client.close()
    stop(moved)


def test_tls_to_postgres_is_verified():
    """`sslmode=require` encrypts and verifies: against the CA given with `sslrootcert` the server runs (and
    PostgreSQL reports its connections as TLS); against the system roots, which do not know that CA, it refuses to
    start. Runs on a TLS cluster of its own."""
    import os
    import subprocess
    import tempfile
    from conftest import binary, own_cluster
    with own_cluster("--fast", "--tls") as (_, _, url):
        assert "sslmode=require" in url and "sslrootcert=" in url
        subprocess.run(["psql", url, "-qc", "CREATE DATABASE tls"], check=True, capture_output=True)
        database = url.replace("/postgres?", "/tls?")
        server = Server(database_url=database)
        client = AkrpClient.connect(server.socket)
        call(client, "SessionService/Signup", session_pb2.SignupRequest(email="admin@example.com", password="Secret123-horse"),
             session_pb2.SignupResponse)
        rows = psql(url, "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.datname = 'tls'")
        assert rows and all(row[0] == "t" for row in rows), rows
        client.close()
        stop(server)

        unverified = database.split("&sslrootcert=")[0] + "&connect_timeout=2"
        refused = subprocess.run([binary(), "serve", "--data-dir", tempfile.mkdtemp(), "--http-address", "off"],
                                 env={**os.environ, "AKTO_ACCESS_DATABASE_URL": unverified},
                                 capture_output=True, text=True, timeout=60)
        assert refused.returncode != 0 and "cannot open the database" in refused.stderr, refused.stderr[-2000:]
        assert "CERTIFICATE_VERIFY_FAILED" in refused.stderr


def test_scale_out_options_are_validated_with_clear_errors():
    """Bad scale-out options stop `serve` before it touches anything, naming the option (no database needed)."""
    import subprocess
    import tempfile
    from conftest import binary
    cases = [
        (["--database-url", "mysql://a@h/d"], "--database-url: the database URL must look like postgres://"),
        (["--database-url", "postgres://a@h/d?sslmode=maybe"], "sslmode must be disable, prefer or require"),
        # <doc:Hardening>: a password on the command line is refused (ps shows it), without echoing it.
        (["--database-url", "postgres://a:hunter2@h/d"], "AKTO_ACCESS_DATABASE_URL"),
        (["--database-url", "postgres://a@h/d", "--database-max-connections", "0"], "--database-max-connections must be 1-1000"),
        (["--database-url", "postgres://a@h/d", "--database-max-attempts", "500"], "--database-max-attempts must be 1-100"),
        (["--database-url", "postgres://a@h/d", "--sqlite-synchronous", "normal"], "do not apply with --database-url"),
        (["--job-coalesce", "9999"], "--job-coalesce must be 0-3600"),
    ]
    for args, message in cases:
        done = subprocess.run([binary(), "serve", "--data-dir", tempfile.mkdtemp(), *args], capture_output=True,
                              text=True, timeout=30)
        assert done.returncode != 0 and message in done.stderr, (args, done.stderr)
        assert "hunter2" not in done.stderr
