"""Akto's own React dashboard in front of the gateway (<doc:AktoDashboard>): its requests replayed exactly as
`request.js` sends them (headers, bodies, the cookies a browser keeps), for an ADMIN and for MEMBER, GUEST and
NO_ACCESS users, asserting every field the pages read; and a headless Chromium that starts a stand-in bundle
served from --dashboard-dir, signs in through /auth/login and refreshes its token the way request.js does."""
import concurrent.futures
import json
import os
import re
import shutil
import tempfile
import time
import urllib.parse

import pytest
import requests

from akrp_client import AkrpClient
from akto.access.v1 import session_pb2
from conftest import Server, free_port, wait_for_http

PASSWORD = "Secret123-horse"


class Browser:
    """What request.js does: POST JSON with its headers, keep `access-token` from any answer (sessionStorage),
    and on a 403 without actionErrors GET /dashboard/accessToken once, then retry."""

    def __init__(self, port, context="API"):
        self.base = f"http://127.0.0.1:{port}"
        self.session = requests.Session()  # the browser's cookie jar: honours Path=/dashboard
        self.token = None
        self.context = context

    def headers(self):
        headers = {"Content-Type": "application/json", "Access-Control-Allow-Origin": "*",
                   "x-context-source": self.context, "Sec-Fetch-Site": "same-origin", "account": "1000000"}
        if self.token:
            headers["access-token"] = self.token
        return headers

    def keep(self, response):
        if response.headers.get("access-token"):
            self.token = response.headers["access-token"]
        return response

    def raw(self, path, body=None):
        return self.keep(self.session.post(self.base + path, data=json.dumps(body or {}), headers=self.headers(), timeout=20))

    def refresh(self):
        return self.keep(self.session.get(self.base + "/dashboard/accessToken",
                                          headers={"Sec-Fetch-Site": "same-origin"}, timeout=20))

    def api(self, name, body=None, retry=True):
        response = self.raw("/api/" + name, body)
        data = response.json() if response.headers.get("content-type", "").startswith("application/json") else None
        if response.status_code == 403 and retry and not (data or {}).get("actionErrors"):
            assert self.refresh().status_code == 200
            return self.api(name, body, retry=False)
        return response

    def login(self, email, password=PASSWORD):
        return self.raw("/auth/login", {"username": email, "password": password})


@pytest.fixture
def install():
    """A server with an admin, the dashboard served from a stand-in bundle, short tokens and grace."""
    port = free_port()
    bundle = tempfile.mkdtemp(prefix="akto-ui-")
    with open(os.path.join(bundle, "index.html"), "w") as fh:
        fh.write('<!doctype html><html><head><title>loading</title></head><body><div id="app"></div>'
                 '<script src="/app.js"></script></body></html>')
    with open(os.path.join(bundle, "app.js"), "w") as fh:
        fh.write(APP_JS)
    server = Server(["--public-base-url", f"http://127.0.0.1:{port}", "--dashboard-dir", bundle,
                     "--access-token-lifetime", "3", "--refresh-grace", "2"], http_port=port)
    wait_for_http(port)
    client = AkrpClient.connect(server.socket)
    status, _ = client.call("/akto.access.v1.SessionService/Signup",
                            session_pb2.SignupRequest(email="admin@example.com", password=PASSWORD, organization="Acme"),
                            session_pb2.SignupResponse)
    assert status.code == 0
    yield server, port
    client.close()
    assert server.terminate() == 0


def invite_and_join(admin, port, email, mapping):
    """The invite modal's exact request, then the invitee signs up through the link's /signup-email."""
    response = admin.api("inviteUsers", {"inviteeName": "there", "inviteeEmail": email,
                                         "websiteHostName": "https://evil.example", "scopeRoleMapping": mapping})
    assert response.status_code == 200, response.text
    link = response.json()["finalInviteCode"]
    assert link.startswith(f"http://127.0.0.1:{port}/signup?signupInvitationCode=")  # never websiteHostName
    query = urllib.parse.parse_qs(urllib.parse.urlparse(link).query)
    assert query["signupEmailId"] == [email]
    page = requests.get(link, timeout=10)
    assert page.status_code == 200
    assert json.dumps(query["signupInvitationCode"][0]) in page.text  # window.SIGNUP_INVITATION_CODE
    user = Browser(port)
    joined = user.raw("/signup-email", {"email": email, "password": PASSWORD,
                                        "invitationCode": query["signupInvitationCode"][0]})
    assert joined.status_code == 200 and "<" in joined.text, joined.text
    assert user.token
    return user


def test_sign_in_refresh_rotation_reuse_and_logout(install):
    server, port = install
    admin = Browser(port)
    assert admin.login("admin@example.com", "wrong-password-123").status_code == 401
    response = admin.login("admin@example.com")
    assert response.status_code == 200, response.text
    assert admin.token and len(admin.token) == 43
    assert "sessionToken" not in response.text and admin.token not in response.text
    cookie = response.headers["set-cookie"]
    name, *attributes = [part.strip() for part in cookie.split(";")]
    assert re.fullmatch(r"refreshToken=[A-Za-z0-9_-]{43}", name), cookie
    assert {"Path=/dashboard", "HttpOnly", "SameSite=Lax"} <= set(attributes) and "Secure" not in attributes, cookie
    assert any(re.fullmatch(r"Max-Age=\d+", a) for a in attributes), cookie
    me = admin.api("me")
    assert me.status_code == 200 and me.json()["user"]["login"] == "admin@example.com"

    # Rotation: each refresh spends the cookie; two tabs refreshing at once get the same pair.
    first = admin.session.cookies.get("refreshToken")
    assert admin.refresh().status_code == 200
    second = admin.session.cookies.get("refreshToken")
    assert second != first
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: requests.get(f"http://127.0.0.1:{port}/dashboard/accessToken",
                                                       cookies={"refreshToken": second},
                                                       headers={"Sec-Fetch-Site": "same-origin"}, timeout=20), range(2)))
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].headers["access-token"] == answers[1].headers["access-token"]
    # A refresh from another site is refused before the cookie is spent.
    assert requests.get(f"http://127.0.0.1:{port}/dashboard/accessToken", cookies={"refreshToken": second},
                        headers={"Sec-Fetch-Site": "cross-site"}, timeout=10).status_code == 403
    # After the grace window the spent cookie is reuse: the whole session ends.
    time.sleep(3)
    stolen = requests.get(f"http://127.0.0.1:{port}/dashboard/accessToken", cookies={"refreshToken": first},
                          headers={"Sec-Fetch-Site": "same-origin"}, timeout=10)
    assert stolen.status_code == 401 and "refreshToken=;" in stolen.headers["set-cookie"]
    admin.token = answers[0].headers["access-token"]
    assert admin.raw("/api/me").status_code == 403  # revoked with its session: the UI would refresh...
    assert admin.refresh().status_code == 401  # ...and be sent to /login

    # Logout revokes the session and expires both cookies.
    tab = Browser(port)
    tab.login("admin@example.com")
    out = tab.api("logout")
    assert out.status_code == 200 and out.json()["logoutUrl"].endswith("/login")
    assert "refreshToken=;" in ",".join(out.raw.headers.getlist("set-cookie"))
    assert tab.raw("/api/me").status_code == 403


def test_an_expired_access_token_is_403_without_action_errors_and_the_ui_refresh_recovers(install):
    server, port = install
    admin = Browser(port)
    admin.login("admin@example.com")
    old = admin.token
    time.sleep(4.5)  # the token lives 3 s
    expired = admin.raw("/api/me")
    assert expired.status_code == 403 and "actionErrors" not in expired.json()
    assert admin.api("me").status_code == 200 and admin.token != old
    # A fresh tab (no token in its sessionStorage) refreshes too instead of being sent to /login.
    fresh = Browser(port)
    fresh.session.cookies = admin.session.cookies
    assert fresh.api("me").status_code == 200
    # A caller without any credential and no browser marks keeps the documented 401.
    assert requests.post(f"http://127.0.0.1:{port}/api/me", json={}, timeout=10).status_code == 401


def test_every_mismatched_row_of_akto_ui_works_for_an_admin(install):
    server, port = install
    admin = Browser(port)
    admin.login("admin@example.com")
    member = invite_and_join(admin, port, "member@example.com", {"API": "MEMBER"})
    assert member.api("me").json()["user"]["login"] == "member@example.com"
    pending = admin.api("inviteUsers", {"inviteeName": "there", "inviteeEmail": "later@example.com",
                                        "websiteHostName": f"http://127.0.0.1:{port}", "scopeRoleMapping": {"API": "GUEST"}})
    assert pending.status_code == 200

    # getTeamData: the body is the array, invitations as rows; getAllUsersCollections an object.
    team = admin.api("getTeamData").json()
    assert isinstance(team, list)
    logins = {row["login"]: row for row in team}
    assert logins["admin@example.com"]["role"] == "ADMIN" and isinstance(logins["admin@example.com"]["id"], int)
    assert logins["later@example.com"]["isInvitation"] is True and logins["later@example.com"]["name"] == "-"
    assert logins["later@example.com"]["role"] == "Invitation sent for GUEST"
    assert admin.api("removeInvitation", {"email": "later@example.com"}).status_code == 200
    assert isinstance(admin.api("getAllUsersCollections").json(), dict)
    # getRoleHierarchy: a bare array.
    hierarchy = admin.api("getRoleHierarchy").json()
    assert isinstance(hierarchy, list) and "MEMBER" in hierarchy

    # Roles page: apiCollectionsId and threatProtectionEnabled; a base-role-only save keeps the collections.
    collection = admin.api("getCollections").json()["apiCollections"][0]["id"]
    assert admin.api("createCustomRole", {"apiCollectionIds": [], "roleName": "Analyst", "baseRole": "GUEST"}).status_code == 200
    limited = admin.api("updateCustomRole", {"roleName": "ANALYST", "baseRole": "GUEST", "apiCollectionIds": [collection]})
    assert limited.status_code == 200, limited.text
    role = next(r for r in admin.api("getCustomRoles").json()["roles"] if r["name"] == "ANALYST")
    assert role["apiCollectionsId"] == [collection] and role["threatProtectionEnabled"] is False
    # Roles.jsx:186-190 sends role.apiCollectionsId; a role saved from the list with only its base role changed
    # carries the list the page read, and one whose list the page lost carries none (JSON.stringify drops it).
    saved = admin.api("updateCustomRole", {"apiCollectionIds": role["apiCollectionsId"], "roleName": "ANALYST",
                                           "baseRole": "MEMBER", "defaultInviteRole": False, "threatProtectionEnabled": True})
    assert saved.status_code == 200, saved.text
    base_only = admin.api("updateCustomRole", {"roleName": "ANALYST", "baseRole": "GUEST", "defaultInviteRole": False})
    assert base_only.status_code == 200, base_only.text
    role = next(r for r in admin.api("getCustomRoles").json()["roles"] if r["name"] == "ANALYST")
    assert role["apiCollectionsId"] == [collection] and role["baseRole"] == "GUEST" and role["threatProtectionEnabled"] is True
    # Akto's userId -> [collectionIds] for a member holding the limited role.
    assert admin.api("updateUserScopeRoleMapping", {"email": "member@example.com",
                                                    "scopeRoleMapping": {"API": "ANALYST"}}).status_code == 200
    member_id = next(r["id"] for r in admin.api("getTeamData").json() if r["login"] == "member@example.com")
    assert admin.api("getAllUsersCollections").json() == {str(member_id): [collection]}

    # Token pages: apiTokenList.
    added = admin.api("addApiToken", {"tokenUtility": "EXTERNAL_API"}).json()["apiTokenList"]
    listed = admin.api("fetchApiTokens").json()["apiTokenList"]
    assert [t["id"] for t in listed] == [added[0]["id"]]
    assert {"id", "timestamp", "key", "utility"} <= set(listed[0])

    # About page.
    assert isinstance(admin.api("fetchUserLastLoginTs").json()["lastLoginTs"], int)
    settings = admin.api("fetchAdminSettings").json()
    assert settings["accountSettings"]["id"] == 1000000
    assert settings["organization"]["adminEmail"] == "admin@example.com" and settings["organization"]["id"]
    assert settings["currentAccount"]["name"]

    # Billing page (self-hosted): getCustomerStiggDetails answers, with no token when Stigg signs none.
    org = settings["organization"]["id"]
    stigg = admin.api("getCustomerStiggDetails", {"customerId": org})
    assert stigg.status_code == 200 and stigg.json()["customerId"] == org and "customerToken" in stigg.json()
    assert admin.api("getCustomerStiggDetails", {"customerId": "someone-else"}).status_code == 403
    # provisionSubscription: Stigg's ANNUALLY is a billing period (billing itself is not configured here).
    annual = admin.api("provisionSubscription", {"billingPeriod": "ANNUALLY", "customerId": org, "planId": "plan-pro",
                                                 "successUrl": f"http://127.0.0.1:{port}/ok", "cancelUrl": f"http://127.0.0.1:{port}/"})
    assert "billingPeriod" not in annual.text, annual.text

    # The documented API keeps its shape for API-key callers.
    key = added[0]["key"]
    documented = requests.post(f"http://127.0.0.1:{port}/api/resetUserPassword", json={"userEmail": "member@example.com"},
                               headers={"X-API-KEY": key}, timeout=10)
    assert documented.status_code == 200, documented.text
    assert set(documented.json()) == {"passwordResetToken", "passwordResetUrl"}

    # Users page: the reset link is the body string; the link's page posts auth/resetPassword.
    invite_and_join(admin, port, "second@example.com", {"API": "GUEST"})
    link = admin.api("resetUserPassword", {"userEmail": "second@example.com"}).json()
    assert isinstance(link, str) and link.startswith(f"http://127.0.0.1:{port}/login?token=")
    token = urllib.parse.parse_qs(urllib.parse.urlparse(link).query)["token"][0]
    bad = requests.post(f"http://127.0.0.1:{port}/auth/resetPassword", json={"resetPasswordToken": "x" * 43,
                        "newPassword": "Another-horse-42"}, headers={"Sec-Fetch-Site": "same-origin"}, timeout=10)
    assert bad.status_code >= 400 and bad.headers["content-type"].startswith("text/plain") and bad.text
    done = requests.post(f"http://127.0.0.1:{port}/auth/resetPassword", json={"resetPasswordToken": token,
                         "newPassword": "Another-horse-42"}, headers={"Sec-Fetch-Site": "same-origin"}, timeout=10)
    assert done.status_code == 200, done.text
    assert Browser(port).login("second@example.com", "Another-horse-42").status_code == 200

    # Forgot password: the same answer for every address, nothing sent.
    answers = [requests.post(f"http://127.0.0.1:{port}/auth/sendPasswordResetLink", json={"forgotPasswordEmail": email},
                             headers={"Sec-Fetch-Site": "same-origin"}, timeout=10) for email in
               ("admin@example.com", "nobody@example.com")]
    assert [a.status_code for a in answers] == [200, 200] and answers[0].text == answers[1].text


def test_the_rows_that_matched_still_work_with_the_uis_exact_requests(install):
    server, port = install
    admin = Browser(port)
    admin.login("admin@example.com")
    member = invite_and_join(admin, port, "member@example.com", {"API": "MEMBER"})
    assert member.api("updateUsernameAndOrganization", {"username": "Mem Ber"}).status_code == 200  # organization absent
    # Headers.js / LeftNav.js: createNewAccount, goToAccount (bodies as signup/api.js builds them).
    created = admin.api("createNewAccount", {"newAccountName": "Second"}).json()
    assert created["newAccountId"] > 1000000 and created["newAccountName"] == "Second"
    assert admin.api("goToAccount", {"newAccountId": 1000000}).status_code == 200
    # Users page: scope roles, make admin (productScopes ignored), remove.
    assert admin.api("updateUserScopeRoleMapping", {"email": "member@example.com",
                                                    "scopeRoleMapping": {"API": "GUEST", "DAST": "MEMBER"}}).status_code == 200
    assert admin.api("makeAdmin", {"email": "member@example.com", "userRole": "MEMBER", "productScopes": ["API"]}).status_code == 200
    # Roles page: create as typed, delete.
    assert admin.api("createCustomRole", {"apiCollectionIds": [], "roleName": "Temp-Role", "baseRole": "GUEST"}).status_code == 200
    assert admin.api("deleteCustomRole", {"roleName": "TEMP-ROLE"}).status_code == 200
    # About page: the lists (an entry added to what fetchAdminSettings showed), jobs.
    assert admin.api("updatePrivateCidrIps", {"privateCidrList": ["10.0.0.0/8"]}).status_code == 200
    assert admin.api("updatePartnerIps", {"partnerIpList": ["203.0.113.7"]}).status_code == 200
    settings = admin.api("fetchAdminSettings").json()["accountSettings"]
    assert settings["privateCidrList"] == ["10.0.0.0/8"] and settings["partnerIpList"] == ["203.0.113.7"]
    assert isinstance(admin.api("applyAccessType").json()["jobId"], int)
    reset = admin.api("resetCollectionAccessTypes").json()
    assert reset["started"] is True and reset["message"]
    # Token pages: delete by the list's id.
    token = admin.api("addApiToken", {"tokenUtility": "BURP"}).json()["apiTokenList"][0]
    assert admin.api("deleteApiToken", {"apiTokenId": token["id"]}).json()["apiTokenDeleted"] is True
    # Legacy push subscription, usage refresh.
    subscription = {"subscription": {"endpoint": "https://push.example.com/abc", "expirationTime": None,
                                     "keys": {"p256dh": PUSH_KEY, "auth": "fXU2nG5l2iYYiZsc7JqjUQ"}}}
    assert admin.api("saveSubscription", subscription).status_code == 200
    assert isinstance(admin.api("refreshUsageDataForOrg").json()["jobId"], int)
    assert admin.api("removeUser", {"email": "member@example.com"}).status_code == 200
    out = admin.api("logout").json()
    assert out["logoutUrl"] == f"http://127.0.0.1:{port}/login"


# A P-256 public key (uncompressed point, base64url) as a browser's PushSubscription carries it.
PUSH_KEY = "BF-SJ2LOvzvnk0VDBF52nKnQD1-4b8ZHJayMKvaNFp4TFaH0DjRysDiZqJMagjbX5Pq8HymSIzqh6jq-4JNXQhQ"


def test_member_guest_and_no_access_users_get_what_the_pages_read(install):
    server, port = install
    admin = Browser(port)
    admin.login("admin@example.com")
    member = invite_and_join(admin, port, "member@example.com", {"API": "MEMBER"})
    guest = invite_and_join(admin, port, "guest@example.com", {"API": "GUEST"})
    nobody = invite_and_join(admin, port, "nobody@example.com", {"API": "NO_ACCESS", "DAST": "GUEST"})
    for user in (member, guest):
        team = user.api("getTeamData")
        assert team.status_code == 200 and isinstance(team.json(), list)  # Users.jsx:127 `users.find`
        assert isinstance(user.api("getRoleHierarchy").json(), list)
        assert user.api("fetchApiTokens").json()["apiTokenList"] == []
    # A refusal is displayable: 403 with actionErrors (never taken for an expired token), no banner header.
    refused = guest.api("createCustomRole", {"apiCollectionIds": [], "roleName": "X", "baseRole": "GUEST"})
    assert refused.status_code == 403 and refused.json()["actionErrors"] and "x-no-access-error" not in refused.headers
    # NO_ACCESS: the banner header; MCP resolves to NO_ACCESS for everybody.
    denied = nobody.api("getTeamData")
    assert denied.status_code == 403 and denied.headers.get("x-no-access-error") == "true" and denied.json()["actionErrors"]
    mcp = Browser(port, context="MCP")
    mcp.session.cookies = admin.session.cookies
    mcp.token = admin.token
    answer = mcp.api("getTeamData")
    assert answer.status_code == 403 and answer.headers.get("x-no-access-error") == "true"
    # Caps are FAILED_PRECONDITION (400 "Bad Request …"), not the UI's "try again in an hour" 429.
    for index in range(9):
        assert admin.api("createNewAccount", {"newAccountName": f"w{index}"}).status_code == 200
    capped = admin.api("createNewAccount", {"newAccountName": "one-too-many"})
    assert capped.status_code == 400 and capped.json()["actionErrors"]


def test_page_start_up_writes_escaped_window_values_under_a_nonce(install):
    server, port = install
    base = f"http://127.0.0.1:{port}"
    page = requests.get(base + "/dashboard/observe/inventory", allow_redirects=False, timeout=10)
    assert page.status_code == 302 and page.headers["location"].startswith("/login")
    admin = Browser(port)
    admin.login("admin@example.com")
    evil = "R&D - Acme"  # names are validated (no < or quotes); & still needs escaping
    renamed = admin.api("updateUsernameAndOrganization", {"username": "Admin", "organization": evil})
    assert renamed.status_code == 200, renamed.text
    page = admin.session.get(base + "/dashboard/observe/inventory", timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    nonce = re.search(r"script-src 'self' 'nonce-([A-Za-z0-9+/=]+)'", page.headers["content-security-policy"]).group(1)
    assert f'<script nonce="{nonce}">' in page.text
    assert 'window.ORGANIZATION_NAME = "R\\u0026D - Acme";' in page.text
    assert 'window.USER_NAME = "admin@example.com";' in page.text
    assert 'window.ACCOUNTS = {"1000000":' in page.text and "window.ACTIVE_ACCOUNT = 1000000;" in page.text
    assert 'window.USER_ROLE = "ADMIN";' in page.text and '"API":"ADMIN"' in page.text
    login = requests.get(base + '/signup?signupInvitationCode=%22%3C/script%3E&signupEmailId=a@b.c', timeout=10)
    assert login.status_code == 200 and '"\\"\\u003c/script\\u003e"' in login.text
    assert requests.get(base + "/app.js", timeout=10).headers["content-type"].startswith("text/javascript")
    for path in ("/../etc/passwd", "/%2e%2e/etc/passwd", "/.hidden", "/nope.js"):
        assert requests.get(base + path, timeout=10).status_code == 404


def test_without_dashboard_dir_the_pages_are_404():
    port = free_port()
    server = Server(http_port=port)
    try:
        wait_for_http(port)
        for path in ("/login", "/signup", "/dashboard/observe/inventory"):
            assert requests.get(f"http://127.0.0.1:{port}{path}", timeout=10).status_code == 404
    finally:
        assert server.terminate() == 0


# The stand-in bundle: reads the window values the page start-up wrote, signs in through /auth/login and calls
# the API the way request.js does (token from the `access-token` header into sessionStorage, a 403 without
# actionErrors refreshed once through /dashboard/accessToken), then lets two "tabs" refresh at once.
APP_JS = r"""
const token = () => sessionStorage.getItem("accessToken");
async function call(path, body, retried) {
  const headers = {"Content-Type": "application/json", "Access-Control-Allow-Origin": "*", "x-context-source": "API"};
  if (token()) headers["access-token"] = token();
  if (window.ACTIVE_ACCOUNT) headers["account"] = String(window.ACTIVE_ACCOUNT);
  const response = await fetch(path, {method: "POST", headers, body: JSON.stringify(body || {})});
  if (response.headers.get("access-token")) sessionStorage.setItem("accessToken", response.headers.get("access-token"));
  const text = await response.text();
  let data = text; try { data = JSON.parse(text); } catch (e) {}
  if (response.status === 403 && !retried && !(data && data.actionErrors)) {
    const refreshed = await fetch("/dashboard/accessToken");
    if (refreshed.headers.get("access-token")) sessionStorage.setItem("accessToken", refreshed.headers.get("access-token"));
    return call(path, body, true);
  }
  return {status: response.status, data};
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
(async () => {
  if (location.pathname === "/login") {
    const login = await call("/auth/login", {username: "admin@example.com", password: "Secret123-horse"});
    sessionStorage.setItem("login", JSON.stringify({status: login.status, hasToken: !!token(), user: window.USER_NAME}));
    location.href = "/dashboard/observe/inventory";
    return;
  }
  const results = {login: JSON.parse(sessionStorage.getItem("login") || "{}")};
  results.window = {user: window.USER_NAME, accounts: window.ACCOUNTS, active: window.ACTIVE_ACCOUNT,
                    role: window.USER_ROLE, scopes: window.SCOPE_ROLE_MAPPING, org: window.ORGANIZATION_NAME,
                    mode: window.DASHBOARD_MODE, saas: window.IS_SAAS, stigg: window.STIGG_CUSTOMER_ID};
  results.cookieVisible = document.cookie.includes("refreshToken");
  results.team = await call("/api/getTeamData");
  const before = token();
  await sleep(4500);  // the access token lives 3 s
  results.afterExpiry = await call("/api/me");
  results.rotated = token() !== before;
  const tabs = await Promise.all([fetch("/dashboard/accessToken"), fetch("/dashboard/accessToken")]);
  results.tabs = tabs.map((r) => ({status: r.status, token: r.headers.get("access-token")}));
  sessionStorage.setItem("accessToken", results.tabs[0].token || "");
  results.afterTabs = await call("/api/me");
  window.results = results;
  document.title = "done";
})();
"""


@pytest.mark.skipif(not shutil.which("chromedriver"), reason="chromium-driver is missing (tools/test installs it)")
def test_a_headless_chromium_starts_the_dashboard_signs_in_and_refreshes(install):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    server, port = install
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]:
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
    try:
        driver.set_page_load_timeout(30)
        driver.get(f"http://127.0.0.1:{port}/login")
        deadline = time.time() + 60
        while driver.title != "done" and time.time() < deadline:
            time.sleep(0.2)
        results = driver.execute_script("return window.results")
        logs = driver.get_log("browser") if hasattr(driver, "get_log") else []
    finally:
        driver.quit()
    assert results, logs
    assert results["login"] == {"status": 200, "hasToken": True, "user": ""}, results
    window = results["window"]
    assert window["user"] == "admin@example.com" and window["active"] == 1000000 and window["role"] == "ADMIN"
    assert window["accounts"] == {"1000000": window["accounts"]["1000000"]} and window["scopes"]["API"] == "ADMIN"
    assert window["org"] == "Acme" and window["mode"] == "ON_PREM" and window["saas"] == "false" and window["stigg"]
    assert results["cookieVisible"] is False  # HttpOnly
    assert results["team"]["status"] == 200 and isinstance(results["team"]["data"], list)
    assert results["afterExpiry"]["status"] == 200 and results["rotated"] is True, results
    assert [t["status"] for t in results["tabs"]] == [200, 200]
    assert results["tabs"][0]["token"] == results["tabs"][1]["token"], results["tabs"]
    assert results["afterTabs"]["status"] == 200
