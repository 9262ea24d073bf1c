import AccessCore
import AccessGateway
import AccessRPC
import AccessServer
import AccessService
import AccessSQLite
import AccessWire
import ArgumentParser
import Foundation
import Logging
import Prometheus
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `akto-access serve`: runs the server until SIGTERM or SIGINT, then drains and exits 0.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server (Unix-socket RPC). Every option also reads AKTO_ACCESS_<OPTION>.")

    @Option(help: "Folder for the database and the socket (env AKTO_ACCESS_DATA_DIR; default ./var).")
    var dataDir: String?
    @Option(help: "Unix socket path (env AKTO_ACCESS_SOCKET_PATH; default <data-dir>/akto-access.sock).")
    var socketPath: String?
    @Option(help: "Socket file permissions, octal (env AKTO_ACCESS_SOCKET_MODE; default 660).")
    var socketMode: String?
    @Option(
        help: "HTTP/JSON gateway address host:port, or 'off' (env AKTO_ACCESS_HTTP_ADDRESS; default 127.0.0.1:8080).")
    var httpAddress: String?
    @Option(
        help:
            "Metrics listener host:port (GET /metrics, /healthz), or 'off' (env AKTO_ACCESS_METRICS_ADDRESS; default 127.0.0.1:9464)."
    )
    var metricsAddress: String?
    @Option(
        help:
            "File holding a bearer token that also serves GET /metrics on the HTTP gateway (env AKTO_ACCESS_METRICS_TOKEN_FILE; default none: no /metrics there)."
    )
    var metricsTokenFile: String?
    @Option(
        help:
            "Proxies (CIDRs, comma-separated) whose X-Forwarded-For names the client, e.g. 127.0.0.1/32 behind a local nginx (env AKTO_ACCESS_TRUSTED_PROXIES; default none)."
    )
    var trustedProxies: String?
    @Option(
        help: "Browser origins allowed by CORS and the CSRF check, comma-separated (env AKTO_ACCESS_ALLOWED_ORIGINS).")
    var allowedOrigins: String?
    @Option(
        help:
            "HTTP gateway connections at most; capped further by the descriptor limit (env AKTO_ACCESS_HTTP_MAX_CONNECTIONS; default 1024)."
    )
    var httpMaxConnections: Int?
    @Option(
        help:
            "HTTP gateway connections one client IP may hold (env AKTO_ACCESS_HTTP_MAX_CONNECTIONS_PER_PEER; default 64)."
    )
    var httpMaxConnectionsPerPeer: Int?
    @Option(
        help:
            "Seconds a new HTTP connection has to send a complete request head (env AKTO_ACCESS_HTTP_HEADER_TIMEOUT; default 10)."
    )
    var httpHeaderTimeout: Double?
    @Option(
        help: "Seconds a request's body has to arrive after its head (env AKTO_ACCESS_HTTP_BODY_TIMEOUT; default 30).")
    var httpBodyTimeout: Double?
    @Option(
        help: "Seconds an idle keep-alive HTTP connection stays open (env AKTO_ACCESS_HTTP_IDLE_TIMEOUT; default 60).")
    var httpIdleTimeout: Double?
    @Option(
        help:
            "A built Akto dashboard: its index.html is served (with the signed-in user's window.* values) for /login, /signup and /dashboard/*, its other files as assets (env AKTO_ACCESS_DASHBOARD_DIR; default none: those paths answer 404)."
    )
    var dashboardDir: String?
    @Option(
        help:
            "Route table of GET|POST /auth/check, the forward-auth endpoint for nginx auth_request, Envoy ext_authz and Traefik forwardAuth: lines of METHOD PATH-PREFIX FEATURE ACCESS (env AKTO_ACCESS_FORWARD_AUTH_ROUTES; default none: no /auth/check)."
    )
    var forwardAuthRoutes: String?
    @Option(help: "Largest HTTP request body in bytes (env AKTO_ACCESS_HTTP_MAX_BODY; default 1048576).")
    var httpMaxBody: Int?
    @Option(
        help: "Largest total of HTTP request headers in bytes (env AKTO_ACCESS_HTTP_MAX_HEADER_BYTES; default 16384).")
    var httpMaxHeaderBytes: Int?
    @Option(help: "Largest request frame in bytes (env AKTO_ACCESS_MAX_FRAME_SIZE; default 1048576).")
    var maxFrameSize: Int?
    @Option(help: "Concurrent calls per connection (env AKTO_ACCESS_MAX_CONCURRENT_CALLS; default 128).")
    var maxConcurrentCalls: Int?
    @Option(help: "Open connections (env AKTO_ACCESS_MAX_CONNECTIONS; default 4096).")
    var maxConnections: Int?
    @Option(
        help:
            "Bytes of answers one socket connection may leave unread before it is closed with GoAway(RESOURCE_EXHAUSTED) (env AKTO_ACCESS_MAX_PENDING_OUTBOUND_BYTES; default 4194304)."
    )
    var maxPendingOutboundBytes: Int?
    @Option(help: "Metadata bytes per request (env AKTO_ACCESS_MAX_METADATA_BYTES; default 8192).")
    var maxMetadataBytes: Int?
    @Option(help: "Seconds before an idle connection closes (env AKTO_ACCESS_IDLE_TIMEOUT; default 300).")
    var idleTimeout: Double?
    @Option(help: "Seconds in-flight calls get at shutdown (env AKTO_ACCESS_DRAIN_TIMEOUT; default 10).")
    var drainTimeout: Double?
    @Option(help: "Deadline of calls that set none, seconds (env AKTO_ACCESS_DEFAULT_TIMEOUT; default 30).")
    var defaultTimeout: Double?
    @Option(help: "Longest deadline a caller may ask for, seconds (env AKTO_ACCESS_MAX_TIMEOUT; default 300).")
    var maxTimeout: Double?
    @Option(help: "Only these peer uids may connect; repeatable (env AKTO_ACCESS_ALLOWED_UIDS, comma-separated).")
    var allowedUid: [UInt32] = []
    @Option(help: "trace, debug, info, notice, warning, error, critical (env AKTO_ACCESS_LOG_LEVEL; default info).")
    var logLevel: String?
    @Option(help: "Background job workers (env AKTO_ACCESS_JOB_WORKERS; default 2).")
    var jobWorkers: Int?
    @Option(help: "Seconds a worker holds a job without renewing its lease (env AKTO_ACCESS_JOB_LEASE; default 60).")
    var jobLease: Int?
    @OptionGroup var service: ServiceOptions

    /// `--forward-auth-routes`, read and validated now: a bad line stops the start, naming it.
    func forwardAuthRouteTable() throws -> ForwardAuthRoutes? {
        guard let file = Environment.resolve(forwardAuthRoutes, "FORWARD_AUTH_ROUTES"), !file.isEmpty else {
            return nil
        }
        guard let data = FileManager.default.contents(atPath: file), data.count <= 1 << 20,
            let text = String(data: data, encoding: .utf8)
        else {
            throw ValidationError("--forward-auth-routes: cannot read \(file) (a UTF-8 text file of at most 1 MiB)")
        }
        do {
            return try ForwardAuthRoutes(parsing: text)
        } catch let error as RPCError {
            throw ValidationError("--forward-auth-routes \(file): \(error.message)")
        }
    }

    /// `--dashboard-dir`, checked: a directory holding index.html.
    func dashboardDirectory() throws -> String? {
        guard let directory = Environment.resolve(dashboardDir, "DASHBOARD_DIR"), !directory.isEmpty else { return nil }
        let absolute = URL(fileURLWithPath: directory).standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: absolute + "/index.html") else {
            throw ValidationError(
                "--dashboard-dir \(directory) has no index.html (give the folder of a built Akto dashboard)")
        }
        return absolute
    }

    func run() async throws {
        let level = try Environment.resolve(logLevel, "LOG_LEVEL", default: "info")
        guard let logLevel = Logger.Level(rawValue: level) else { throw ValidationError("unknown log level \(level)") }
        LoggingSystem.bootstrap { label in
            // Every logged value has its control characters escaped: no caller-chosen string writes a line.
            var handler = EscapingLogHandler(wrapping: StreamLogHandler.standardError(label: label))
            handler.logLevel = logLevel
            return handler
        }
        let logger = Logger(label: "akto-access")
        let plan = try await resolve(logger: logger)
        try await ServiceGroup(
            configuration: .init(
                services: Self.services(plan, logger: logger), gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger)
        ).run()
    }

    /// Everything `serve` was told (options, environment, defaults), checked; nothing started yet.
    struct Plan: Sendable {
        var dataDirectory: String
        var server: ServerConfiguration
        var limits: DispatchLimits
        var gateway: GatewayConfiguration?
        var metricsListener: (host: String, port: Int)?
        var service: ServiceConfiguration
        var store: OpenedStore
        var billing: (any BillingProvider)?
        var jobs: JobRunnerConfiguration
    }

    /// Option parsing: every option resolved and validated into a `Plan`.
    func resolve(logger: Logger) async throws -> Plan {
        let dataDirectory = try Environment.resolve(dataDir, "DATA_DIR", default: Defaults.dataDirectory)
        try makeDirectory(dataDirectory, logger: logger)
        let modeText = try Environment.resolve(socketMode, "SOCKET_MODE", default: "660")
        guard let mode = UInt16(modeText, radix: 8), mode & ~0o777 == 0 else {
            throw ValidationError("--socket-mode must be octal permission bits such as 660, got \(modeText)")
        }
        var uids = Set(allowedUid)
        if uids.isEmpty, let text = Environment.string("ALLOWED_UIDS") {
            for part in text.split(separator: ",") {
                guard let uid = UInt32(part.trimmingSpaces) else {
                    throw ValidationError("AKTO_ACCESS_ALLOWED_UIDS: \(part) is not a uid")
                }
                uids.insert(uid)
            }
        }
        // <doc:Hardening>: the soft descriptor limit raised to the hard one, then split so that a flooded gateway can
        // never take the descriptors the Unix socket and the database need.
        let descriptors = Self.raiseDescriptorLimit(logger: logger)
        let reserved = 64
        let gatewayWanted = try positive(
            Environment.resolve(httpMaxConnections, "HTTP_MAX_CONNECTIONS", default: 1024), "http-max-connections")
        let socketWanted = try positive(
            Environment.resolve(maxConnections, "MAX_CONNECTIONS", default: 4096), "max-connections")
        let budget = max(descriptors - reserved, 32)
        let gatewayCap = max(8, min(gatewayWanted, budget / 2))
        let socketCap = max(8, min(socketWanted, budget - gatewayCap))
        if gatewayCap < gatewayWanted || socketCap < socketWanted {
            logger.notice(
                "connection caps lowered to fit the descriptor limit",
                metadata: [
                    "descriptors": "\(descriptors)", "http-max-connections": "\(gatewayCap)",
                    "max-connections": "\(socketCap)", "reserved": "\(reserved)",
                ])
        }
        let serverConfiguration = ServerConfiguration(
            socketPath: try Environment.resolve(
                socketPath, "SOCKET_PATH", default: dataDirectory + "/akto-access.sock"),
            socketMode: mode,
            maxFrameSize: try positive(
                Environment.resolve(maxFrameSize, "MAX_FRAME_SIZE", default: 1 << 20), "max-frame-size"),
            maxConcurrentCallsPerConnection: try positive(
                Environment.resolve(maxConcurrentCalls, "MAX_CONCURRENT_CALLS", default: 128), "max-concurrent-calls"),
            maxConnections: socketCap,
            idleTimeout: try seconds(Environment.resolve(idleTimeout, "IDLE_TIMEOUT", default: 300), "idle-timeout"),
            drainTimeout: try seconds(Environment.resolve(drainTimeout, "DRAIN_TIMEOUT", default: 10), "drain-timeout"),
            allowedUIDs: uids.isEmpty ? nil : uids,
            maxPendingOutboundBytes: try positive(
                Environment.resolve(maxPendingOutboundBytes, "MAX_PENDING_OUTBOUND_BYTES", default: 4 << 20),
                "max-pending-outbound-bytes"))
        let limits = DispatchLimits(
            maxMetadataBytes: try positive(
                Environment.resolve(maxMetadataBytes, "MAX_METADATA_BYTES", default: 8192), "max-metadata-bytes"),
            defaultTimeout: try seconds(
                Environment.resolve(defaultTimeout, "DEFAULT_TIMEOUT", default: 30), "default-timeout"),
            maxTimeout: try seconds(Environment.resolve(maxTimeout, "MAX_TIMEOUT", default: 300), "max-timeout"))
        let address = try Environment.resolve(httpAddress, "HTTP_ADDRESS", default: "127.0.0.1:8080")
        let serviceConfiguration = try service.configuration()
        var gatewayConfiguration: GatewayConfiguration?
        let metricsListener = try Self.hostAndPort(
            Environment.resolve(metricsAddress, "METRICS_ADDRESS", default: "127.0.0.1:9464"), option: "metrics-address"
        )
        var metricsToken: String?
        if let file = Environment.resolve(metricsTokenFile, "METRICS_TOKEN_FILE") {
            metricsToken = try Self.secret(fromFile: file, option: "metrics-token-file")
        }
        var proxies: [IPNetwork] = []
        for part in Environment.resolve(trustedProxies, "TRUSTED_PROXIES")?.split(separator: ",") ?? [] {
            guard let network = IPNetwork(part.trimmingSpaces) else {
                throw ValidationError("--trusted-proxies takes CIDRs such as 127.0.0.1/32 or 10.0.0.0/8, got \(part)")
            }
            proxies.append(network)
        }
        if let (host, port) = try Self.hostAndPort(address, option: "http-address") {
            let origins = try Environment.resolve(allowedOrigins, "ALLOWED_ORIGINS", default: "")
                .split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty }
            gatewayConfiguration = GatewayConfiguration(
                host: host, port: port,
                maxBodyBytes: try positive(
                    Environment.resolve(httpMaxBody, "HTTP_MAX_BODY", default: 1 << 20), "http-max-body"),
                maxHeaderBytes: try positive(
                    Environment.resolve(httpMaxHeaderBytes, "HTTP_MAX_HEADER_BYTES", default: 16 * 1024),
                    "http-max-header-bytes"),
                allowedOrigins: Set(origins), publicBaseURL: serviceConfiguration.publicBaseURL,
                sessionCookieMaxAge: serviceConfiguration.sessionLifetime.components.seconds,
                metricsBearerToken: metricsToken, trustedProxies: proxies, maxConnections: gatewayCap,
                maxConnectionsPerPeer: try positive(
                    Environment.resolve(httpMaxConnectionsPerPeer, "HTTP_MAX_CONNECTIONS_PER_PEER", default: 64),
                    "http-max-connections-per-peer"),
                headerTimeout: try seconds(
                    Environment.resolve(httpHeaderTimeout, "HTTP_HEADER_TIMEOUT", default: 10), "http-header-timeout"),
                bodyTimeout: try seconds(
                    Environment.resolve(httpBodyTimeout, "HTTP_BODY_TIMEOUT", default: 30), "http-body-timeout"),
                idleTimeout: try seconds(
                    Environment.resolve(httpIdleTimeout, "HTTP_IDLE_TIMEOUT", default: 60), "http-idle-timeout"),
                dashboardDirectory: try dashboardDirectory(), forwardAuthRoutes: try forwardAuthRouteTable())
        }

        let billing = try service.billingProvider(logger: logger)
        if billing == nil {
            logger.notice("billing is not configured: ProvisionSubscription answers FAILED_PRECONDITION")
        }
        let workers = try positive(Environment.resolve(jobWorkers, "JOB_WORKERS", default: 2), "job-workers")
        let lease = try positive(Environment.resolve(jobLease, "JOB_LEASE", default: 60), "job-lease")
        return Plan(
            dataDirectory: dataDirectory, server: serverConfiguration, limits: limits, gateway: gatewayConfiguration,
            metricsListener: metricsListener.map { (host: $0.0, port: $0.1) }, service: serviceConfiguration,
            store: try await service.openStore(dataDirectory: dataDirectory, logger: logger), billing: billing,
            jobs: JobRunnerConfiguration(workers: workers, leaseSeconds: Int64(lease)))
    }

    /// The services of `serve`, in dependency order: the store's connection pool (PostgreSQL) first, then the
    /// application — which prepares the store (migrations, the setup token) and only then starts the job
    /// runner, the socket server, the gateway and the metrics listener. Graceful shutdown runs the other way:
    /// the listeners drain, then the pool closes.
    static func services(_ plan: Plan, logger: Logger) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let pool = plan.store.service { services.append(.init(service: pool)) }
        services.append(.init(service: Application(plan: plan, logger: logger)))
        return services
    }

    /// The part of `serve` that needs a ready store: prepares it, then runs the listeners and the job runner as
    /// a group of their own, which shuts down gracefully when the outer group does.
    struct Application: Service {
        let plan: Plan
        let logger: Logger

        func run() async throws {
            try await plan.store.prepare()
            try await Serve.prepareSetupToken(
                store: plan.store.store, dataDirectory: plan.dataDirectory, logger: logger)
            let group = ServiceGroup(
                configuration: .init(services: try listeners(), logger: logger))
            try await withGracefulShutdownHandler {
                try await group.run()
            } onGracefulShutdown: {
                Task { await group.triggerGracefulShutdown() }
            }
        }

        func listeners() throws -> [ServiceGroupConfiguration.ServiceConfiguration] {
            let accessService = try AccessService(
                store: plan.store.store, configuration: plan.service, billing: plan.billing)
            let state = ServingState()
            var registry = MethodRegistry(codec: ProtobufCodec())
            try accessService.register(into: &registry)
            try BuiltinServices.register(into: &registry, state: state)
            // A forward-auth route judged by an operation needs one with a policy (not an anonymous one).
            for route in plan.gateway?.forwardAuthRoutes?.routes ?? [] where !route.check.operation.isEmpty {
                let name = route.check.operation
                guard registry.all.contains(where: { $0.descriptor.method == name && $0.requiresAuthentication })
                else {
                    throw ValidationError(
                        "--forward-auth-routes: \(route.prefix) names \(name), which has no access policy to judge by")
                }
            }
            // One dispatcher and one metrics registry serve both transports; deadlines on the event loops.
            let metrics = PrometheusCollectorRegistry()
            let dispatcher = Dispatcher(
                registry: registry, limits: plan.limits, logger: logger,
                metrics: PrometheusMetricsFactory(registry: metrics), timer: EventLoopDeadlineTimer.shared)
            let server = RPCServer(
                configuration: plan.server, dispatcher: dispatcher, servingState: state, logger: logger)
            let runner = JobRunner(
                store: plan.store.store, configuration: plan.jobs, billing: plan.billing, logger: logger)
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
                .init(service: runner), .init(service: server),
            ]
            if let configuration = plan.gateway {
                let gateway = Gateway.application(
                    dispatcher: dispatcher, configuration: configuration, servingState: state,
                    metricsText: { metrics.emitToBuffer() }, logger: logger)
                services.append(.init(service: gateway))
            }
            if let (host, port) = plan.metricsListener {
                let metricsApp = Gateway.metricsApplication(
                    host: host, port: port, servingState: state, metricsText: { metrics.emitToBuffer() },
                    logger: logger,
                    onListening: { port in logger.info("metrics listening", metadata: ["address": "\(host):\(port)"]) })
                services.append(.init(service: metricsApp))
            }
            return services
        }
    }

    private func makeDirectory(_ path: String, logger: Logger) throws {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw ValidationError("cannot create the data directory \(path): \(String(cString: strerror(errno)))")
        }
        // The database files are 0600 whatever the folder's mode, but a world-readable folder lists them and
        // exposes anything else put there: say so (the socket keeps its own mode, so sidecars still connect).
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & S_IROTH != 0 {
            logger.warning(
                "the data directory is world-readable; chmod o-rwx it unless other users must list it",
                metadata: ["path": "\(path)", "mode": "\(String(info.st_mode & 0o7777, radix: 8))"])
        }
        // The socket (and the SQLite file) are created here: refuse a read-only or unwritable folder at once,
        // with the reason, instead of failing later in bind or on the first write.
        if access(path, W_OK | X_OK) != 0 {
            throw ValidationError("the data directory \(path) is not writable: \(String(cString: strerror(errno)))")
        }
    }

    /// <doc:Hardening>: an install without users gets a one-time setup token, stored as a digest (shared by every
    /// process on the database) and written 0600 to `<data-dir>/setup-token`; only its path is logged. A gateway
    /// Signup of the first user must carry it; the socket and `admin bootstrap` need none.
    static func prepareSetupToken(store: any ServiceStore, dataDirectory: String, logger: Logger) async throws {
        let path = dataDirectory + "/setup-token"
        let token = Secrets.token()
        switch try await store.installSetupToken(
            digest: Secrets.digest(token), now: Int64(Date().timeIntervalSince1970))
        {
        case .created:
            unlink(path)
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else {
                throw ValidationError("cannot write the setup token file \(path): \(String(cString: strerror(errno)))")
            }
            let bytes = Array((token + "\n").utf8)
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            close(descriptor)
            guard written == bytes.count else { throw ValidationError("cannot write the setup token file \(path)") }
            logger.notice(
                "the install has no user: the first user signs up over HTTP with the one-time setup token in this file (setupToken), or over the socket, or with admin bootstrap",
                metadata: ["path": "\(path)"])
        case .exists(let createdAt):
            if access(path, F_OK) == 0 {
                logger.notice(
                    "the install has no user yet; its one-time setup token is in this file",
                    metadata: ["path": "\(path)"])
            } else {
                logger.notice(
                    "the install has no user yet; another process created its setup token (the file setup-token in that process's data directory)",
                    metadata: ["created-at": "\(createdAt)"])
            }
        case .notNeeded:
            unlink(path)
        }
    }

    /// Raises the soft RLIMIT_NOFILE to the hard limit and returns the limit in force.
    static func raiseDescriptorLimit(logger: Logger) -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 {
                limit = raised
            } else {
                logger.warning("could not raise the descriptor limit", metadata: ["soft": "\(limit.rlim_cur)"])
            }
        }
        return Int(min(limit.rlim_cur, UInt(Int32.max)))
    }

    /// `host:port` (`[::1]:9464` for IPv6), or nil for `off`.
    static func hostAndPort(_ address: String, option: String) throws -> (String, Int)? {
        guard address.lowercased() != "off" else { return nil }
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
            (0...65535).contains(port), colon != address.startIndex
        else { throw ValidationError("--\(option) must be host:port or off, got \(address)") }
        return (String(address[..<colon]).trimmingCharacters(in: "[]"), port)
    }

    /// A secret read from a file (its first line, surrounding white space dropped): never from the command
    /// line, which every local user sees in `ps`.
    static func secret(fromFile path: String, option: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw ValidationError("--\(option): cannot read \(path)")
        }
        let value = String(text.split(whereSeparator: \.isNewline).first ?? "").trimmingCharacters(in: .whitespaces)
        guard value.utf8.count >= 16 else {
            throw ValidationError("--\(option): the secret in \(path) needs 16 or more characters")
        }
        return value
    }

    private func positive(_ value: Int, _ name: String) throws -> Int {
        guard value > 0 else { throw ValidationError("--\(name) must be positive, got \(value)") }
        return value
    }

    private func seconds(_ value: Double, _ name: String) throws -> Duration {
        guard value > 0, value <= 86_400 * 365 else { throw ValidationError("--\(name) must be 0 < seconds <= 1 year") }
        return .milliseconds(Int64(value * 1000))
    }
}
