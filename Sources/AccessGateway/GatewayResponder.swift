import Synchronization
import AccessCore
import AccessRPC
import AccessWire
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Answers every HTTP request of the gateway: `POST /api/<lowerCamel(Method)>` for each `akto.access.v1`
/// method of the registry (never listed by hand), plus `GET /healthz`, `/metrics` and `/openapi.json`.
///
/// An API call is JSON -> the request's Swift type (AccessWire's proto3 JSON rules) -> the shared `Dispatcher`
/// -> the response's Swift type -> JSON: no protobuf bytes on this path. The dispatcher owns the call policy
/// (access, deadline — `Connect-Timeout-Ms` when the caller gives one); the gateway adds only HTTP concerns:
/// cookies, CORS, CSRF, limits and the status mapping.
public struct GatewayResponder: Sendable {
    public typealias Context = GatewayContext

    let dispatcher: Dispatcher
    let configuration: GatewayConfiguration
    let servingState: ServingState
    let routes: [String: GatewayRoute]
    let openAPI: LazyDocument
    let metricsText: @Sendable () -> [UInt8]

    /// Metadata keys taken from HTTP headers; nothing else reaches the dispatcher.
    static let forwardedHeaders = ["x-api-key", "authorization", "access-token", "x-context-source", "x-request-id"]

    public init(
        dispatcher: Dispatcher, configuration: GatewayConfiguration, servingState: ServingState,
        metricsText: @escaping @Sendable () -> [UInt8]
    ) {
        self.dispatcher = dispatcher
        self.configuration = configuration
        self.servingState = servingState
        self.metricsText = metricsText
        self.routes = GatewayRoute.all(registry: dispatcher.registry)
        let (routes, configuration) = (self.routes, configuration)
        self.openAPI = LazyDocument {
            Array(OpenAPIDocument.build(routes: routes, configuration: configuration).serialized().utf8)
        }
    }

    /// `GET /healthz` (and HEAD).
    func health() -> Response {
        let serving = servingState.isServing
        return Self.json(
            serving ? .ok : .serviceUnavailable, .object([("status", .string(serving ? "SERVING" : "NOT_SERVING"))]))
    }

    /// `GET /metrics` on the public listener: only behind the configured bearer token (the metrics name methods,
    /// codes and volumes); without one the path does not exist here.
    func metrics(_ request: Request) -> Response {
        guard let expected = configuration.metricsBearerToken else {
            return Self.error(.notFound, .notFound, "no route \(request.uri.path)")
        }
        guard let given = request.headers[.authorization], Self.constantTimeEquals(given, "Bearer " + expected) else {
            var response = Self.error(.unauthorized, .unauthenticated, "metrics need the configured bearer token")
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: metricsText())))
    }

    func openAPIDocument() -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: openAPI.bytes)))
    }

    /// A preflight that `GatewayCORS` did not answer: it carried no allowed `Origin`.
    func preflightRefused() -> Response {
        Self.error(.forbidden, .permissionDenied, "origin not allowed")
    }

    func call(_ method: GatewayRoute, _ request: Request, context: GatewayContext) async -> Response {
        // The call's deadline starts when its head arrives: reading the body counts toward it.
        let startedAt = ContinuousClock.now
        let timeout: Duration?
        switch Self.callerTimeout(request.headers) {
        case .success(let given): timeout = given
        case .failure(let refusal): return refusal
        }
        let deadline = dispatcher.deadline(for: timeout, from: startedAt)
        // Credentials: headers first; the session cookie only when no header credential is present.
        var metadata: [MetadataEntry] = []
        for name in Self.forwardedHeaders {
            if let field = HTTPField.Name(name), let value = request.headers[field] {
                metadata.append(MetadataEntry(name, value))
            }
        }
        let hasHeaderCredential = metadata.contains { $0.key == "authorization" || $0.key == "x-api-key" }
        // Login CSRF: the calls that start a session (or set a password) refuse what a browser marks as
        // cross-site whether or not a cookie is present; a client sending neither Origin nor Sec-Fetch-Site still
        // passes.
        if Self.sessionStartingMethods.contains(method.descriptor.path), let refusal = crossSiteRefusal(request) {
            return refusal
        }
        let dashboardAuth = metadata.contains { $0.key == "access-token" }
        if !hasHeaderCredential, !dashboardAuth,
            let session = Self.cookie(configuration.cookieName, in: request.headers)
        {
            if let refusal = csrfRefusal(request) { return refusal }
            metadata.append(MetadataEntry("authorization", "Bearer " + session))
        }

        let body: ByteBuffer
        switch await readBody(request, deadline: deadline) {
        case .success(let collected): body = collected
        case .failure(let refusal): return refusal
        }
        let json = body.readableBytes == 0 ? Array("{}".utf8) : Array(buffer: body)
        let invocation = await invoke(
            method, json: json, metadata: metadata, startedAt: startedAt, timeout: timeout, request: request,
            context: context)
        var response: Response
        switch invocation.outcome {
        case .success(let value):
            response = Self.json(.ok, Self.body(of: value, method: method, dashboard: dashboardAuth))
            if let next = value["nextPageToken"], case .string(let token) = next, !token.isEmpty,
                HTTPBindings.byPath[method.descriptor.path] != nil
            {
                response.headers[HTTPField.Name("x-next-page-token")!] = token
            }
            setSessionCookie(for: method, from: value, on: &response)
        case .failure(let error):
            // A browser without a credential (a fresh tab: its token lives in sessionStorage) is answered like an
            // expired token, so Akto's UI refreshes it from the cookie instead of leaving for /login.
            let browserWithoutCredential =
                !hasHeaderCredential && !dashboardAuth
                && Self.cookie(configuration.cookieName, in: request.headers) == nil
                && request.headers[HTTPField.Name("sec-fetch-site")!]?.lowercased() == "same-origin"
            // Only where a credential is what is missing: an anonymous call (a wrong password at /api/login) keeps
            // its 401, or the UI would refresh and retry a sign-in.
            response = Self.error(
                error, dashboard: method.requiresAuthentication && (dashboardAuth || browserWithoutCredential))
        }
        if method.descriptor == Methods.SessionService.logout.descriptor {
            response.setCookie(sessionCookie(value: "", maxAge: 0))
            response.setCookie(refreshCookie(value: "", maxAge: 0))
        }
        if let id = invocation.requestID { response.headers[HTTPField.Name("x-request-id")!] = id }
        return response
    }

    struct Invocation {
        var outcome: Result<JSONValue, RPCError>
        var requestID: String?
    }

    /// JSON -> the request type -> the dispatcher -> the response type -> JSON, for the `/api` routes and the
    /// dashboard's own ones: the messages cross as Swift values, never as protobuf bytes.
    func invoke(
        _ method: GatewayRoute, json: [UInt8], metadata: [MetadataEntry], startedAt: ContinuousClock.Instant,
        timeout: Duration? = nil, request: Request, context: GatewayContext
    ) async -> Invocation {
        var message: (any ProtoMessage)?
        // A method of the contract this server does not implement goes to the dispatcher without a body, which
        // answers UNIMPLEMENTED.
        if let registered = dispatcher.registry.method(method.descriptor.path) {
            do {
                let limits = dispatcher.limits.codec
                let document = Self.withUpdateMask(
                    try JSONValue.parse(json, maxDepth: limits.maxJSONDepth), schema: method.requestSchema)
                message = try MessageCodec.decodeJSON(registered.requestType, from: document, limits: limits)
            } catch let error as RPCError {
                return Invocation(outcome: .failure(error))
            } catch {
                return Invocation(outcome: .failure(RPCError(.invalidArgument, "the body is not valid JSON")))
            }
        }
        let result = await dispatcher.dispatch(
            DispatchRequest(
                method: method.descriptor.path, metadata: metadata, message: message, timeout: timeout,
                startedAt: startedAt, peer: .address(clientAddress(request, context: context)), transport: .http))
        let requestID = result.metadata.first(where: { $0.key == "x-request-id" })?.value
        guard result.status.code == .ok else {
            return Invocation(
                outcome: .failure(result.status.error ?? RPCError(.unknown, "unknown error")), requestID: requestID)
        }
        do {
            guard let response = result.message else { throw RPCError(.internal, "no response message") }
            return Invocation(outcome: .success(try MessageCodec.encodeJSON(response)), requestID: requestID)
        } catch {
            return Invocation(
                outcome: .failure(RPCError(.internal, "could not encode the response")), requestID: requestID)
        }
    }

    /// The HTTP body of a 2xx answer: the response field the method's binding names (`response_body`, or
    /// `dashboard_response_body` for a caller authenticated the dashboard's way), else the whole message.
    static func body(of value: JSONValue, method: GatewayRoute, dashboard: Bool) -> JSONValue {
        guard let binding = HTTPBindings.byPath[method.descriptor.path],
            let name = (dashboard ? binding.dashboardResponseBody : nil) ?? binding.responseBody,
            let field = method.responseSchema.fields.first(where: { $0.name == name }),
            case .object(let members) = value
        else { return value }
        return members.first { $0.key == field.jsonName }?.value ?? .null
    }

    /// For a request type with an `update_mask` (AIP-134) that the body does not send: the mask of the JSON keys
    /// present, so that over HTTP a key sent with an empty value (`"apiCollectionIds": []`) clears the field and
    /// a key left out keeps it, as Akto's JSON clients expect. Other bodies pass through untouched.
    static func withUpdateMask(_ document: JSONValue, schema: MessageSchema) -> JSONValue {
        guard let mask = schema.fields.first(where: { $0.name == "update_mask" && $0.isRepeated }),
            case .object(let members) = document,
            !members.contains(where: { $0.key == mask.jsonName || $0.key == mask.name })
        else { return document }
        let present = schema.fields.filter { field in
            field.name != mask.name && members.contains { $0.key == field.jsonName || $0.key == field.name }
        }
        return .object(members + [(mask.jsonName, .array(present.map { .string($0.name) }))])
    }

    /// The caller's timeout from `Connect-Timeout-Ms` (the Connect protocol's header; at most 10 digits, as
    /// Connect says): nil when absent; 400 when it is not a positive whole number. The dispatcher caps it at
    /// `--max-timeout`.
    static func callerTimeout(_ headers: HTTPFields) -> BodyRead<Duration?> {
        guard let text = headers[HTTPField.Name("connect-timeout-ms")!] else { return .success(nil) }
        guard (1...10).contains(text.utf8.count), text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let milliseconds = Int64(text), milliseconds > 0
        else {
            return .failure(
                error(.badRequest, .invalidArgument, "Connect-Timeout-Ms must be a positive number of milliseconds"))
        }
        return .success(.milliseconds(milliseconds))
    }

    enum BodyRead<Value> {
        case success(Value)
        case failure(Response)
    }

    /// The whole body, within `--http-max-body` (413, before reading when Content-Length says so) and the call's
    /// deadline (408).
    func readBody(_ request: Request, deadline: ContinuousClock.Instant) async -> BodyRead<ByteBuffer> {
        let tooLarge = Self.error(
            .contentTooLarge, .resourceExhausted, "the body exceeds \(configuration.maxBodyBytes) bytes")
        if let length = request.headers[.contentLength].flatMap(Int.init), length > configuration.maxBodyBytes {
            return .failure(tooLarge)
        }
        switch await Self.collect(request.body, upTo: configuration.maxBodyBytes, deadline: deadline) {
        case .success(let collected): return .success(collected)
        case .failure(.tooLarge): return .failure(tooLarge)
        case .failure(.tooSlow):
            return .failure(
                Self.error(
                    .requestTimeout, .deadlineExceeded, "the request body did not arrive before the call's deadline"))
        }
    }

    enum BodyProblem: Error {
        case tooLarge
        case tooSlow
    }

    /// The whole body, at most `limit` bytes, read before `deadline`.
    static func collect(_ body: RequestBody, upTo limit: Int, deadline: ContinuousClock.Instant) async
        -> Result<ByteBuffer, BodyProblem>
    {
        await withTaskGroup(of: Result<ByteBuffer, BodyProblem>?.self) { group in
            group.addTask {
                do {
                    return .success(try await body.collect(upTo: limit))
                } catch is CancellationError {
                    return nil
                } catch {
                    return .failure(.tooLarge)
                }
            }
            group.addTask {
                guard (try? await Task.sleep(until: deadline, clock: .continuous)) != nil else { return nil }
                return .failure(.tooSlow)
            }
            while let next = await group.next() {
                if let result = next {
                    group.cancelAll()
                    return result
                }
            }
            return .failure(.tooSlow)
        }
    }

    /// Equality of two secrets in time that depends on their lengths only, never on where they first differ.
    static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        ConstantTime.equals(Array(a.utf8), Array(b.utf8))
    }

    /// The client's IP: the TCP peer, or — when that is a trusted proxy — the right-most `X-Forwarded-For`
    /// address that is not itself a trusted proxy (the left part of the header is the client's own text).
    func clientAddress(_ request: Request, context: GatewayContext) -> String {
        guard let ip = context.remoteAddress?.ipAddress else { return "unknown" }
        let trusted = configuration.trustedProxies
        guard !trusted.isEmpty, let peer = IPAddress(ip), trusted.contains(where: { $0.contains(peer) }) else {
            return ip
        }
        let hops = request.headers[values: HTTPField.Name("x-forwarded-for")!]
            .flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        var client = ip
        for hop in hops.reversed() {
            guard let address = IPAddress(hop) else { break }  // garbage: stop at the last address we trust
            client = address.description
            if !trusted.contains(where: { $0.contains(address) }) { break }
        }
        return client
    }

    /// Signup, Login and ResetPassword: the calls a login-CSRF attack would forge.
    static let sessionStartingMethods: Set<String> = [
        Methods.SessionService.login.descriptor.path, Methods.SessionService.signup.descriptor.path,
        Methods.SessionService.resetPassword.descriptor.path,
    ]

    /// The media type of the request, lower-cased and without parameters.
    static func mediaType(_ request: Request) -> String? {
        request.headers[.contentType]?.split(separator: ";").first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
    }

    /// What a browser marks as cross-site: a body that is not `application/json` (an HTML form or a "simple"
    /// fetch cannot send that type cross-site without a CORS preflight), `Sec-Fetch-Site: cross-site` or
    /// `same-site`, or an `Origin` not allowed. A request carrying neither `Origin` nor `Sec-Fetch-Site` (curl,
    /// SDKs, other services) passes when it is JSON.
    func crossSiteRefusal(_ request: Request) -> Response? {
        guard Self.mediaType(request) == "application/json" else {
            return Self.error(.unsupportedMediaType, .invalidArgument, "this call accepts application/json only")
        }
        let site = request.headers[HTTPField.Name("sec-fetch-site")!]?.lowercased()
        if let origin = request.headers[.origin] {
            // An allow-listed origin (the dashboard on its own host, CORS) or the public URL's passes whatever
            // Sec-Fetch-Site says; a same-origin page passes too; any other origin is refused.
            if configuration.allowedOrigins.contains(origin) || origin == configuration.publicOrigin { return nil }
            if site == "same-origin" { return nil }
            return Self.error(.forbidden, .permissionDenied, "cross-site request refused (CSRF check)")
        }
        if let site, site != "same-origin", site != "none" {
            return Self.error(.forbidden, .permissionDenied, "cross-site request refused (CSRF check)")
        }
        return nil
    }

    /// Cookie-authenticated POSTs must be JSON and come from our own pages: `Sec-Fetch-Site` same-origin/none, or
    /// an allow-listed `Origin`. Anything else is refused (fails closed for clients that send neither).
    private func csrfRefusal(_ request: Request) -> Response? {
        guard Self.mediaType(request) == "application/json" else {
            return Self.error(
                .unsupportedMediaType, .invalidArgument, "cookie-authenticated requests must be application/json")
        }
        if comesFromOurPages(request) { return nil }
        return Self.error(.forbidden, .permissionDenied, "cross-site request refused (CSRF check)")
    }

    /// The CSRF rule of cookie requests: `Sec-Fetch-Site` same-origin/none, or an allow-listed `Origin` (or the
    /// public URL's). A request with neither is not ours (fails closed).
    func comesFromOurPages(_ request: Request) -> Bool {
        if let site = request.headers[HTTPField.Name("sec-fetch-site")!]?.lowercased(),
            site == "same-origin" || site == "none"
        {
            return true
        }
        if let origin = request.headers[.origin] {
            return configuration.allowedOrigins.contains(origin) || origin == configuration.publicOrigin
        }
        return false
    }

    private func setSessionCookie(for method: GatewayRoute, from value: JSONValue, on response: inout Response) {
        let issuesSession =
            method.descriptor == Methods.SessionService.login.descriptor
            || method.descriptor == Methods.SessionService.signup.descriptor
        guard issuesSession, case .string(let token)? = value["sessionToken"], !token.isEmpty else { return }
        response.setCookie(sessionCookie(value: token, maxAge: configuration.sessionCookieMaxAge))
    }

    /// The session cookie (Login, Signup over `/api`): HttpOnly, `Path=/`, SameSite=Lax, Secure (and `__Host-`) on
    /// https.
    func sessionCookie(value: String, maxAge: Int64) -> Cookie {
        Cookie(
            name: configuration.cookieName, value: value, maxAge: Int(maxAge), path: "/",
            secure: configuration.isSecure,
            httpOnly: true, sameSite: .lax)
    }

    /// The value of a cookie of the request (Hummingbird's parser), nil when absent or empty.
    static func cookie(_ name: String, in headers: HTTPFields) -> String? {
        guard let value = Cookies(from: headers[values: .cookie])[name]?.value, !value.isEmpty else { return nil }
        return value
    }

    static func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: value.serialized())))
    }

    /// The error body `{"code", "message", "violations", "actionErrors"}` with Connect's snake_case code names;
    /// `actionErrors: [message]` is what Akto's UI shows (request.js).
    static func error(
        _ status: HTTPResponse.Status, _ code: StatusCode, _ message: String, violations: [FieldViolation] = []
    )
        -> Response
    {
        json(
            status,
            .object([
                ("code", .string(code.name)), ("message", .string(message)),
                (
                    "violations",
                    .array(
                        violations.map {
                            .object([("field", .string($0.field)), ("description", .string($0.description))])
                        })
                ),
                ("actionErrors", .array([.string(message)])),
            ]))
    }

    /// An error as HTTP. `dashboard`: the caller authenticated the dashboard's way, whose UI takes exactly "403
    /// without actionErrors" for an expired access token and refreshes it — so UNAUTHENTICATED is answered that
    /// way there, and nothing else ever is. A refusal for NO_ACCESS carries `X-No-Access-Error: true` (the UI's
    /// no-access banner).
    static func error(_ error: RPCError, dashboard: Bool = false) -> Response {
        if dashboard, error.code == .unauthenticated {
            return json(.forbidden, .object([("code", .string(error.code.name)), ("message", .string(error.message))]))
        }
        var response = Self.error(error.code.httpStatus, error.code, error.message, violations: error.violations)
        if error.code == .permissionDenied, error.message.contains(Caller.noAccessMarker) {
            response.headers[HTTPField.Name("x-no-access-error")!] = "true"
        }
        return response
    }
}

/// The OpenAPI document, built on its first request and kept: most servers are never asked for it, and
/// building it at start-up cost resident memory (the idle-RSS target in `BENCHMARKS.md`).
final class LazyDocument: Sendable {
    private let build: @Sendable () -> [UInt8]
    private let built = Locked<[UInt8]?>(nil)

    init(_ build: @escaping @Sendable () -> [UInt8]) {
        self.build = build
    }

    var bytes: [UInt8] {
        built.withLock { built in
            if let built { return built }
            let document = build()
            built = document
            return document
        }
    }
}
