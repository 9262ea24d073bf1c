import AccessCore
import Foundation
import Logging
import Synchronization
import Testing

@testable import AccessRPC

/// A codec the RPC core knows nothing about (Foundation's JSON): the registry works with whatever codec it is
/// given, and counts show when one ran.
final class FoundationJSONCodec: PayloadCodec {
    let uses = Mutex(0)

    func decode<Message: ProtoMessage>(_ type: Message.Type, from bytes: [UInt8], limits: CodecLimits) throws
        -> Message
    {
        uses.withLock { $0 += 1 }
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch {
            throw RPCError(.invalidArgument, "not a \(Message.protoName)")
        }
    }

    func encode<Message: ProtoMessage>(_ message: Message) throws -> [UInt8] {
        uses.withLock { $0 += 1 }
        return Array(try JSONEncoder().encode(message))
    }
}

/// The dispatcher's call policy — codec, deadline, synchronous path — for every transport.
@Suite struct DispatchPolicyTests {
    static func registry(
        codec: FoundationJSONCodec = FoundationJSONCodec(),
        check: @escaping @Sendable (HealthCheckRequest, CallContext) async throws -> HealthCheckResponse = { r, _ in
            HealthCheckResponse(status: "SERVING", version: r.service)
        }
    ) throws -> MethodRegistry {
        var registry = MethodRegistry(codec: codec)
        try registry.register(Methods.Health.check, access: .anonymous, handler: check)
        return registry
    }

    @Test func bytesGoThroughTheRegistrysCodec() async throws {
        let codec = FoundationJSONCodec()
        let dispatcher = Dispatcher(registry: try Self.registry(codec: codec), logger: Logger(label: "test"))
        let result = await dispatcher.dispatch(
            DispatchRequest(method: Methods.Health.check.path, payload: Array(#"{"service":"json"}"#.utf8)))
        #expect(result.status.code == .ok && result.message == nil)
        let response = try JSONDecoder().decode(HealthCheckResponse.self, from: Data(result.payload))
        #expect(response.version == "json")
        #expect(codec.uses.withLock { $0 } == 2)  // one decode, one encode
    }

    @Test func aTypedCallCrossesNoCodec() async throws {
        let codec = FoundationJSONCodec()
        let dispatcher = Dispatcher(registry: try Self.registry(codec: codec), logger: Logger(label: "test"))
        let result = await dispatcher.dispatch(
            DispatchRequest(method: Methods.Health.check.path, message: HealthCheckRequest(service: "typed")))
        #expect((result.message as? HealthCheckResponse)?.version == "typed")
        #expect(result.payload.isEmpty)
        #expect(codec.uses.withLock { $0 } == 0)
    }

    @Test func aTypedRequestOfTheWrongTypeIsRefused() async throws {
        let dispatcher = Dispatcher(registry: try Self.registry(), logger: Logger(label: "test"))
        let result = await dispatcher.dispatch(
            DispatchRequest(method: Methods.Health.check.path, message: ListMethodsRequest()))
        #expect(result.status.code == .invalidArgument)
    }

    @Test func theDispatcherEndsACallAtItsDeadlineWhateverTheTransport() async throws {
        let registry = try Self.registry { _, _ in
            try await Task.sleep(for: .seconds(300))
            return HealthCheckResponse()
        }
        let dispatcher = Dispatcher(registry: registry, logger: Logger(label: "test"))
        for transport in [Transport.socket, .http] {
            let started = ContinuousClock.now
            // No signal from the transport: the deadline is the dispatcher's own.
            let result = await dispatcher.dispatch(
                DispatchRequest(
                    method: Methods.Health.check.path, message: HealthCheckRequest(), timeout: .milliseconds(100),
                    transport: transport))
            #expect(result.status.code == .deadlineExceeded)
            // Expected ~0.1 s; the failing value is the handler's 300 s.
            #expect(ContinuousClock.now - started < .seconds(30))
        }
    }

    @Test func theTransportIsToldWhenTheDeadlinePasses() async throws {
        let registry = try Self.registry { _, _ in
            try await Task.sleep(for: .seconds(300))
            return HealthCheckResponse()
        }
        let dispatcher = Dispatcher(registry: registry, logger: Logger(label: "test"))
        let told = Mutex<StatusCode?>(nil)
        let signal = CancellationSignal(onDeadline: { reason in told.withLock { $0 = reason.code } })
        let result = await dispatcher.dispatch(
            DispatchRequest(
                method: Methods.Health.check.path, message: HealthCheckRequest(), timeout: .milliseconds(50)),
            signal: signal)
        #expect(result.status.code == .deadlineExceeded)
        #expect(told.withLock { $0 } == .deadlineExceeded)
    }

    @Test func aCallWhoseDeadlinePassedBeforeItArrivedDoesNoWork() async throws {
        let ran = Mutex(false)
        let registry = try Self.registry { _, _ in
            ran.withLock { $0 = true }
            return HealthCheckResponse()
        }
        let dispatcher = Dispatcher(registry: registry, logger: Logger(label: "test"))
        let result = await dispatcher.dispatch(
            DispatchRequest(
                method: Methods.Health.check.path, message: HealthCheckRequest(), timeout: .seconds(1),
                startedAt: .now - .seconds(10)))
        #expect(result.status.code == .deadlineExceeded)
        #expect(ran.withLock { $0 } == false)
    }

    @Test func aCommittingCallIsNotAbandonedAtItsDeadline() async throws {
        let signal = CancellationSignal()
        #expect(signal.commitGate.beginCommit())
        signal.expire()
        #expect(signal.reason == nil, "a call whose transaction is committing is answered with what it decided")
    }

    @Test func synchronousMethodsAnswerOnTheCallingThread() throws {
        var registry = MethodRegistry(codec: FoundationJSONCodec())
        try BuiltinServices.register(into: &registry, state: ServingState())
        try registry.register(Methods.SessionService.me, access: .anonymous) { _, _ in MeResponse() }
        let dispatcher = Dispatcher(registry: registry, logger: Logger(label: "test"))
        let health = try #require(
            dispatcher.dispatchSynchronously(
                DispatchRequest(method: Methods.Health.check.path, message: HealthCheckRequest())))
        #expect((health.message as? HealthCheckResponse)?.status == "SERVING")
        #expect(health.metadata.contains { $0.key == "x-request-id" })
        // An anonymous asynchronous method is left to `dispatch`; refusals that need no lookup are answered here.
        #expect(dispatcher.dispatchSynchronously(DispatchRequest(method: Methods.SessionService.me.path)) == nil)
        let unknown = try #require(dispatcher.dispatchSynchronously(DispatchRequest(method: "/no.Such/Method")))
        #expect(unknown.status.code == .unimplemented && unknown.status.message.contains("unknown method"))
        let unserved = try #require(
            dispatcher.dispatchSynchronously(DispatchRequest(method: Methods.TeamService.getTeamData.path)))
        #expect(unserved.status.code == .unimplemented && unserved.status.message.contains("not implemented"))
    }

    @Test func theSynchronousPathAppliesTheSamePolicy() throws {
        struct Later: CallAuthorizer {
            func authorize(_ context: CallContext) async throws -> Caller { throw RPCError(.unauthenticated, "no") }
        }
        var registry = MethodRegistry(codec: FoundationJSONCodec())
        try registry.registerSynchronous(Methods.Health.check) { _, _ in HealthCheckResponse(status: "RAN") }
        try registry.registerSynchronous(Methods.Reflection.listMethods, access: .authorized(Later())) { _, _ in
            ListMethodsResponse()
        }
        let dispatcher = Dispatcher(registry: registry, logger: Logger(label: "test"))
        // No policy: refused here too.
        let refused = try #require(
            dispatcher.dispatchSynchronously(
                DispatchRequest(method: Methods.Health.check.path, message: HealthCheckRequest())))
        #expect(refused.status.code == .permissionDenied)
        // A method without a policy, asynchronous or not, is refused here too.
        var unguarded = MethodRegistry(codec: FoundationJSONCodec())
        try unguarded.register(Methods.SessionService.me) { _, _ in MeResponse() }
        let refusedAsync = try #require(
            Dispatcher(registry: unguarded, logger: Logger(label: "test")).dispatchSynchronously(
                DispatchRequest(method: Methods.SessionService.me.path, message: MeRequest())))
        #expect(refusedAsync.status.code == .permissionDenied)
        // An authorizer that cannot decide without waiting sends the call down the ordinary path.
        #expect(
            dispatcher.dispatchSynchronously(
                DispatchRequest(method: Methods.Reflection.listMethods.path, message: ListMethodsRequest())) == nil)
        // Bad metadata is refused as on the ordinary path.
        let bad = try #require(
            dispatcher.dispatchSynchronously(
                DispatchRequest(
                    method: Methods.Health.check.path, metadata: [MetadataEntry("Upper", "x")],
                    message: HealthCheckRequest())))
        #expect(bad.status.code == .invalidArgument)
    }
}
