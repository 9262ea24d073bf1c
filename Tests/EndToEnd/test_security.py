"""Security checks end to end on the real binary (<doc:Hardening>): secrets never in logs, audit rows or the
database file in the clear; mass assignment through the gateway changes nothing; the socket's mode is never
wider than configured. (Cross-account access for every operation, admin-only operations for every lesser role
and API-token utility, and the URL checks run in the Swift suites: CrossAccountTests, PermissionMatrixTests,
RedirectPolicy/notification/billing tests; CSRF and CORS in GatewayTests and the browser test.)"""
import glob
import os
import sqlite3
import stat
import subprocess
import time
import urllib.request

from akrp_client import AkrpClient
from akto.access.v1 import session_pb2, team_pb2, token_pb2
from conftest import Server, free_port, psql, wait_for_http
from test_hostile import report
from test_gateway import post

PREFIX = "/akto.access.v1."
OK = 0


def start_with_gateway(extra_args=()):
    port = free_port()
    server = Server(extra_args=list(extra_args), http_port=port)
    wait_for_http(port)
    return server, port


def call(client, method, request, response_type=None, session=None):
    status, answer = client.call(PREFIX + method, request, response_type, metadata=session)
    assert status.code == OK, (method, status)
    return answer


def admin_and_member(client):
    """The first user (ADMIN) and a MEMBER who joined with an invite code; returns their secrets too."""
    admin_password, member_password = "Adm1n-Passw0rd-x", "Memb3r-Passw0rd-y"
    signup = call(client, "SessionService/Signup", session_pb2.SignupRequest(email="admin@example.com",
                  password=admin_password), session_pb2.SignupResponse)
    admin = {"authorization": "Bearer " + signup.session_token}
    invite = call(client, "TeamService/InviteUsers", team_pb2.InviteUsersRequest(
        invitee_email="member@example.com", invitee_role="MEMBER"), team_pb2.InviteUsersResponse, admin)
    joined = call(client, "SessionService/Signup", session_pb2.SignupRequest(
        email="member@example.com", password=member_password, invite_code=invite.final_invite_code),
        session_pb2.SignupResponse)
    member = {"authorization": "Bearer " + joined.session_token}
    secrets = {"admin password": admin_password, "member password": member_password,
               "admin session": signup.session_token, "member session": joined.session_token,
               "invite code": invite.final_invite_code}
    return admin, member, secrets


def test_secrets_never_reach_logs_audit_rows_or_the_database_file():
    server, port = start_with_gateway(["--log-level", "trace"])
    client = AkrpClient.connect(server.socket)
    admin, member, secrets = admin_and_member(client)
    key = call(client, "TokenService/AddApiToken", token_pb2.AddApiTokenRequest(token_utility="EXTERNAL_API"),
               token_pb2.AddApiTokenResponse, admin).api_token_list[0].key
    secrets["api key"] = key
    reset = call(client, "TeamService/ResetUserPassword", team_pb2.ResetUserPasswordRequest(
        user_email="member@example.com"), team_pb2.ResetUserPasswordResponse, admin)
    secrets["reset token"] = reset.password_reset_token
    # The same secrets through the gateway too: a key in a header, a password in a body, a failed login.
    status, _, _ = post(port, "/api/me", {}, {"x-api-key": key})
    assert status == 200
    status, _, _ = post(port, "/api/login", {"email": "admin@example.com", "password": secrets["admin password"]})
    assert status == 200
    post(port, "/api/login", {"email": "admin@example.com", "password": "Wrong-" + secrets["admin password"]})
    call(client, "SessionService/ResetPassword", session_pb2.ResetPasswordRequest(
        token=reset.password_reset_token, new_password="N3w-Memb3r-Passw0rd"), session_pb2.ResetPasswordResponse)
    secrets["new member password"] = "N3w-Memb3r-Passw0rd"
    client.close()
    assert server.terminate() == 0

    log = server.output()
    assert log.count("TeamService/ResetUserPassword") >= 1, "the trace log should record the calls"
    if server.database_url:
        # PostgreSQL: every stored value, as pg_dump writes them out.
        database = subprocess.run(["pg_dump", "--data-only", server.database_url], check=True,
                                  capture_output=True).stdout
        audit = "\n".join(" ".join(row) for row in psql(server.database_url, "SELECT * FROM audit_log"))
    else:
        database = b"".join(open(path, "rb").read()
                            for path in glob.glob(os.path.join(server.dir, "akto-access.sqlite*")))
        db = sqlite3.connect(os.path.join(server.dir, "akto-access.sqlite"))
        audit = "\n".join(" ".join(str(v) for v in row) for row in db.execute("SELECT * FROM audit_log"))
        db.close()
    assert "ResetUserPassword" in audit and "AddApiToken" in audit
    assert b"member@example.com" in database  # the file is searchable: plain values do show up in it
    for name, secret in secrets.items():
        assert secret and secret not in log, f"the {name} is in the log"
        assert secret.encode() not in database, f"the {name} is in the database file in the clear"
        assert secret not in audit, f"the {name} is in an audit row"


def test_mass_assignment_through_the_gateway_changes_nothing():
    server, port = start_with_gateway()
    client = AkrpClient.connect(server.socket)
    admin, member, _ = admin_and_member(client)
    member_key = call(client, "TokenService/AddApiToken", token_pb2.AddApiTokenRequest(token_utility="EXTERNAL_API"),
                      token_pb2.AddApiTokenResponse, member).api_token_list[0].key
    before = call(client, "SessionService/Me", session_pb2.MeRequest(), session_pb2.MeResponse, member)
    injected = {"accountId": 4242, "activeAccountId": 4242, "userId": 1, "id": 1, "role": "ADMIN", "userRole": "ADMIN",
                "isAdmin": True, "scopeRoleMapping": {"API": "ADMIN"}, "email": "admin@example.com",
                "login": "admin@example.com", "organizationId": "other"}
    # A member renames themselves with privilege fields smuggled in: only the name changes.
    status, _, _ = post(port, "/api/updateUsernameAndOrganization", {"username": "Renamed", **injected},
                        {"x-api-key": member_key})
    assert status == 200
    after = call(client, "SessionService/Me", session_pb2.MeRequest(), session_pb2.MeResponse, member)
    assert after.user.name == "Renamed"
    assert after.user.login == before.user.login == "member@example.com" and after.user.id == before.user.id
    assert after.active_account_id == before.active_account_id
    assert [dict(a.scope_role_mapping) for a in after.accounts] == [dict(a.scope_role_mapping) for a in before.accounts]
    assert all(role == "MEMBER" for a in after.accounts for role in a.scope_role_mapping.values())
    # A key minted with an owner and account smuggled in belongs to the caller, in the caller's account.
    status, body, _ = post(port, "/api/addApiToken", {"tokenUtility": "CICD", "userId": 1, "accountId": 4242,
                                                       "key": "akto_chosen", "utility": "EXTERNAL_API"},
                           member)  # a session (API keys may not mint keys)
    assert status == 200
    minted = body["apiTokenList"][0]
    assert minted["key"] != "akto_chosen" and minted["utility"] == "CICD"
    tokens = call(client, "TokenService/FetchApiTokens", token_pb2.FetchApiTokensRequest(),
                  token_pb2.FetchApiTokensResponse, member).api_tokens
    assert minted["id"] in [t.id for t in tokens]
    admin_tokens = call(client, "TokenService/FetchApiTokens", token_pb2.FetchApiTokensRequest(),
                        token_pb2.FetchApiTokensResponse, admin).api_tokens
    assert minted["id"] not in [t.id for t in admin_tokens]
    # The admin is still the only admin; the member still cannot do admin things.
    status, _, _ = post(port, "/api/createCustomRole", {"roleName": "SNEAKY", "baseRole": "GUEST", "isAdmin": True,
                                                      "role": "ADMIN"}, {"x-api-key": member_key})
    assert status == 403
    client.close()
    assert server.terminate() == 0


def test_the_socket_is_never_wider_than_configured():
    for mode in ("600", "660"):
        server = Server(["--socket-mode", mode])
        assert stat.S_IMODE(os.stat(server.socket).st_mode) == int(mode, 8)
        assert server.terminate() == 0


# Every operation of the permission matrix (PermissionMatrixTests.swift) but Logout, which would end the session
# under test: (service, method, pb2 module, JSON body in Akto's names).
MATRIX_OPERATIONS = [
    ("SessionService", "Me", "session_pb2", {}),
    ("RoleService", "GetRoleHierarchy", "role_pb2", {}),
    ("AccountService", "UpdateUsernameAndOrganization", "account_pb2", {"username": "Renamed", "organization": "Org"}),
    ("AccountService", "GoToAccount", "account_pb2", {"newAccountId": 1000000}),
    ("NotificationService", "SaveSubscription", "notification_pb2",
     {"subscription": {"endpoint": "https://push.example.com/x",
                       "keys": {"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
                                "auth": "AQEBAQEBAQEBAQEBAQEBAQ"}}}),
    ("TokenService", "FetchApiTokens", "token_pb2", {}),
    ("TokenService", "AddApiToken", "token_pb2", {"tokenUtility": "BURP"}),
    ("TokenService", "DeleteApiToken", "token_pb2", {"apiTokenId": 999}),
    ("TeamService", "GetTeamData", "team_pb2", {}),
    ("TeamService", "InviteUsers", "team_pb2", {"inviteeEmail": "new@example.com", "inviteeRole": "GUEST"}),
    ("TeamService", "RemoveInvitation", "team_pb2", {"email": "none@example.com"}),
    ("RoleService", "GetCustomRoles", "role_pb2", {}),
    ("AccountService", "CreateNewAccount", "account_pb2", {"newAccountName": "N"}),
    ("AccountService", "FetchAuditLogs", "account_pb2", {}),
    ("TeamService", "ResetUserPassword", "team_pb2", {"userEmail": "none@example.com"}),
    ("TeamService", "RemoveUser", "team_pb2", {"email": "none@example.com"}),
    ("TeamService", "MakeAdmin", "team_pb2", {"email": "none@example.com", "userRole": "GUEST"}),
    ("TeamService", "UpdateUserScopeRoleMapping", "team_pb2", {"email": "none@example.com"}),
    ("RoleService", "CreateCustomRole", "role_pb2", {"roleName": "R", "baseRole": "GUEST"}),
    ("RoleService", "UpdateCustomRole", "role_pb2", {"roleName": "NONE", "baseRole": "GUEST"}),
    ("RoleService", "DeleteCustomRole", "role_pb2", {"roleName": "NONE"}),
]


def test_every_matrix_operation_is_allowed_or_refused_alike_on_both_transports():
    """The permission matrix end to end through both real transports: for every kind of caller (7 built-in roles,
    a custom role, an EXTERNAL_API key, anonymous) and every operation, the Unix socket and the HTTP gateway agree
    on the refusal (PERMISSION_DENIED ↔ 403, UNAUTHENTICATED ↔ 401) or on letting the call through. The Swift
    matrix checks each outcome against SPEC.md's table; this checks that neither transport differs from it."""
    import importlib
    from google.protobuf import json_format
    from akto.access.v1 import role_pb2
    server, port = start_with_gateway()
    client = AkrpClient.connect(server.socket)
    signup = call(client, "SessionService/Signup", session_pb2.SignupRequest(email="admin@example.com",
                  password="Adm1n-Passw0rd-x"), session_pb2.SignupResponse)
    callers = {"ADMIN": "Bearer " + signup.session_token}
    admin = {"authorization": callers["ADMIN"]}
    call(client, "RoleService/CreateCustomRole", role_pb2.CreateCustomRoleRequest(role_name="ANALYST", base_role="MEMBER"),
         session=admin)
    for role in ["MEMBER", "DEVELOPER", "GUEST", "THREAT_ENGINEER", "THREAT_VIEWER", "NO_ACCESS", "ANALYST"]:
        email = role.lower().replace("_", "-") + "@example.com"
        invite = call(client, "TeamService/InviteUsers", team_pb2.InviteUsersRequest(invitee_email=email, invitee_role=role),
                      team_pb2.InviteUsersResponse, admin)
        joined = call(client, "SessionService/Signup", session_pb2.SignupRequest(
            email=email, password="Memb3r-Passw0rd-y", invite_code=invite.final_invite_code), session_pb2.SignupResponse)
        callers[role] = "Bearer " + joined.session_token
    key = call(client, "TokenService/AddApiToken", token_pb2.AddApiTokenRequest(token_utility="EXTERNAL_API"),
               token_pb2.AddApiTokenResponse, admin).api_token_list[0].key

    refusals = {7: 403, 16: 401}
    cells, refused, mismatches = 0, 0, []
    for name, credential in [*callers.items(), ("EXTERNAL_API key", key), ("anonymous", None)]:
        if credential is None:
            socket_meta, http_headers = {}, {}
        elif name == "EXTERNAL_API key":
            socket_meta, http_headers = {"x-api-key": credential}, {"X-API-KEY": credential}
        else:
            socket_meta, http_headers = {"authorization": credential}, {"Authorization": credential}
        for service, method, module, body in MATRIX_OPERATIONS:
            request_class = getattr(importlib.import_module("akto.access.v1." + module), method + "Request")
            request = json_format.ParseDict(body, request_class())
            status, _ = client.call(PREFIX + service + "/" + method, request, None, metadata=socket_meta)
            path = "/api/" + method[0].lower() + method[1:]
            http_status, _, _ = post(port, path, body, http_headers)
            socket_refused = status.code in refusals
            http_refused = http_status in refusals.values()
            cells += 1
            refused += socket_refused
            if socket_refused != http_refused or (socket_refused and refusals[status.code] != http_status):
                mismatches.append((name, method, status.code, http_status))
    client.close()
    assert server.terminate() == 0
    assert not mismatches, mismatches
    assert cells == 10 * len(MATRIX_OPERATIONS) and refused > 50, (cells, refused)
    report("transport-parity", callers=10, operations=len(MATRIX_OPERATIONS), cells=cells, refused_on_both=refused,
           allowed_on_both=cells - refused)
