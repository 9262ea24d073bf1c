import AccessCore
import AccessWire
import Logging
import MetricsTestKit
import Testing

@testable import AccessRPC

@Suite struct DispatcherMetricsTests {
    @Test func countsEveryCallByMethodCodeAndTransportAndTimesIt() async throws {
        let metrics = TestMetrics()
        var registry = MethodRegistry(codec: ProtobufCodec())
        try registry.register(Methods.Health.check, access: .anonymous) { request, _ in
            guard request.service.isEmpty else { throw RPCError(.notFound, "no such service") }
            return HealthCheckResponse(status: "SERVING")
        }
        let dispatcher = Dispatcher(registry: registry, logger: Logger(label: "test"), metrics: metrics)
        for _ in 0..<3 { _ = await dispatcher.dispatch(try healthRequest()) }
        _ = await dispatcher.dispatch(try healthRequest("missing"))
        _ = await dispatcher.dispatch(DispatchRequest(method: "/some/Unknown", transport: .http))

        let method = Methods.Health.check.path
        let ok = try metrics.expectCounter(
            "akto_access_rpc_requests_total", [("method", method), ("code", "OK"), ("transport", "socket")])
        #expect(ok.totalValue == 3)
        let notFound = try metrics.expectCounter(
            "akto_access_rpc_requests_total", [("method", method), ("code", "NOT_FOUND"), ("transport", "socket")])
        #expect(notFound.totalValue == 1)
        // Unknown method names are folded into one label value, so callers cannot blow up the label set.
        let unknown = try metrics.expectCounter(
            "akto_access_rpc_requests_total", [("method", "unknown"), ("code", "UNIMPLEMENTED"), ("transport", "http")])
        #expect(unknown.totalValue == 1)
        let timer = try metrics.expectTimer(
            "akto_access_rpc_duration_seconds", [("method", method), ("transport", "socket")])
        #expect(timer.values.count == 4)
    }
}
