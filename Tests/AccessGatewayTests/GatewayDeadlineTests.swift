import AccessCore
import AccessGateway
import AccessRPC
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// The dispatcher owns the deadline of a gateway call too: the caller's `Connect-Timeout-Ms`, capped by the
/// dispatcher's maximum.
@Suite struct GatewayDeadlineTests {
    /// A gateway whose only method, Login, takes `delay` (cancellable) before it answers.
    static func slowGateway(delay: Duration, limits: DispatchLimits = DispatchLimits()) throws
        -> some ApplicationProtocol
    {
        var registry = MethodRegistry(codec: CountingCodec(refuse: true))
        try registry.register(Methods.SessionService.login, access: .anonymous) { _, _ in
            try await Task.sleep(for: delay)
            return LoginResponse()
        }
        let dispatcher = Dispatcher(registry: registry, limits: limits, logger: Logger(label: "test"))
        return Gateway.application(
            dispatcher: dispatcher, configuration: GatewayConfiguration(port: 0), servingState: ServingState(),
            metricsText: { [] }, logger: Logger(label: "test"))
    }

    @Test func theCallersTimeoutEndsASlowCall() async throws {
        // Without the caller's timeout the call would end at the 300 s default.
        let limits = DispatchLimits(defaultTimeout: .seconds(300), maxTimeout: .seconds(600))
        try await Self.slowGateway(delay: .seconds(3000), limits: limits).test(.router) { client in
            let started = ContinuousClock.now
            let response = try await client.post(
                "/api/login", #"{"email":"a@example.com","password":"x"}"#,
                headers: [HTTPField.Name("connect-timeout-ms")!: "100"])
            #expect(response.status == .gatewayTimeout)
            #expect(response.errorCode == "deadline_exceeded")
            // Expected ~0.1 s, failing 300 s.
            #expect(ContinuousClock.now - started < .seconds(30))
        }
    }

    @Test func theMaximumCapsTheCallersTimeout() async throws {
        let limits = DispatchLimits(defaultTimeout: .seconds(300), maxTimeout: .milliseconds(100))
        try await Self.slowGateway(delay: .seconds(3000), limits: limits).test(.router) { client in
            let started = ContinuousClock.now
            let response = try await client.post(
                "/api/login", #"{"email":"a@example.com","password":"x"}"#,
                headers: [HTTPField.Name("connect-timeout-ms")!: "3600000"])
            #expect(response.status == .gatewayTimeout)
            // Expected ~0.1 s, failing 300 s (the default) or 3000 s (the handler).
            #expect(ContinuousClock.now - started < .seconds(30))
        }
    }

    @Test(arguments: ["0", "-5", "abc", "1.5", "12345678901", ""])
    func aMalformedTimeoutIsRefused(value: String) async throws {
        try await Self.slowGateway(delay: .zero).test(.router) { client in
            let response = try await client.post(
                "/api/login", #"{"email":"a@example.com","password":"x"}"#,
                headers: [HTTPField.Name("connect-timeout-ms")!: value])
            #expect(response.status == .badRequest)
            #expect(response.errorCode == "invalid_argument")
        }
    }

    @Test func aFastCallWithATimeoutAnswers() async throws {
        try await Self.slowGateway(delay: .zero).test(.router) { client in
            let response = try await client.post(
                "/api/login", #"{"email":"a@example.com","password":"x"}"#,
                headers: [HTTPField.Name("connect-timeout-ms")!: "60000"])
            #expect(response.status == .ok)
        }
    }
}
