import AccessRPC
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// Builds the gateway's Hummingbird application (a ServiceLifecycle `Service`, drained with the rest of the
/// process on SIGTERM).
public enum Gateway {
    /// - Parameter onListening: called with the bound port once the server accepts connections.
    public static func application(
        dispatcher: Dispatcher, configuration: GatewayConfiguration, servingState: ServingState,
        metricsText: @escaping @Sendable () -> [UInt8], logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let responder = GatewayResponder(
            dispatcher: dispatcher, configuration: configuration, servingState: servingState, metricsText: metricsText)
        // <doc:Hardening>: a bounded number of connections (per client IP too) with read deadlines, so idle or stalled
        // clients cannot hold every descriptor.
        let table = PeerConnectionTable(perPeer: configuration.maxConnectionsPerPeer)
        let (header, body, idle) = (configuration.headerTimeout, configuration.bodyTimeout, configuration.idleTimeout)
        return Application(
            router: responder.router(),
            server: .http1(
                configuration: HTTP1Channel.Configuration(
                    additionalChannelHandlers: [
                        ConnectionGuard(
                            headerTimeout: header, bodyTimeout: body, idleTimeout: idle, table: table, logger: logger)
                    ])),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: nil,
                availableConnectionsDelegate: MaximumAvailableConnections(configuration.maxConnections, logger: logger)),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
    }

    /// The metrics listener (`--metrics-address`, loopback by default): `GET /metrics` (Prometheus text) and
    /// `GET /healthz`, nothing else, for a scraper on the host or a private network, apart from the listener
    /// browsers reach.
    public static func metricsApplication(
        host: String, port: Int, servingState: ServingState, metricsText: @escaping @Sendable () -> [UInt8],
        logger: Logger, onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router()
        router.get("/metrics") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metricsText())))
        }
        router.get("/healthz") { _, _ -> Response in
            let serving = servingState.isServing
            return Response(
                status: serving ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                body: ResponseBody(
                    byteBuffer: ByteBuffer(string: serving ? #"{"status":"SERVING"}"# : #"{"status":"NOT_SERVING"}"#)))
        }
        return Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? port) },
            logger: logger)
    }
}
