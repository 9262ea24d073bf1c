import AccessCore
import AccessGateway
import AccessRPC
import AccessWire
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@Suite struct GatewayRoutingTests {
    /// The 18 operations of SPEC.md at their Akto paths.
    static let seedPaths = [
        "/api/logout", "/api/createNewAccount", "/api/goToAccount", "/api/updateUsernameAndOrganization",
        "/api/removeInvitation", "/api/resetUserPassword", "/api/createCustomRole", "/api/updateCustomRole",
        "/api/deleteCustomRole", "/api/makeAdmin", "/api/updateUserScopeRoleMapping", "/api/applyAccessType",
        "/api/resetCollectionAccessTypes", "/api/addApiToken", "/api/deleteApiToken", "/api/saveSubscription",
        "/api/provisionSubscription", "/api/refreshUsageDataForOrg",
    ]

    @Test func everySeedEndpointAnswersAtItsPath() async throws {
        try await GatewayHarness().test { client in
            for path in Self.seedPaths {
                let response = try await client.post(path, "{}")
                // Without credentials: 401 where implemented, 501 where not yet; never 404.
                #expect(
                    response.status == .unauthorized || response.status == .notImplemented,
                    "\(path): \(response.status)")
            }
        }
    }

    @Test func theSameCallGivesTheSameResultOverHTTPAndTheDispatcher() async throws {
        let h = try GatewayHarness(refuseBytes: false)
        try await h.test { client in
            let token = try await signup(client)
            let key = try await client.post(
                "/api/addApiToken", #"{"tokenUtility":"EXTERNAL_API"}"#, headers: bearer(token))
            guard case .array(let list)? = key.json?["apiTokenList"], case .string(let apiKey)? = list.first?["key"]
            else {
                Issue.record("no key")
                return
            }
            let body =
                #"{"roleName":"security-analyst","baseRole":"MEMBER","apiCollectionIds":[1],"defaultInviteRole":false}"#
            let http = try await client.post(
                "/api/createCustomRole", body, headers: [HTTPField.Name("x-api-key")!: apiKey])
            #expect(http.status == .ok)
            // Three HTTP calls, and the registry's protobuf codec never ran: JSON went straight to Swift values.
            #expect(h.codec.uses == 0)
            // The same request straight through the dispatcher (what the socket server does) now conflicts, and the
            // HTTP answer's role equals what GetCustomRoles returns over the dispatcher.
            let schema = try #require(SchemaRegistry.shared.message("akto.access.v1.CreateCustomRoleRequest"))
            let direct = await h.dispatcher.dispatch(
                DispatchRequest(
                    method: Methods.RoleService.createCustomRole.path, metadata: [MetadataEntry("x-api-key", apiKey)],
                    payload: try MessageCodec.jsonToWire(Array(body.utf8), schema: schema)))
            #expect(direct.status.code == .alreadyExists)
            let roles = await h.dispatcher.dispatch(
                DispatchRequest(
                    method: Methods.RoleService.getCustomRoles.path, metadata: [MetadataEntry("x-api-key", apiKey)],
                    payload: []))
            let rolesJSON = try MessageCodec.wireToJSON(
                roles.payload,
                schema: try #require(SchemaRegistry.shared.message("akto.access.v1.GetCustomRolesResponse")))
            guard case .array(let listed)? = rolesJSON["roles"] else {
                Issue.record("no roles")
                return
            }
            #expect(listed.first == http.json?["role"])
        }
    }

    @Test func wrongMethodsUnknownPathsAndBuiltins() async throws {
        try await GatewayHarness().test { client in
            let get = try await client.execute(uri: "/api/me", method: .get)
            #expect(get.status == .methodNotAllowed)
            #expect(get.headers[.allow] == "POST, OPTIONS")
            #expect(try await client.post("/api/noSuchThing").status == .notFound)
            #expect(try await client.post("/api/noSuchThing").errorCode == "not_found")
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .ok && health.json?["status"] == .string("SERVING"))
            #expect(health.headers[.server] == nil)
            #expect(health.headers[.xContentTypeOptions] == "nosniff")
            #expect(try await client.execute(uri: "/healthz", method: .post).status == .methodNotAllowed)
        }
    }

    @Test func errorsCarryCodeMessageViolationsAndTheMappedStatus() async throws {
        try await GatewayHarness().test { client in
            let response = try await client.post("/api/signup", #"{"email":"nope","password":"Secret123-horse"}"#)
            #expect(response.status == .badRequest)
            #expect(
                response.json
                    == .object([
                        ("code", .string("invalid_argument")), ("message", .string("email: is not an e-mail address")),
                        (
                            "violations",
                            .array([
                                .object([
                                    ("field", .string("email")), ("description", .string("is not an e-mail address")),
                                ])
                            ])
                        ),
                        ("actionErrors", .array([.string("email: is not an e-mail address")])),
                    ]))
            let unauthenticated = try await client.post("/api/me")
            #expect(unauthenticated.status == .unauthorized && unauthenticated.errorCode == "unauthenticated")
        }
    }

    @Test(arguments: [
        (StatusCode.cancelled, 499), (.invalidArgument, 400), (.failedPrecondition, 400), (.outOfRange, 400),
        (.unauthenticated, 401), (.permissionDenied, 403), (.notFound, 404), (.alreadyExists, 409), (.aborted, 409),
        (.resourceExhausted, 429), (.unimplemented, 501), (.unavailable, 503), (.deadlineExceeded, 504),
        (.internal, 500), (.unknown, 500), (.dataLoss, 500), (.ok, 200),
    ])
    func statusMappingFollowsGRPCGateway(code: StatusCode, http: Int) {
        #expect(code.httpStatus.code == http)
    }

    @Test func requestIDsPassThroughOrAreGenerated() async throws {
        try await GatewayHarness().test { client in
            let given = try await client.post("/api/me", headers: [HTTPField.Name("x-request-id")!: "trace-42"])
            #expect(given.headers[HTTPField.Name("x-request-id")!] == "trace-42")
            let generated = try await client.post("/api/me")
            #expect(generated.headers[HTTPField.Name("x-request-id")!]?.count == 32)
        }
    }
}

@Suite struct GatewayBrowserSafetyTests {
    @Test func loginSetsAnHttpOnlyLaxCookieAndLogoutExpiresIt() async throws {
        try await GatewayHarness().test { client in
            let response = try await client.post(
                "/api/signup",
                #"{"email":"admin@example.com","password":"Secret123-horse","setupToken":"\#(GatewayHarness.setupToken)"}"#
            )
            let cookie = try #require(response.headers[.setCookie])
            #expect(cookie.hasPrefix("akto_session="))
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && !cookie.contains("Secure"))
            let session = String(cookie.prefix { $0 != ";" })
            let logout = try await client.post(
                "/api/logout", headers: [.cookie: session, HTTPField.Name("sec-fetch-site")!: "same-origin"])
            #expect(logout.status == .ok)
            #expect(logout.headers[.setCookie]?.contains("Max-Age=0") == true)
            let after = try await client.post(
                "/api/me", headers: [.cookie: session, HTTPField.Name("sec-fetch-site")!: "same-origin"])
            #expect(after.status == .unauthorized)
        }
    }

    @Test func httpsDeploymentsGetSecureHostPrefixedCookies() async throws {
        try await GatewayHarness { $0.publicBaseURL = "https://app.example.com" }.test { client in
            let response = try await client.post(
                "/api/signup",
                #"{"email":"admin@example.com","password":"Secret123-horse","setupToken":"\#(GatewayHarness.setupToken)"}"#
            )
            let cookie = try #require(response.headers[.setCookie])
            #expect(
                cookie.hasPrefix("__Host-akto_session=") && cookie.contains("; Secure") && cookie.contains("Path=/"))
        }
    }

    @Test func cookieRequestsMustPassTheCSRFCheck() async throws {
        try await GatewayHarness().test { client in
            let token = try await signup(client)
            let cookie: HTTPFields = [.cookie: "akto_session=" + token]
            func me(_ extra: HTTPFields, contentType: String? = "application/json") async throws -> HTTPResponse.Status
            {
                var headers = cookie
                headers.append(contentsOf: extra)
                if let contentType { headers[.contentType] = contentType }
                return try await client.execute(
                    uri: "/api/me", method: .post, headers: headers, body: ByteBuffer(string: "{}")
                ).status
            }
            #expect(try await me([:]) == .forbidden)  // neither Sec-Fetch-Site nor Origin
            #expect(try await me([HTTPField.Name("sec-fetch-site")!: "cross-site"]) == .forbidden)
            #expect(try await me([.origin: "https://evil.example.com"]) == .forbidden)
            #expect(
                try await me([HTTPField.Name("sec-fetch-site")!: "same-origin"], contentType: "text/plain")
                    == .unsupportedMediaType)
            #expect(try await me([HTTPField.Name("sec-fetch-site")!: "same-origin"]) == .ok)
            #expect(try await me([.origin: "https://app.example.com"]) == .ok)
            // Header credentials need no CSRF check (a browser cannot add them cross-site without CORS).
            #expect(try await client.post("/api/me", headers: bearer(token)).status == .ok)
        }
    }

    /// Login CSRF (<doc:Hardening>): the calls that start a session refuse what a browser marks as cross-site even
    /// without a cookie; curl-like clients (neither Origin nor Sec-Fetch-Site) still pass.
    @Test(arguments: ["/api/login", "/api/signup", "/api/resetPassword"])
    func sessionStartingCallsRefuseCrossSiteRequestsWithoutACookie(path: String) async throws {
        try await GatewayHarness().test { client in
            _ = try await signup(client)
            let body =
                path == "/api/resetPassword"
                ? #"{"token":"nope","newPassword":"Another-Secret-77"}"#
                : #"{"email":"admin@example.com","password":"Secret123-horse"}"#
            func send(_ headers: HTTPFields, contentType: String? = "application/json") async throws -> TestResponse {
                var all = headers
                if let contentType { all[.contentType] = contentType }
                return try await client.execute(uri: path, method: .post, headers: all, body: ByteBuffer(string: body))
            }
            let site = HTTPField.Name("sec-fetch-site")!
            for refused: HTTPFields in [
                [site: "cross-site"], [site: "same-site"], [.origin: "https://evil.example.com"],
                [.origin: "https://evil.example.com", site: "cross-site"],
            ] {
                let response = try await send(refused)
                #expect(response.status == .forbidden, "\(refused)")
                #expect(
                    !response.headers[values: .setCookie].contains {
                        $0.contains("akto_session=") && !$0.contains("Max-Age=0")
                    })
            }
            for contentType in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
                #expect(try await send([:], contentType: contentType).status == .unsupportedMediaType)
            }
            #expect(try await send([:], contentType: nil).status == .unsupportedMediaType)
            // Neither header (curl, SDKs), our own pages, an allowed origin: judged on their merits.
            for passes: HTTPFields in [
                [:], [site: "same-origin"], [site: "none"], [.origin: "https://app.example.com"],
                [.origin: "https://app.example.com", site: "cross-site"], [.origin: "http://localhost:8080"],
            ] {
                let response = try await send(passes)
                let message: String? = if case .string(let text)? = response.json?["message"] { text } else { nil }
                #expect(response.status != .unsupportedMediaType && !(message ?? "").contains("CSRF"), "\(passes)")
            }
        }
    }

    /// <doc:Hardening>: over HTTP an empty install goes only to the holder of its setup token.
    @Test func theFirstSignupOverHTTPNeedsTheSetupToken() async throws {
        try await GatewayHarness().test { client in
            for body in [
                #"{"email":"admin@example.com","password":"Secret123-horse"}"#,
                #"{"email":"admin@example.com","password":"Secret123-horse","setupToken":"guess"}"#,
            ] {
                let refused = try await client.post("/api/signup", body)
                #expect(
                    refused.status == .forbidden && refused.errorCode == "permission_denied",
                    "\(String(buffer: refused.body))")
            }
            _ = try await signup(client)
            // Used once: a second first-user signup is refused as the install now has users.
            let again = try await client.post(
                "/api/signup",
                #"{"email":"other@example.com","password":"Secret123-horse","setupToken":"\#(GatewayHarness.setupToken)"}"#
            )
            #expect(again.status != .ok)
        }
    }

    @Test func corsOnlyForConfiguredOrigins() async throws {
        try await GatewayHarness().test { client in
            let allowed = try await client.execute(
                uri: "/api/me", method: .options,
                headers: [.origin: "https://app.example.com", .accessControlRequestMethod: "POST"])
            #expect(allowed.status == .noContent)
            #expect(allowed.headers[.accessControlAllowOrigin] == "https://app.example.com")
            #expect(allowed.headers[.accessControlAllowCredentials] == "true")
            #expect(allowed.headers[.accessControlAllowMethods] == "POST")
            let refused = try await client.execute(
                uri: "/api/me", method: .options, headers: [.origin: "https://evil.example.com"])
            #expect(refused.status == .forbidden && refused.headers[.accessControlAllowOrigin] == nil)
            let simple = try await client.post("/api/me", headers: [.origin: "https://evil.example.com"])
            #expect(simple.headers[.accessControlAllowOrigin] == nil)
        }
    }
}

@Suite struct GatewayLimitTests {
    @Test func bodiesOverTheLimitGet413() async throws {
        try await GatewayHarness { $0.maxBodyBytes = 256 }.test { client in
            let big = #"{"email":""# + String(repeating: "a", count: 400) + #""}"#
            let response = try await client.post("/api/login", big)
            #expect(response.status == .contentTooLarge)
            #expect(response.errorCode == "resource_exhausted")
        }
    }

    @Test func oversizedHeadersGet431() async throws {
        try await GatewayHarness { $0.maxHeaderBytes = 512 }.test { client in
            let response = try await client.post(
                "/api/me", headers: [HTTPField.Name("x-padding")!: String(repeating: "p", count: 1000)])
            #expect(response.status.code == 431)
        }
    }

    @Test func deepOrBrokenJSONIsABadRequestAndUnknownFieldsAreIgnored() async throws {
        try await GatewayHarness().test { client in
            let deep = #"{"email":"# + String(repeating: "[", count: 40) + String(repeating: "]", count: 40) + "}"
            #expect(try await client.post("/api/login", deep).status == .badRequest)
            #expect(try await client.post("/api/login", "{nope").status == .badRequest)
            _ = try await signup(client)
            let login = try await client.post(
                "/api/login",
                #"{"email":"admin@example.com","password":"Secret123-horse","isAdmin":true,"accountId":1,"role":null}"#)
            #expect(login.status == .ok)
            #expect(try await client.post("/api/login", #"{"email":null,"password":"x"}"#).status == .badRequest)
        }
    }
}

@Suite struct GatewayObservabilityTests {
    @Test func metricsCountBothTransports() async throws {
        let h = try GatewayHarness(refuseBytes: false) { $0.metricsBearerToken = "scrape-secret" }
        _ = await h.dispatcher.dispatch(DispatchRequest(method: Methods.Health.check.path, transport: .socket))
        try await h.test { client in
            _ = try await client.post("/api/me")
            let text = String(
                buffer: try await client.execute(uri: "/metrics", method: .get, headers: bearer("scrape-secret")).body)
            #expect(
                text.contains(
                    #"akto_access_rpc_requests_total{method="/akto.rpc.v1.Health/Check",code="OK",transport="socket"} 1"#
                ))
            #expect(
                text.contains(#"method="/akto.access.v1.SessionService/Me",code="UNAUTHENTICATED",transport="http"} 1"#)
            )
            #expect(text.contains("akto_access_rpc_duration_seconds_bucket"))
        }
    }

    /// <doc:Hardening>: the browser-facing listener has no public `/metrics`: 404 without a configured token, 401
    /// without the right one.
    @Test func metricsOnTheGatewayNeedTheBearerToken() async throws {
        try await GatewayHarness().test { client async throws in
            #expect(try await client.execute(uri: "/metrics", method: .get).status == .notFound)
        }
        try await GatewayHarness { $0.metricsBearerToken = "scrape-secret" }.test { client async throws in
            #expect(try await client.execute(uri: "/metrics", method: .get).status == .unauthorized)
            for wrong in ["scrape-secreT", "scrape-secret2", "", "scrape"] {
                #expect(
                    try await client.execute(uri: "/metrics", method: .get, headers: bearer(wrong)).status
                        == .unauthorized)
            }
            #expect(
                try await client.execute(uri: "/metrics", method: .get, headers: bearer("scrape-secret")).status == .ok)
        }
    }

    @Test func openAPIDescribesEveryRoute() async throws {
        try await GatewayHarness().test { client in
            let document = try #require(try await client.execute(uri: "/openapi.json", method: .get).json)
            #expect(document["openapi"] == .string("3.1.0"))
            guard case .object(let paths)? = document["paths"] else {
                Issue.record("no paths")
                return
            }
            for path in GatewayRoutingTests.seedPaths { #expect(paths.contains { $0.key == path }, "\(path)") }
            #expect(document["components"]?["securitySchemes"]?["apiKey"]?["name"] == .string("X-API-KEY"))
            #expect(
                document["components"]?["schemas"]?["akto_access_v1_CreateCustomRoleRequest"]?["properties"]?[
                    "roleName"] != nil)
        }
    }

    @Test func aLiveServerOnPortZeroAnswers() async throws {
        try await GatewayHarness().test(.live) { client in
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            _ = try await signup(client)
            let login = try await client.post(
                "/api/login", #"{"email":"admin@example.com","password":"Secret123-horse"}"#)
            #expect(login.status == .ok)
        }
    }
}
