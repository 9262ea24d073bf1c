"""The authority scenarios (<doc:AuthorityRules>) end to end on the real binary, over both transports: the AKRP socket (through
the independent Python client) and the HTTP gateway. Each refused call must leave every table of the database
as it was (no business row and no audit row). The Swift suite AuthorityScenarioTests runs the same scenarios
through the dispatcher on both stores; tools/test reruns this file on PostgreSQL."""
import json
import os
import sqlite3
import urllib.error
import urllib.request

import pytest
from google.protobuf import json_format, message_factory

from akrp_client import AkrpClient
from akto.access.v1 import account_pb2, inventory_pb2, job_pb2, role_pb2, session_pb2, team_pb2, token_pb2  # noqa: F401
from conftest import BACKEND, psql
from test_security import start_with_gateway

PASSWORD = "Secret123-horse-Authority"
# gRPC code -> HTTP status, as the gateway maps them.
HTTP = {0: 200, 3: 400, 5: 404, 6: 409, 7: 403, 9: 400, 16: 401}
MODULES = [account_pb2, inventory_pb2, job_pb2, role_pb2, session_pb2, team_pb2, token_pb2]


def method(name):
    """(service, descriptor) of an akto.access.v1 method by its name."""
    for module in MODULES:
        for service in module.DESCRIPTOR.services_by_name.values():
            if name in service.methods_by_name:
                return service.name, service.methods_by_name[name]
    raise KeyError(name)


class Socket:
    name = "socket"

    def __init__(self, server, port):
        self.client = AkrpClient.connect(server.socket)

    def call(self, name, body, credential=None, scope=None):
        service, descriptor = method(name)
        request = json_format.ParseDict(body, message_factory.GetMessageClass(descriptor.input_type)())
        metadata = dict(credential or {})
        if scope:
            metadata["x-context-source"] = scope
        status, answer = self.client.call(
            f"/akto.access.v1.{service}/{name}", request, message_factory.GetMessageClass(descriptor.output_type),
            metadata=metadata)
        return status.code, json_format.MessageToDict(answer) if status.code == 0 else {"message": status.message}


class Gateway:
    name = "gateway"

    def __init__(self, server, port):
        self.port = port
        self.server = server

    def call(self, name, body, credential=None, scope=None):
        headers = {"Content-Type": "application/json", **(credential or {})}
        token_file = os.path.join(self.server.dir, "setup-token")
        if name == "Signup" and "inviteCode" not in body and os.path.exists(token_file):
            # The first user over HTTP carries the install's one-time setup token (<doc:Hardening>).
            body = {**body, "setupToken": open(token_file).read().strip()}
        if scope:
            headers["x-context-source"] = scope
        path = "/api/" + name[0].lower() + name[1:]
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=json.dumps(body).encode(), method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return 0, json.loads(response.read())
        except urllib.error.HTTPError as error:
            answer = json.loads(error.read())
            code = {v: k for k, v in HTTP.items() if k not in (9,)}.get(error.code, -error.code)
            return code, answer


def snapshot(server):
    """Every row of every table, for "nothing changed" checks (but `jobs`, which the background worker moves on
    by itself, and `login_counters`: a refused sign-in counts as a failure by design, <doc:Hardening>)."""
    if server.database_url:
        return psql(server.database_url, """
            SELECT string_agg(t, E'\\n' ORDER BY t) FROM (
              SELECT c.relname || ':' || md5(COALESCE((xpath('/row/c/text()',
                query_to_xml('SELECT string_agg(x::text, '','' ORDER BY x::text) AS c FROM ' || quote_ident(c.relname)
                || ' x', false, true, '')))[1]::text, '')) AS t
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind = 'r' AND n.nspname = current_schema() AND c.relname NOT IN ('jobs', 'login_counters')) s""")
    db = sqlite3.connect(f"file:{server.dir}/akto-access.sqlite?mode=ro", uri=True)
    try:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('jobs', 'login_counters') ORDER BY name")]
        return {table: sorted(map(repr, db.execute(f'SELECT * FROM "{table}"'))) for table in tables}
    finally:
        db.close()


@pytest.fixture(params=[Socket, Gateway], ids=["socket", "gateway"])
def transport(request):
    server, port = start_with_gateway()
    t = request.param(server, port)
    t.server = server
    yield t
    server.terminate()


def ok(t, name, body, credential=None, scope=None):
    code, answer = t.call(name, body, credential, scope)
    assert code == 0, (t.name, name, code, answer)
    return answer


def refused(t, expected, name, body, credential=None, scope=None):
    before = snapshot(t.server)
    code, answer = t.call(name, body, credential, scope)
    assert code == expected, (t.name, name, code, answer)
    assert snapshot(t.server) == before, f"{t.name}: refused {name} changed the database"
    return answer


def bearer(answer):
    return {"authorization": "Bearer " + answer["sessionToken"]}


def owner_and(t, *members):
    """The owner's session and, per (email, role), a member who joined through an invitation with that role."""
    owner = bearer(ok(t, "Signup", {"email": "owner@example.com", "password": PASSWORD}))
    sessions = []
    for email, role in members:
        code = ok(t, "InviteUsers", {"inviteeEmail": email, "inviteeRole": role}, owner)["finalInviteCode"]
        sessions.append(bearer(ok(t, "Signup", {"email": email, "password": PASSWORD, "inviteCode": code})))
    return owner, sessions


def test_a_workspace_admin_cannot_take_over_the_owner(transport):
    t = transport
    owner, _ = owner_and(t)
    ok(t, "CreateNewAccount", {"newAccountName": "B"}, owner)
    code = ok(t, "InviteUsers", {"inviteeEmail": "v@example.com", "inviteeRole": "ADMIN"}, owner)["finalInviteCode"]
    v = bearer(ok(t, "Signup", {"email": "v@example.com", "password": PASSWORD, "inviteCode": code}))
    refused(t, 7, "ResetUserPassword", {"userEmail": "owner@example.com"}, v)
    refused(t, 7, "RemoveUser", {"email": "owner@example.com"}, v)


def test_one_scopes_admin_cannot_reach_the_api_scope(transport):
    t = transport
    owner, (x, _, _) = owner_and(
        t, ("x@example.com", "GUEST"), ("accomplice@example.com", "MEMBER"), ("api-admin@example.com", "ADMIN"))
    ok(t, "UpdateUserScopeRoleMapping", {"email": "x@example.com", "scopeRoleMapping": {"DAST": "ADMIN"}}, owner)
    refused(t, 7, "UpdateUserScopeRoleMapping",
            {"email": "accomplice@example.com", "scopeRoleMapping": {"API": "ADMIN"}}, x, "DAST")
    refused(t, 7, "InviteUsers", {"inviteeEmail": "puppet@example.com", "scopeRoleMapping": {"API": "ADMIN"}}, x, "DAST")
    refused(t, 7, "ResetUserPassword", {"userEmail": "api-admin@example.com"}, x, "DAST")
    refused(t, 7, "RemoveUser", {"email": "api-admin@example.com"}, x, "DAST")
    refused(t, 7, "FetchAuditLogs", {}, x, "DAST")


def test_a_collection_limited_role_cannot_lift_its_limit(transport):
    t = transport
    owner, _ = owner_and(t)
    c1 = ok(t, "CreateCollection", {"collectionName": "c1"}, owner)["apiCollection"]["id"]
    ok(t, "CreateCustomRole", {"roleName": "C1-ADMIN", "baseRole": "ADMIN", "apiCollectionIds": [c1]}, owner)
    ok(t, "CreateCustomRole", {"roleName": "C1-MEMBER", "baseRole": "MEMBER", "apiCollectionIds": [c1]}, owner)
    holder_code = ok(t, "InviteUsers", {"inviteeEmail": "h@example.com", "inviteeRole": "C1-ADMIN"}, owner)
    holder = bearer(ok(t, "Signup", {"email": "h@example.com", "password": PASSWORD,
                                     "inviteCode": holder_code["finalInviteCode"]}))
    body = {"roleName": "C1-ADMIN", "apiCollectionIds": []}
    if t.name == "socket":
        body["updateMask"] = ["api_collection_ids"]
    refused(t, 7, "UpdateCustomRole", body, holder)
    member_code = ok(t, "InviteUsers", {"inviteeEmail": "lm@example.com", "inviteeRole": "C1-MEMBER"}, owner)
    limited = bearer(ok(t, "Signup", {"email": "lm@example.com", "password": PASSWORD,
                                      "inviteCode": member_code["finalInviteCode"]}))
    refused(t, 7, "InviteUsers", {"inviteeEmail": "puppet@example.com", "scopeRoleMapping": {"API": "MEMBER"}}, limited)


def test_grants_die_with_their_issuer_and_a_removed_members_session_stops(transport):
    t = transport
    owner, (issuer, _) = owner_and(t, ("issuer@example.com", "ADMIN"), ("target@example.com", "MEMBER"))
    code = ok(t, "InviteUsers", {"inviteeEmail": "puppet@example.com", "inviteeRole": "ADMIN"}, issuer)["finalInviteCode"]
    reset = ok(t, "ResetUserPassword", {"userEmail": "target@example.com"}, issuer)["passwordResetToken"]
    job = ok(t, "ApplyAccessType", {}, owner)["jobId"]
    assert t.call("GetJob", {"jobId": job}, issuer)[0] == 0
    ok(t, "RemoveUser", {"email": "issuer@example.com"}, owner)
    refused(t, 7, "Signup", {"email": "puppet@example.com", "password": PASSWORD, "inviteCode": code})
    refused(t, 7, "ResetPassword", {"token": reset, "newPassword": "Taken0ver-password"})
    refused(t, 16, "Me", {}, issuer)
    refused(t, 16, "GetJob", {"jobId": job}, issuer)


def test_one_workspace_cannot_rename_the_organization_and_a_reset_revokes_keys(transport):
    t = transport
    owner, _ = owner_and(t)
    ok(t, "CreateNewAccount", {"newAccountName": "B"}, owner)
    code = ok(t, "InviteUsers", {"inviteeEmail": "b@example.com", "inviteeRole": "ADMIN"}, owner)["finalInviteCode"]
    b = bearer(ok(t, "Signup", {"email": "b@example.com", "password": PASSWORD, "inviteCode": code}))
    refused(t, 7, "UpdateUsernameAndOrganization", {"username": "B", "organization": "Renamed"}, b)
    key = ok(t, "AddApiToken", {"tokenUtility": "EXTERNAL_API"}, b)["apiTokenList"][0]["key"]
    reset = ok(t, "ResetUserPassword", {"userEmail": "b@example.com"}, owner)["passwordResetToken"]
    ok(t, "ResetPassword", {"token": reset, "newPassword": "Brand-new-pass-42"})
    assert t.call("Me", {}, {"x-api-key": key})[0] == 16


def test_invitations_reveal_nothing_and_existing_users_join(transport):
    t = transport
    owner, (member,) = owner_and(t, ("m@example.com", "MEMBER"))
    ok(t, "CreateNewAccount", {"newAccountName": "B"}, owner)
    code = ok(t, "InviteUsers", {"inviteeEmail": "m@example.com", "inviteeRole": "GUEST"}, owner)["finalInviteCode"]
    bad = refused(t, 7, "Signup", {"email": "nobody@example.com", "password": PASSWORD, "inviteCode": "x" * 43})
    wrong = refused(t, 7, "Signup", {"email": "m@example.com", "password": "Not-the-password-1", "inviteCode": code})
    assert wrong["message"] == bad["message"]
    joined = bearer(ok(t, "Signup", {"email": "m@example.com", "password": PASSWORD, "inviteCode": code}))
    assert len(ok(t, "Me", {}, joined)["accounts"]) == 2
    if BACKEND != "postgres":
        assert "exists" not in json.dumps(wrong)
