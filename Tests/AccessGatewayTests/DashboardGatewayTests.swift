import AccessCore
import AccessRPC
import AccessWire
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import AccessGateway

/// <doc:DashboardSessions> at the HTTP layer: the contract's response bindings, the dashboard's sign-in headers and cookie, and
/// the error shapes Akto's request.js reads.
@Suite struct DashboardGatewayTests {
    static let sameOrigin: HTTPFields = [HTTPField.Name("sec-fetch-site")!: "same-origin"]

    func dashboardLogin(_ client: any TestClientProtocol) async throws -> (access: String, cookie: String) {
        let response = try await client.post(
            "/auth/login", #"{"username":"admin@example.com","password":"Secret123-horse"}"#, headers: Self.sameOrigin)
        #expect(response.status == .ok)
        let access = try #require(response.headers[HTTPField.Name("access-token")!])
        let cookie = try #require(response.headers[.setCookie])
        return (access, cookie)
    }

    @Test func responseBindingsAnswerBareValuesAndTheDashboardShape() async throws {
        try await GatewayHarness().test { client in
            let session = try await signup(client)
            _ = try await client.post(
                "/api/inviteUsers", #"{"inviteeEmail":"x@example.com","inviteeRole":"GUEST"}"#, headers: bearer(session)
            )
            // response_body: the array, for every HTTP caller; the page token as a header.
            let team = try await client.post("/api/getTeamData", #"{"pageSize":1}"#, headers: bearer(session))
            guard case .array(let rows)? = team.json else {
                Issue.record("getTeamData is not an array: \(String(describing: team.json))"); return
            }
            #expect(rows.count == 1 && rows[0]["login"] == .string("admin@example.com"))
            let next = try #require(team.headers[HTTPField.Name("x-next-page-token")!])
            let second = try await client.post(
                "/api/getTeamData", #"{"pageSize":1,"pageToken":"\#(next)"}"#, headers: bearer(session))
            #expect(
                second.json
                    == .array([
                        .object([
                            ("id", .number("0")), ("login", .string("x@example.com")), ("name", .string("-")),
                            ("role", .string("Invitation sent for GUEST")),
                            (
                                "scopeRoleMapping",
                                .object([
                                    ("AGENTIC", .string("GUEST")), ("API", .string("GUEST")),
                                    ("DAST", .string("GUEST")), ("ENDPOINT", .string("GUEST")),
                                ])
                            ),
                            ("lastLoginAt", .number("0")), ("isInvitation", .bool(true)),
                        ])
                    ]))
            guard case .array? = try await client.post("/api/getRoleHierarchy", headers: bearer(session)).json else {
                Issue.record("getRoleHierarchy is not an array"); return
            }
            // dashboard_response_body: only for the dashboard's credential.
            let (access, _) = try await dashboardLogin(client)
            _ = try await client.post(
                "/api/inviteUsers", #"{"inviteeEmail":"y@example.com","inviteeRole":"GUEST"}"#, headers: bearer(session)
            )
            let documented = try await client.post("/api/getTeamData", headers: bearer(session))
            #expect(documented.status == .ok)
            let openAPI = try await client.execute(uri: "/openapi.json", method: .get)
            let document = try #require(openAPI.json)
            #expect(
                document["paths"]?["/api/getTeamData"]?["post"]?["responses"]?["200"]?["content"]?["application/json"]?[
                    "schema"]?["type"]
                    == .string("array"))
            var headers = Self.sameOrigin
            headers[HTTPField.Name("access-token")!] = access
            let me = try await client.post("/api/me", headers: headers)
            #expect(me.status == .ok && me.json?["user"]?["login"] == .string("admin@example.com"))
        }
    }

    @Test func signInSetsTheAccessHeaderAndAPathScopedHttpOnlyCookie() async throws {
        try await GatewayHarness().test { client in
            _ = try await signup(client)
            let (access, cookie) = try await dashboardLogin(client)
            #expect(access.count == 43)
            let attributes = Set(
                cookie.split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) })
            #expect(cookie.hasPrefix("refreshToken="))
            #expect(
                attributes.isSuperset(of: ["Path=/dashboard", "HttpOnly", "SameSite=Lax"])
                    && !attributes.contains("Secure"), "\(cookie)")
            // Login CSRF: a cross-site sign-in is refused before anything is judged.
            let forged = try await client.post(
                "/auth/login", #"{"username":"admin@example.com","password":"Secret123-horse"}"#,
                headers: [HTTPField.Name("sec-fetch-site")!: "cross-site"])
            #expect(forged.status == .forbidden)
            let wrong = try await client.post(
                "/auth/login", #"{"username":"admin@example.com","password":"Wrong-password-1"}"#,
                headers: Self.sameOrigin)
            #expect(wrong.status == .unauthorized && wrong.json?["actionErrors"] != nil)
            #expect(try await client.execute(uri: "/auth/login", method: .get).status == .methodNotAllowed)
            // The refresh trades the cookie.
            let value = String(cookie.dropFirst("refreshToken=".count).prefix { $0 != ";" })
            let refreshed = try await client.execute(
                uri: "/dashboard/accessToken", method: .get, headers: [.cookie: "refreshToken=\(value)"])
            #expect(refreshed.status == .ok && refreshed.headers[HTTPField.Name("access-token")!] != nil)
            let missing = try await client.execute(uri: "/dashboard/accessToken", method: .get)
            #expect(missing.status == .unauthorized)
        }
    }

    @Test func errorsCarryActionErrorsAndExpiredTokensAreBare403s() async throws {
        try await GatewayHarness().test { client in
            _ = try await signup(client)
            var headers = Self.sameOrigin
            headers[HTTPField.Name("access-token")!] = String(repeating: "A", count: 43)
            let expired = try await client.post("/api/me", headers: headers)
            #expect(expired.status == .forbidden && expired.json?["actionErrors"] == nil)
            // An anonymous call's UNAUTHENTICATED (a wrong password) stays a 401 with actionErrors, token or not:
            // taken for an expired token, the UI would refresh and retry the sign-in.
            let wrong = try await client.post(
                "/api/login", #"{"email":"admin@example.com","password":"Wrong-password-1"}"#, headers: headers)
            #expect(wrong.status == .unauthorized && wrong.json?["actionErrors"] != nil)
            let (access, _) = try await dashboardLogin(client)
            headers[HTTPField.Name("access-token")!] = access
            headers[HTTPField.Name("x-context-source")!] = "MCP"
            let noAccess = try await client.post("/api/getTeamData", headers: headers)
            #expect(noAccess.status == .forbidden && noAccess.headers[HTTPField.Name("x-no-access-error")!] == "true")
            #expect(noAccess.json?["actionErrors"] != nil)
            // The preflight admits what request.js sends.
            let preflight = try await client.execute(
                uri: "/api/me", method: .options,
                headers: [.origin: "https://app.example.com", .accessControlRequestMethod: "POST"])
            let allowed = try #require(preflight.headers[.accessControlAllowHeaders])
            for header in ["access-token", "account", "access-control-allow-origin", "x-context-source"] {
                #expect(allowed.contains(header))
            }
        }
    }

    @Test func withoutADashboardDirectoryThePagesAre404() async throws {
        try await GatewayHarness().test { client in
            for path in ["/login", "/signup", "/dashboard/observe/inventory", "/app.js"] {
                let status = try await client.execute(uri: path, method: .get).status
                #expect(status == .notFound)
            }
        }
    }

    @Test func windowValuesCannotLeaveTheirScript() {
        var window = DashboardWindow()
        window.signupInvitationCode = "\"</script><script>alert(1)</script>\u{2028}&"
        let script = window.script()
        #expect(!script.contains("</script>") && !script.contains("<script>"))
        #expect(
            script.contains(
                #"window.SIGNUP_INVITATION_CODE = "\"\u003c/script\u003e\u003cscript\u003ealert(1)\u003c/script\u003e\u2028\u0026";"#
            ))
    }
}
