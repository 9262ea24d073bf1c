import AccessCore
import AccessGateway
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import AccessGateway

@Suite struct ForwardAuthRouteTests {
    static let table = """
        # METHOD PATH-PREFIX FEATURE ACCESS
        GET    /inventory/       INVENTORY     READ
        *      /inventory/       INVENTORY     READ_WRITE
        *      /admin            ADMIN_ACTIONS READ_WRITE
        POST   /ingest           INGEST        READ_WRITE
        GET    /roles            operation:GetCustomRoles
        """

    @Test func theLongestPrefixAndTheMethodDecide() throws {
        let routes = try ForwardAuthRoutes(parsing: Self.table)
        #expect(routes.check(method: "GET", uri: "/inventory/collections?x=1")?.access == "READ")
        #expect(routes.check(method: "post", uri: "/inventory/collections")?.access == "READ_WRITE")
        #expect(routes.check(method: "GET", uri: "/admin")?.feature == "ADMIN_ACTIONS")
        #expect(routes.check(method: "DELETE", uri: "/admin/users/1")?.feature == "ADMIN_ACTIONS")
        #expect(routes.check(method: "GET", uri: "/administrator") == nil, "prefixes match whole segments")
        #expect(routes.check(method: "GET", uri: "/roles")?.operation == "GetCustomRoles")
        #expect(routes.check(method: "GET", uri: "/ingest") == nil, "POST only")
        #expect(routes.check(method: "GET", uri: "/elsewhere") == nil, "no route: refused")
    }

    @Test func pathsAreMatchedAsTheUpstreamReadsThem() throws {
        let routes = try ForwardAuthRoutes(parsing: Self.table)
        // A GET-only reader route cannot be stretched into /admin by dot segments, encoding or doubled slashes.
        #expect(routes.check(method: "GET", uri: "/inventory/../admin/x")?.feature == "ADMIN_ACTIONS")
        #expect(routes.check(method: "GET", uri: "/inventory/%2e%2e/admin")?.feature == "ADMIN_ACTIONS")
        #expect(routes.check(method: "GET", uri: "//admin")?.feature == "ADMIN_ACTIONS")
        #expect(routes.check(method: "GET", uri: "/inventory/./a")?.access == "READ")
        #expect(routes.check(method: "GET", uri: "/../inventory/a") == nil, "above the root")
        #expect(routes.check(method: "GET", uri: "/inventory/%zz") == nil, "does not decode")
        #expect(routes.check(method: "GET", uri: "/inventory/a%00b") == nil)
        #expect(routes.check(method: "GET", uri: "/inventory\\..\\admin") == nil)
        #expect(routes.check(method: "GET", uri: "/admin%2F../inventory/a") == nil, "encoded slash")
        #expect(routes.check(method: "GET", uri: "/inventory/a%5c..") == nil, "encoded backslash")
    }

    @Test(arguments: [
        ("", "no route"), ("GET /x", "expected"), ("FETCH /x INVENTORY READ", "unknown method"),
        ("GET x INVENTORY READ", "must start with /"), ("GET /a/../b INVENTORY READ", "must start with /"),
        ("GET /x NOPE READ", "unknown feature"), ("GET /x INVENTORY WRITE_ONLY", "access must be"),
        ("GET /x INVENTORY READ\nGET /x BILLING READ", "line 2: GET /x appears twice"),
        ("GET /x operation:", "bad operation name"), ("GET /x operation:CreateCustomRol", "no operation of"),
    ])
    func aBadTableIsRefusedNamingTheLine(text: String, problem: String) {
        let error = #expect(throws: RPCError.self) { try ForwardAuthRoutes(parsing: text) }
        #expect(error?.message.contains(problem) == true, "\(error?.message ?? "")")
    }
}

@Suite struct ForwardAuthGatewayTests {
    static func harness() throws -> GatewayHarness {
        let routes = try ForwardAuthRoutes(parsing: ForwardAuthRouteTests.table)
        return try GatewayHarness { $0.forwardAuthRoutes = routes }
    }

    static func check(_ method: String, _ uri: String, _ headers: HTTPFields = [:]) -> HTTPFields {
        var all: HTTPFields = [HTTPField.Name("x-original-method")!: method, HTTPField.Name("x-original-uri")!: uri]
        all.append(contentsOf: headers)
        return all
    }

    @Test func anAllowedRequestGetsThePrincipalAndARefusedOneNoBody() async throws {
        try await Self.harness().test { client in
            let token = try await signup(client)
            let key = try await client.post(
                "/api/addApiToken", #"{"tokenUtility":"EXTERNAL_API"}"#, headers: bearer(token))
            guard case .array(let list)? = key.json?["apiTokenList"], case .string(let apiKey)? = list.first?["key"]
            else {
                Issue.record("no key")
                return
            }
            let keyHeader: HTTPFields = [HTTPField.Name("x-api-key")!: apiKey]
            let ok = try await client.execute(
                uri: "/auth/check", method: .get, headers: Self.check("POST", "/admin/users", keyHeader))
            #expect(ok.status == .ok)
            #expect(ok.headers[HTTPField.Name("x-akto-login")!] == "admin@example.com")
            #expect(ok.headers[HTTPField.Name("x-akto-account-id")!] == "1000000")
            #expect(ok.headers[HTTPField.Name("x-akto-role")!] == "ADMIN")
            #expect(ok.headers[HTTPField.Name("x-akto-credential")!] == "API_KEY")
            #expect(ok.body.readableBytes == 0)

            // A client-sent second form of the method or URI that disagrees with the proxy's is a forgery: 403.
            var forgedMethod = Self.check("POST", "/admin/users", keyHeader)
            forgedMethod[HTTPField.Name("x-forwarded-method")!] = "GET"
            #expect(
                try await client.execute(uri: "/auth/check", method: .get, headers: forgedMethod).status == .forbidden)
            var forgedURI = Self.check("GET", "/elsewhere", keyHeader)
            forgedURI[HTTPField.Name("x-forwarded-uri")!] = "/inventory/a"
            #expect(try await client.execute(uri: "/auth/check", method: .get, headers: forgedURI).status == .forbidden)
            var agreeing = Self.check("GET", "/inventory/a", keyHeader)
            agreeing[HTTPField.Name("x-forwarded-method")!] = "GET"
            #expect(try await client.execute(uri: "/auth/check", method: .get, headers: agreeing).status == .ok)

            // Envoy's form: the original method, and the original path after /auth/check.
            #expect(
                try await client.execute(uri: "/auth/check/inventory/a?x=1", method: .get, headers: keyHeader).status
                    == .ok)
            #expect(
                try await client.execute(uri: "/auth/check/elsewhere", method: .delete, headers: keyHeader).status
                    == .forbidden)

            // No credential: 401; an unknown path: 403; both without a body.
            let anonymous = try await client.execute(
                uri: "/auth/check", method: .get, headers: Self.check("GET", "/inventory/a"))
            #expect(anonymous.status == .unauthorized && anonymous.body.readableBytes == 0)
            let unrouted = try await client.execute(
                uri: "/auth/check", method: .get, headers: Self.check("GET", "/nowhere", keyHeader))
            #expect(unrouted.status == .forbidden && unrouted.body.readableBytes == 0)

            // A deleted key is refused on the very next check.
            guard case .number(let id)? = list.first?["id"] else { return }
            _ = try await client.post("/api/deleteApiToken", #"{"apiTokenId":\#(id)}"#, headers: bearer(token))
            let deleted = try await client.execute(
                uri: "/auth/check", method: .get, headers: Self.check("GET", "/inventory/a", keyHeader))
            #expect(deleted.status == .unauthorized)
        }
    }

    @Test func aCookieCheckOfAnUnsafeMethodAppliesTheCSRFRule() async throws {
        try await Self.harness().test { client in
            let token = try await signup(client)
            let cookie: HTTPFields = [.cookie: "akto_session=\(token)"]
            let read = try await client.execute(
                uri: "/auth/check", method: .get, headers: Self.check("GET", "/inventory/a", cookie))
            #expect(read.status == .ok)
            let crossSite = try await client.execute(
                uri: "/auth/check", method: .get, headers: Self.check("POST", "/inventory/a", cookie))
            #expect(crossSite.status == .forbidden)
            var sameOrigin = cookie
            sameOrigin[HTTPField.Name("sec-fetch-site")!] = "same-origin"
            let fromOurPages = try await client.execute(
                uri: "/auth/check", method: .get, headers: Self.check("POST", "/inventory/a", sameOrigin))
            #expect(fromOurPages.status == .ok)
        }
    }

    @Test func withoutARouteTableThereIsNoCheck() async throws {
        try await GatewayHarness().test { client in
            let response = try await client.execute(uri: "/auth/check", method: .get)
            #expect(response.status == .notFound)
        }
    }
}
