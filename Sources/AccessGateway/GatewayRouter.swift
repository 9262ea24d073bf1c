import AccessCore
import AccessRPC
import AccessWire
import HTTPTypes
import Hummingbird
import NIOCore

/// The gateway on Hummingbird's own parts: its trie `Router` (the `/api` routes generated from the contract in a
/// loop, never listed by hand), its `CORSMiddleware` behind an allow-list gate, its cookie types. What is ours is
/// only what Hummingbird has no part for: the JSON error bodies, the header-size limit and the security headers
/// (`GatewayBasics`).
///
/// Cost, measured (`BENCHMARKS.md` "Router"): the durable gateway mutation, this router against the
/// hand-written `switch` it replaced, release builds alternated in one session, medians of three runs each:
/// -6% at 1 connection, -9% at 16, -7% at 64, +12% at 1,024 — within this VM's run-to-run spread (±10-30%), so
/// no cost we can tell from noise; kept.
extension GatewayResponder {
    static let nonPostMethods: [HTTPRequest.Method] = [.get, .head, .put, .delete, .patch]

    func router() -> Router<GatewayContext> {
        let router = Router(context: GatewayContext.self)
        router.add(middleware: GatewayBasics(maxHeaderBytes: configuration.maxHeaderBytes))
        router.add(middleware: GatewayCORS(configuration: configuration))

        router.get("/healthz") { _, _ in health() }
        router.head("/healthz") { _, _ in health() }
        router.get("/metrics") { request, _ in metrics(request) }
        router.get("/openapi.json") { _, _ in openAPIDocument() }
        for path in ["/healthz", "/metrics", "/openapi.json"] {
            for method in [HTTPRequest.Method.post, .put, .delete, .patch] {
                router.on(RouterPath(path), method: method) { _, _ in Self.methodNotAllowed(path, allow: "GET") }
            }
        }

        // POST /api/<lowerCamel(Method)> for every method of the contract.
        for (path, route) in routes {
            router.post(RouterPath(path)) { request, context in await call(route, request, context: context) }
            router.on(RouterPath(path), method: .options) { _, _ in preflightRefused() }
            for method in Self.nonPostMethods {
                router.on(RouterPath(path), method: method) { _, _ in
                    Self.methodNotAllowed(path, allow: "POST, OPTIONS")
                }
            }
        }

        // Akto's dashboard: its sign-in, refresh and (with --dashboard-dir) page start-up and assets.
        router.post("/auth/login") { request, context in await signIn(request, context: context, signup: false) }
        router.post("/signup-email") { request, context in await signIn(request, context: context, signup: true) }
        router.post("/auth/resetPassword") { request, context in await resetPassword(request, context: context) }
        router.post("/auth/sendPasswordResetLink") { request, context in
            await forward(
                request, context: context, method: Methods.SessionService.sendPasswordResetLink.descriptor,
                fields: ["forgotPasswordEmail": "email"])
        }
        for path in ["/auth/login", "/signup-email", "/auth/resetPassword", "/auth/sendPasswordResetLink"] {
            for method in Self.nonPostMethods {
                router.on(RouterPath(path), method: method) { _, _ in Self.methodNotAllowed(path, allow: "POST") }
            }
        }
        // Forward-auth for nginx auth_request, Envoy ext_authz and Traefik forwardAuth (any method: proxies send
        // the original one, or GET).
        for method in [HTTPRequest.Method.get, .head, .post, .put, .patch, .delete] {
            for path in ["/auth/check", "/auth/check/**"] {
                router.on(RouterPath(path), method: method) { request, context in
                    await forwardAuth(request, context: context)
                }
            }
        }
        router.get("/dashboard/accessToken") { request, context in await refresh(request, context: context) }
        router.post("/dashboard/accessToken") { request, context in await refresh(request, context: context) }
        if let directory = configuration.dashboardDirectory {
            // The build's other files (scripts, styles, images): Hummingbird's FileMiddleware (streamed, ETag,
            // ranges, no `..`) for paths no route matched — never a dot-file or the raw index.html.
            router.add(middleware: AssetGuard())
            router.add(middleware: FileMiddleware(directory, searchForIndexHtml: false))
            for path in ["/login", "/signup", "/dashboard", "/dashboard/**"] {
                router.get(RouterPath(path)) { request, context in
                    await page(request, path: request.uri.path, context: context)
                }
            }
        }
        return router
    }

    static func methodNotAllowed(_ path: String, allow: String) -> Response {
        var response = error(
            .methodNotAllowed, .unimplemented,
            "\(path) accepts \(allow.replacingOccurrences(of: ", OPTIONS", with: "")) only")
        response.headers[.allow] = allow
        return response
    }
}

/// Keeps FileMiddleware off dot-files (`.env`, `.git/…`) and the un-rendered `index.html`.
struct AssetGuard: RouterMiddleware {
    typealias Context = GatewayContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let path = request.uri.path.removingPercentEncoding ?? request.uri.path
        let segments = path.split(separator: "/")
        if segments.contains(where: { $0.hasPrefix(".") }) || segments.last == "index.html" || path.hasPrefix("/api/") {
            throw HTTPError(.notFound)
        }
        return try await next(request, context)
    }
}

/// Every response: the header-size limit (431) before anything is routed, Hummingbird's errors (an unknown
/// path) as our JSON error body, and the headers no answer goes without.
struct GatewayBasics: RouterMiddleware {
    typealias Context = GatewayContext
    let maxHeaderBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var response: Response
        let headerBytes = request.headers.reduce(0) { $0 + $1.name.rawName.utf8.count + $1.value.utf8.count }
        if headerBytes > maxHeaderBytes {
            response = GatewayResponder.error(
                HTTPResponse.Status(code: 431, reasonPhrase: "Request Header Fields Too Large"), .resourceExhausted,
                "request headers exceed \(maxHeaderBytes) bytes")
        } else {
            do {
                response = try await next(request, context)
            } catch let error as HTTPError where error.status == .notFound {
                response = GatewayResponder.error(.notFound, .notFound, "no route \(request.uri.path)")
            } catch let error as HTTPError {
                response = GatewayResponder.error(
                    error.status, .invalidArgument, error.body ?? error.status.reasonPhrase)
            }
        }
        response.headers[.xContentTypeOptions] = "nosniff"
        // Answers are never cached, but for the dashboard's static files (FileMiddleware's, with an ETag), which
        // are revalidated.
        response.headers[.cacheControl] = response.headers[.eTag] == nil ? "no-store" : "no-cache"
        response.headers[HTTPField.Name("referrer-policy")!] = "no-referrer"
        return response
    }
}

/// CORS for `--allowed-origins` only, with credentials: Hummingbird's `CORSMiddleware` (origin-based) behind a
/// gate that fails closed. Its own allow-list form takes the origins as a variadic list only, so the gate keeps
/// every other origin away from it: a preflight from one is refused, and no CORS header ever reaches one.
struct GatewayCORS: RouterMiddleware {
    typealias Context = GatewayContext
    let allowedOrigins: Set<String>
    let cors: CORSMiddleware<GatewayContext>

    init(configuration: GatewayConfiguration) {
        allowedOrigins = configuration.allowedOrigins
        cors = CORSMiddleware(
            allowOrigin: .originBased,
            // What Akto's request.js sends: its token, the active account and (as a request header) ACAO.
            allowHeaders: [
                .contentType, HTTPField.Name("x-api-key")!, .authorization, HTTPField.Name("x-context-source")!,
                HTTPField.Name("x-request-id")!, HTTPField.Name("access-token")!, HTTPField.Name("account")!,
                HTTPField.Name("connect-timeout-ms")!, .accessControlAllowOrigin,
            ],
            allowMethods: [.post], allowCredentials: true,
            // The UI reads a new token from `access-token` and the no-access banner from X-No-Access-Error.
            exposedHeaders: ["X-Request-Id", "access-token", "X-No-Access-Error", "X-Next-Page-Token"],
            maxAge: .seconds(600))
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let origin = request.headers[.origin] else { return try await next(request, context) }
        guard allowedOrigins.contains(origin) else {
            if request.method == .options {
                return GatewayResponder.error(.forbidden, .permissionDenied, "origin not allowed")
            }
            var response = try await next(request, context)
            for name in [
                HTTPField.Name.accessControlAllowOrigin, .accessControlAllowCredentials, .accessControlExposeHeaders,
            ] {
                response.headers[name] = nil
            }
            return response
        }
        var response = try await cors.handle(request, context: context, next: next)
        if request.method == .options { response.status = .noContent }
        return response
    }
}
