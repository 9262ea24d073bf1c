import AccessCore
import AccessRPC
import AccessWire
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The routes Akto's own React dashboard calls around the `/api` contract (<doc:AktoDashboard>): its sign-in
/// (`/auth/login`, `/signup-email`, `/auth/resetPassword`, `/auth/sendPasswordResetLink`), its token refresh
/// (`/dashboard/accessToken`) and its page start-up (`/login`, `/signup`, `/dashboard/*` from `--dashboard-dir`).
///
/// Each route translates the UI's field names into a contract call and its answer into what the UI reads; the
/// rules live in the service. The browser holds a short-lived `access-token` (sessionStorage, sent as a header)
/// and an HttpOnly refresh cookie scoped to `/dashboard`; neither the session's own token nor any secret is
/// ever put in a page or a JavaScript-readable place.
extension GatewayResponder {
    static let reservedPaths: Set<String> = ["/healthz", "/metrics", "/openapi.json"]
    static let dashboardLanding = "/dashboard/observe/inventory"

    // MARK: Sign-in

    /// `/auth/login {username, password}` and `/signup-email {email, password, invitationCode}`: Login or Signup
    /// with `dashboard`, answered with the `access-token` header and the refresh cookie. Login's brute-force,
    /// peer and CSRF rules are the service's and `crossSiteRefusal`'s, as for `/api/login`.
    func signIn(_ request: Request, context: GatewayContext, signup: Bool) async -> Response {
        if let refusal = crossSiteRefusal(request) { return refusal }
        let startedAt = ContinuousClock.now
        let members: [(key: String, value: JSONValue)]
        switch await jsonObject(request, deadline: dispatcher.deadline(for: nil, from: startedAt)) {
        case .success(let object): members = object
        case .failure(let response): return response
        }
        func member(_ names: String...) -> JSONValue {
            for name in names { if let value = members.first(where: { $0.key == name })?.value { return value } }
            return .string("")
        }
        let body: JSONValue
        let descriptor: MethodDescriptor
        if signup {
            descriptor = Methods.SessionService.signup.descriptor
            body = .object([
                ("email", member("email", "username")), ("password", member("password")),
                ("inviteCode", member("invitationCode", "inviteCode")), ("name", member("name")),
                ("dashboard", .bool(true)),
            ])
        } else {
            descriptor = Methods.SessionService.login.descriptor
            body = .object([
                ("email", member("username", "email")), ("password", member("password")), ("dashboard", .bool(true)),
            ])
        }
        guard let route = routes[MethodRegistry.httpPath(of: descriptor) ?? ""] else {
            return Self.error(.notFound, .notFound, "no route")
        }
        let invocation = await invoke(
            route, json: Array(body.serialized().utf8), metadata: requestIDMetadata(request), startedAt: startedAt,
            request: request, context: context)
        switch invocation.outcome {
        case .failure(let error):
            return Self.error(error)
        case .success(let value):
            guard let tokens = Self.tokens(value["dashboardTokens"]) else {
                return Self.error(.internalServerError, .internal, "the sign-in answered no token pair")
            }
            var response: Response
            if signup {
                // Akto's UI takes a body containing "<" (its rendered page) for a successful sign-up.
                response = Response(
                    status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                    body: ResponseBody(
                        byteBuffer: ByteBuffer(
                            string:
                                "<!doctype html><html><head><title>Akto</title></head><body>Signed up.</body></html>")))
            } else {
                response = Self.json(
                    .ok,
                    .object([
                        ("user", value["user"] ?? .null), ("activeAccountId", value["activeAccountId"] ?? .null),
                        ("accessTokenExpiresAt", .integer(tokens.accessExpiresAt)),
                    ]))
            }
            setDashboardTokens(tokens, on: &response)
            return response
        }
    }

    /// `/auth/resetPassword {resetPasswordToken, newPassword}` (the link an admin's ResetUserPassword made). The UI
    /// shows a failure's body as text, so errors answer `text/plain`.
    func resetPassword(_ request: Request, context: GatewayContext) async -> Response {
        await forward(
            request, context: context, method: Methods.SessionService.resetPassword.descriptor,
            fields: ["resetPasswordToken": "token", "newPassword": "newPassword"], textErrors: true)
    }

    /// A call of `method` with the UI's field names mapped to the contract's (`fields`: UI name -> JSON name).
    func forward(
        _ request: Request, context: GatewayContext, method descriptor: MethodDescriptor, fields: [String: String],
        textErrors: Bool = false
    ) async -> Response {
        if let refusal = crossSiteRefusal(request) { return refusal }
        let startedAt = ContinuousClock.now
        let members: [(key: String, value: JSONValue)]
        switch await jsonObject(request, deadline: dispatcher.deadline(for: nil, from: startedAt)) {
        case .success(let object): members = object
        case .failure(let response): return response
        }
        let mapped = JSONValue.object(
            fields.sorted { $0.key < $1.key }.compactMap { ui, contract in
                members.first { $0.key == ui }.map { (contract, $0.value) }
            })
        guard let route = routes[MethodRegistry.httpPath(of: descriptor) ?? ""] else {
            return Self.error(.notFound, .notFound, "no route")
        }
        let invocation = await invoke(
            route, json: Array(mapped.serialized().utf8), metadata: requestIDMetadata(request), startedAt: startedAt,
            request: request, context: context)
        switch invocation.outcome {
        case .success(let value): return Self.json(.ok, value)
        case .failure(let error) where textErrors:
            return Response(
                status: error.code.httpStatus, headers: [.contentType: "text/plain; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: error.message)))
        case .failure(let error): return Self.error(error)
        }
    }

    /// `GET|POST /dashboard/accessToken`: trades the refresh cookie for a new pair (rotation). A missing, spent or
    /// revoked cookie answers 401 and expires the cookie, which sends the UI to /login.
    func refresh(_ request: Request, context: GatewayContext) async -> Response {
        // The UI's GET carries no body (so no JSON content type); what a browser marks cross-site is refused.
        let site = request.headers[HTTPField.Name("sec-fetch-site")!]?.lowercased()
        if let origin = request.headers[.origin], !configuration.allowedOrigins.contains(origin),
            origin != configuration.publicOrigin, site != "same-origin"
        {
            return Self.error(.forbidden, .permissionDenied, "cross-site request refused (CSRF check)")
        }
        if let site, site != "same-origin", site != "none" {
            return Self.error(.forbidden, .permissionDenied, "cross-site request refused (CSRF check)")
        }
        guard let token = Self.cookie(configuration.refreshCookieName, in: request.headers), !token.isEmpty else {
            return signedOut(Self.error(.unauthorized, .unauthenticated, "no refresh cookie; sign in"))
        }
        guard
            let route = routes[MethodRegistry.httpPath(of: Methods.SessionService.refreshAccessToken.descriptor) ?? ""]
        else {
            return Self.error(.notFound, .notFound, "no route")
        }
        let invocation = await invoke(
            route, json: Array(JSONValue.object([("refreshToken", .string(token))]).serialized().utf8),
            metadata: requestIDMetadata(request), startedAt: .now, request: request,
            context: context)
        switch invocation.outcome {
        case .success(let value):
            guard let tokens = Self.tokens(value["dashboardTokens"]) else {
                return Self.error(.internalServerError, .internal, "the refresh answered no token pair")
            }
            var response = Self.json(.ok, .object([("accessTokenExpiresAt", .integer(tokens.accessExpiresAt))]))
            setDashboardTokens(tokens, on: &response)
            return response
        case .failure(let error) where error.code == .unauthenticated:
            return signedOut(Self.error(error))
        case .failure(let error):
            return Self.error(error)
        }
    }

    struct Tokens {
        var access: String
        var accessExpiresAt: Int64
        var refresh: String
        var refreshExpiresAt: Int64
    }

    static func tokens(_ value: JSONValue?) -> Tokens? {
        guard case .string(let access)? = value?["accessToken"], case .string(let refresh)? = value?["refreshToken"],
            !access.isEmpty, !refresh.isEmpty
        else { return nil }
        func number(_ key: String) -> Int64 {
            if case .number(let text)? = value?[key] { return Int64(text) ?? 0 }
            return 0
        }
        return Tokens(
            access: access, accessExpiresAt: number("accessTokenExpiresAt"), refresh: refresh,
            refreshExpiresAt: number("refreshTokenExpiresAt"))
    }

    private func setDashboardTokens(_ tokens: Tokens, on response: inout Response) {
        response.headers[HTTPField.Name("access-token")!] = tokens.access
        let now = Int64(Date().timeIntervalSince1970)
        response.setCookie(refreshCookie(value: tokens.refresh, maxAge: max(0, tokens.refreshExpiresAt - now)))
    }

    private func signedOut(_ response: Response) -> Response {
        var response = response
        response.setCookie(refreshCookie(value: "", maxAge: 0))
        return response
    }

    /// The refresh cookie: HttpOnly (no script reads it), only sent to `/dashboard` (the refresh endpoint and page
    /// loads, never `/api`), SameSite=Lax (a link into the dashboard from elsewhere still opens it signed in;
    /// the refresh endpoint refuses cross-site calls itself), Secure on https.
    func refreshCookie(value: String, maxAge: Int64) -> Cookie {
        Cookie(
            name: configuration.refreshCookieName, value: value, maxAge: Int(maxAge), path: "/dashboard",
            secure: configuration.isSecure, httpOnly: true, sameSite: .lax)
    }

    private func requestIDMetadata(_ request: Request) -> [MetadataEntry] {
        request.headers[HTTPField.Name("x-request-id")!].map { [MetadataEntry("x-request-id", $0)] } ?? []
    }

    /// The request's body as a JSON object (an empty body is `{}`), within the body limit and the deadline.
    private func jsonObject(_ request: Request, deadline: ContinuousClock.Instant) async
        -> BodyRead<[(key: String, value: JSONValue)]>
    {
        let body: ByteBuffer
        switch await readBody(request, deadline: deadline) {
        case .success(let collected): body = collected
        case .failure(let refusal): return .failure(refusal)
        }
        guard body.readableBytes > 0 else { return .success([]) }
        guard
            case .object(let members)? = try? JSONValue.parse(
                Array(buffer: body), maxDepth: dispatcher.limits.codec.maxJSONDepth)
        else { return .failure(Self.error(.badRequest, .invalidArgument, "the body must be a JSON object")) }
        return .success(members)
    }

    // MARK: Page start-up

    /// The dashboard's `index.html` with the `window.*` block Akto's login.jsp writes, filled from the session of
    /// the refresh cookie (`/dashboard/*`; without a live one: 302 to /login) or from the query (`/signup`'s
    /// invitation). Every value is JSON escaped for a script context, in a script carrying this response's CSP
    /// nonce.
    func page(_ request: Request, path: String, context: GatewayContext) async -> Response {
        guard let directory = configuration.dashboardDirectory,
            let template = FileManager.default.contents(atPath: directory + "/index.html").flatMap({
                String(data: $0, encoding: .utf8)
            })
        else {
            return Self.error(.notFound, .notFound, "the dashboard's index.html is missing from --dashboard-dir")
        }
        var values = DashboardWindow()
        if path == "/dashboard" || path.hasPrefix("/dashboard/") {
            guard let token = Self.cookie(configuration.refreshCookieName, in: request.headers), !token.isEmpty,
                let route = routes[MethodRegistry.httpPath(of: Methods.SessionService.me.descriptor) ?? ""]
            else { return Self.redirectToLogin(path: path) }
            let invocation = await invoke(
                route, json: Array("{}".utf8), metadata: [MetadataEntry("refresh-token", token)],
                startedAt: .now, request: request, context: context)
            guard case .success(let me) = invocation.outcome else {
                return signedOut(Self.redirectToLogin(path: path))
            }
            values.fill(me: me)
        }
        if path == "/signup" {
            let query = request.uri.queryParameters
            values.signupInvitationCode = query["signupInvitationCode"].map(String.init) ?? ""
            values.signupEmailID = query["signupEmailId"].map(String.init) ?? ""
        }
        let nonce = Base64.encode((0..<16).map { _ in UInt8.random(in: 0...255) })
        let script = "<script nonce=\"\(nonce)\">\n" + values.script() + "</script>\n"
        var html = template
        if let head = html.range(of: "<head>", options: .caseInsensitive) {
            html.insert(contentsOf: "\n" + script, at: head.upperBound)
        } else {
            html = script + html
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/html; charset=utf-8",
                HTTPField.Name("content-security-policy")!:
                    "default-src 'self'; script-src 'self' 'nonce-\(nonce)'; style-src 'self' 'unsafe-inline'; "
                    + "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
                    + "base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
                HTTPField.Name("x-frame-options")!: "DENY",
            ],
            body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    private static func redirectToLogin(path: String) -> Response {
        let target =
            "/login?redirect_uri="
            + (path.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "/-_.~")))
                ?? "")
        return Response(status: .found, headers: [.location: target], body: ResponseBody())
    }

}

/// The values Akto's login.jsp writes into `window` (login.jsp:36-80), as this service knows them.
struct DashboardWindow {
    var userName = ""
    var userFullName = ""
    var accounts: [(key: String, value: JSONValue)] = []
    var activeAccount: Int64 = 0
    var accountName = ""
    var userRole = ""
    var scopeRoleMapping: [(key: String, value: JSONValue)] = []
    var organizationName = ""
    var organizationID = ""
    var signupInvitationCode = ""
    var signupEmailID = ""

    mutating func fill(me: JSONValue) {
        if case .string(let login)? = me["user"]?["login"] { userName = login }
        if case .string(let name)? = me["user"]?["name"] { userFullName = name }
        if case .number(let id)? = me["activeAccountId"] { activeAccount = Int64(id) ?? 0 }
        if case .array(let list)? = me["accounts"] {
            for account in list {
                guard case .number(let id)? = account["accountId"], case .string(let name)? = account["name"] else {
                    continue
                }
                accounts.append((id, .string(name)))
                if Int64(id) == activeAccount { accountName = name }
            }
        }
        if case .object(let mapping)? = me["scopeRoleMapping"] { scopeRoleMapping = mapping }
        if case .string(let role)? = me["scopeRoleMapping"]?["API"] { userRole = role } else { userRole = "NO_ACCESS" }
        if case .string(let name)? = me["organization"]?["name"] { organizationName = name }
        if case .string(let id)? = me["organization"]?["id"] { organizationID = id }
    }

    /// `window.NAME = <value>;` lines. Values are JSON, with `<`, `>`, `&` and the JavaScript line separators
    /// escaped, so no value can end the script element or the statement.
    func script() -> String {
        let entries: [(String, JSONValue)] = [
            ("USER_NAME", .string(userName)), ("USER_FULL_NAME", .string(userFullName)),
            ("ACCOUNTS", .object(accounts)), ("ACTIVE_ACCOUNT", .integer(activeAccount)),
            ("ACCOUNT_NAME", .string(accountName)), ("USER_ROLE", .string(userRole)),
            ("SCOPE_ROLE_MAPPING", .object(scopeRoleMapping)), ("ORGANIZATION_NAME", .string(organizationName)),
            ("DASHBOARD_MODE", .string("ON_PREM")), ("DASHBOARD_CATEGORY", .string("")), ("IS_SAAS", .string("false")),
            ("AIRGAPPED", .bool(true)), ("ACCESS_TOKEN", .string("")), ("SIGNUP_INFO", .object([])),
            ("SIGNUP_INVITATION_CODE", .string(signupInvitationCode)), ("SIGNUP_EMAIL_ID", .string(signupEmailID)),
            ("STIGG_CUSTOMER_ID", .string(organizationID)), ("STIGG_CUSTOMER_TOKEN", .string("")),
            ("STIGG_CLIENT_KEY", .string("invalid-key")), ("STIGG_FEATURE_WISE_ALLOWED", .object([])),
            ("STIGG_IS_OVERAGE", .string("false")), ("USAGE_PAUSED", .object([])), ("AVATAR", .string("")),
            ("USERS", .string("{}")), ("DASHBOARDS", .array([])), ("CLOUD_TYPE", .string("")),
            ("RELEASE_VERSION", .string("akto-access")), ("TIME_ZONE", .string("")), ("ACTIVE_SSO", .string("")),
            ("AKTO_UI_MODE", .string("")), ("EXPIRED", .string("false")), ("PLAN_TYPE", .string("")),
            ("INVITE_DISABLED_FOR_SSO", .bool(false)),
        ]
        var out = ""
        for (name, value) in entries { out += "window.\(name) = \(Self.scriptLiteral(value));\n" }
        // login.jsp's airgapped branch: analytics stubs, so the bundle phones nowhere.
        out +=
            "window.mixpanel = {init() {}, track() {}, identify() {}, register() {}, people: {set() {}, set_once() {}}};\n"
        out += "window.Intercom = function () {};\n"
        return out
    }

    static func scriptLiteral(_ value: JSONValue) -> String {
        var out = ""
        for scalar in value.serialized().unicodeScalars {
            switch scalar {
            case "<": out += "\\u003c"
            case ">": out += "\\u003e"
            case "&": out += "\\u0026"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
