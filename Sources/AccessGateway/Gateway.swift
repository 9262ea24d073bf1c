import AccessRPC
import Hummingbird
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
        return Application(
            responder: responder,
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
    }
}
