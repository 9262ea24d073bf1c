import AccessCore
import AccessRPC
import Foundation
import HTTPTypes
import Hummingbird

/// What an original request needs, by method and path prefix: the `--forward-auth-routes` file (<doc:Decisions>).
///
/// One route per line, `#` starts a comment: `METHOD PATH-PREFIX FEATURE ACCESS`, or `METHOD PATH-PREFIX
/// operation:NAME` to judge by an operation's own policy. METHOD is GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS or
/// `*`; FEATURE one of DecisionService's (INVENTORY … USER_ACTIONS, INGEST); ACCESS READ or READ_WRITE. The
/// longest matching prefix wins, a method-specific route over `*` on the same prefix; a request no route matches
/// is refused (fail closed). Paths are matched after percent-decoding and dot-segment removal — as an upstream
/// reads them — so `/public/../admin` is `/admin`; an encoded `/` or `\\` (`%2F`, `%5C`) is refused.
public struct ForwardAuthRoutes: Sendable, Equatable {
    public struct Route: Sendable, Equatable {
        /// Upper-case; nil for `*`.
        public var method: String?
        public var prefix: String
        public var check: DecisionCheck
    }

    public let routes: [Route]

    static let methods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    static let features: Set<String> = [
        "INVENTORY", "INVITE_MEMBERS", "BILLING", "API_TOKENS", "ADMIN_ACTIONS", "USER_ACTIONS", "INGEST",
    ]

    /// Parses and validates a route file; the error names the line. At most 10,000 routes.
    public init(parsing text: String) throws {
        var routes: [Route] = []
        var seen = Set<String>()
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            if words.isEmpty { continue }
            func fail(_ problem: String) -> RPCError {
                RPCError(.invalidArgument, "forward-auth routes, line \(index + 1): \(problem)")
            }
            guard words.count == 4 || (words.count == 3 && words[2].hasPrefix("operation:")) else {
                throw fail("expected METHOD PATH-PREFIX FEATURE ACCESS, or METHOD PATH-PREFIX operation:NAME")
            }
            let method = words[0].uppercased()
            guard method == "*" || Self.methods.contains(method) else { throw fail("unknown method \(words[0])") }
            let prefix = words[1]
            guard prefix.hasPrefix("/"), Self.normalized(prefix) == prefix else {
                throw fail("the path prefix must start with / and hold no %, ., .. or // segments: \(prefix)")
            }
            let check: DecisionCheck
            if words.count == 3 {
                let name = String(words[2].dropFirst("operation:".count))
                guard !name.isEmpty, name.allSatisfy({ $0.isLetter }) else { throw fail("bad operation name") }
                // A method of the contract (a typo would otherwise fail every check at run time).
                guard
                    ProtoCatalog.methodPaths.contains(where: {
                        $0.hasPrefix("/akto.access.v1.") && $0.hasSuffix("/" + name)
                    })
                else { throw fail("\(name) is no operation of akto.access.v1") }
                check = DecisionCheck(operation: name)
            } else {
                let feature = words[2].uppercased()
                let access = words[3].uppercased()
                guard Self.features.contains(feature) else { throw fail("unknown feature \(words[2])") }
                guard access == "READ" || access == "READ_WRITE" else {
                    throw fail("access must be READ or READ_WRITE, got \(words[3])")
                }
                check = DecisionCheck(feature: feature, access: access)
            }
            guard seen.insert("\(method) \(prefix)").inserted else { throw fail("\(method) \(prefix) appears twice") }
            routes.append(Route(method: method == "*" ? nil : method, prefix: prefix, check: check))
            guard routes.count <= 10_000 else { throw fail("more than 10,000 routes") }
        }
        guard !routes.isEmpty else { throw RPCError(.invalidArgument, "forward-auth routes: the file has no route") }
        // Longest prefix first; on the same prefix a method-specific route before `*`.
        self.routes = routes.sorted {
            $0.prefix.count != $1.prefix.count
                ? $0.prefix.count > $1.prefix.count : ($0.method != nil && $1.method == nil)
        }
    }

    /// The check an original request needs, nil when no route matches (or the path cannot be read).
    public func check(method: String, uri: String) -> DecisionCheck? {
        let rawPath = String(uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        guard let path = Self.normalized(rawPath) else { return nil }
        let method = method.uppercased()
        return routes.first { route in
            (route.method == nil || route.method == method) && Self.path(path, isUnder: route.prefix)
        }?.check
    }

    /// `prefix` matches whole segments when it ends without `/`: `/admin` covers `/admin` and `/admin/x`, not
    /// `/administrator`.
    static func path(_ path: String, isUnder prefix: String) -> Bool {
        guard path.hasPrefix(prefix) else { return false }
        if prefix.hasSuffix("/") || path.count == prefix.count { return true }
        return path[path.index(path.startIndex, offsetBy: prefix.count)] == "/"
    }

    /// The path as an upstream reads it: percent-decoded once, `//` collapsed, `.` and `..` segments resolved;
    /// nil for a path that does not decode, holds a NUL or a backslash, or climbs above the root.
    static func normalized(_ raw: String) -> String? {
        // An encoded slash or backslash is refused: upstreams disagree on whether `%2F` splits a segment, so no
        // reading of it can be matched safely.
        let lowered = raw.lowercased()
        guard raw.hasPrefix("/"), !lowered.contains("%2f"), !lowered.contains("%5c"),
            let decoded = raw.removingPercentEncoding, !decoded.contains("\0"), !decoded.contains("\\")
        else { return nil }
        var segments: [Substring] = []
        for segment in decoded.split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".": continue
            case "..":
                guard !segments.isEmpty else { return nil }
                segments.removeLast()
            default: segments.append(segment)
            }
        }
        let trailing = decoded.hasSuffix("/") && !segments.isEmpty ? "/" : ""
        return "/" + segments.joined(separator: "/") + trailing
    }
}

extension GatewayResponder {
    /// Headers a proxy may forward to the upstream: set here on a 200, so an upstream behind `auth_request_set`
    /// / `authResponseHeaders` gets them from us, never from the client.
    static let principalHeaders = [
        "x-akto-user-id", "x-akto-login", "x-akto-account-id", "x-akto-organization-id", "x-akto-role",
        "x-akto-base-role", "x-akto-scope", "x-akto-collections", "x-akto-credential",
    ]

    /// `/auth/check` for nginx `auth_request`, Envoy's HTTP `ext_authz` and Traefik `forwardAuth`: the original
    /// request's method and URI from `X-Forwarded-Method` / `X-Original-Method` and `X-Original-URI` /
    /// `X-Forwarded-Uri` (or, as Envoy sends it, the method of the check and the path after `/auth/check`), its
    /// credential and `x-context-source` as forwarded, the route table's check, decided
    /// by DecisionService. 200 with the principal's `X-Akto-*` headers, 401 or 403 with no body.
    func forwardAuth(_ request: Request, context: GatewayContext) async -> Response {
        guard let routes = configuration.forwardAuthRoutes else {
            return Self.error(.notFound, .notFound, "no route \(request.uri.path)")
        }
        let header = { (name: String) in HTTPField.Name(name).flatMap { request.headers[$0] } }
        // Every form of the original method and URI a request carries must agree: a proxy sets its own form and
        // passes the client's other headers through, so a client-sent `X-Forwarded-Method: GET` beside nginx's
        // `X-Original-Method: POST` is a forgery, refused rather than believed.
        guard let forwardedMethod = Self.agreed([header("x-forwarded-method"), header("x-original-method")])
        else { return Self.bare(.forbidden) }
        let method = forwardedMethod ?? request.method.rawValue
        // Envoy's ext_authz sends the original path after the configured prefix: /auth/check/<path>.
        let suffix = request.uri.path.dropFirst("/auth/check".count)
        let appended = suffix.isEmpty ? nil : String(suffix) + (request.uri.query.map { "?" + $0 } ?? "")
        guard let uri = Self.agreed([header("x-original-uri"), header("x-forwarded-uri"), appended])
        else { return Self.bare(.forbidden) }
        guard let check = routes.check(method: method, uri: uri ?? "/") else {
            return Self.bare(.forbidden)
        }
        var metadata: [MetadataEntry] = []
        for name in ["x-api-key", "authorization", "access-token", "x-request-id"] {
            if let value = header(name) { metadata.append(MetadataEntry(name, value)) }
        }
        let hasCredential = metadata.contains { $0.key != "x-request-id" }
        if !hasCredential, let session = Self.cookie(configuration.cookieName, in: request.headers) {
            // A cookie rides along with any cross-site request: an unsafe method must come from our own pages.
            // (On the headers the proxy forwarded.)
            if !["GET", "HEAD", "OPTIONS"].contains(method.uppercased()), !comesFromOurPages(request) {
                return Self.bare(.forbidden)
            }
            metadata.append(MetadataEntry("authorization", "Bearer " + session))
        }
        let result = await dispatcher.dispatch(
            DispatchRequest(
                method: Methods.DecisionService.authorize.path, metadata: metadata,
                message: AuthorizeRequest(contextSource: header("x-context-source") ?? "", check: check),
                peer: .address(clientAddress(request, context: context)), transport: .http))
        guard result.status.code == .ok, let answer = result.message as? AuthorizeResponse,
            let decision = answer.decision
        else {
            return Self.bare(result.status.code == .unauthenticated ? .unauthorized : .serviceUnavailable)
        }
        guard decision.allowed, let principal = answer.principal else {
            return Self.bare(decision.code == StatusCode.unauthenticated.grpcName ? .unauthorized : .forbidden)
        }
        var response = Self.bare(.ok)
        let values = [
            String(principal.userId), principal.login, String(principal.accountId), principal.organizationId,
            principal.role, principal.baseRole, principal.scope,
            principal.collectionLimited ? principal.collectionIds.map(String.init).joined(separator: ",") : "",
            principal.credential,
        ]
        for (name, value) in zip(Self.principalHeaders, values) {
            if let field = HTTPField.Name(name) { response.headers[field] = value }
        }
        return response
    }

    /// The one value the present candidates agree on: `.some(nil)` when none is present, nil when two differ.
    static func agreed(_ candidates: [String?]) -> String?? {
        let present = candidates.compactMap { $0 }
        guard let first = present.first else { return .some(nil) }
        return present.allSatisfy({ $0 == first }) ? .some(first) : nil
    }

    /// A forward-auth answer: a status and no body the proxy could pass on.
    static func bare(_ status: HTTPResponse.Status) -> Response {
        Response(status: status, headers: [.contentLength: "0"])
    }
}
