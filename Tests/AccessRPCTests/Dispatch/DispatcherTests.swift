import AccessCore
import AccessWire
import Logging
import Synchronization
import Testing

@testable import AccessRPC

/// A dispatcher with the built-ins and a test handler on Health/Check that echoes or misbehaves on request.
func makeDispatcher(
    limits: DispatchLimits = DispatchLimits(),
    check: @escaping @Sendable (HealthCheckRequest, CallContext) async throws -> HealthCheckResponse = { request, _ in
        HealthCheckResponse(status: "SERVING", version: request.service)
    }
) throws -> Dispatcher {
    var registry = MethodRegistry(codec: ProtobufCodec())
    try registry.register(Methods.Health.check, access: .anonymous, handler: check)
    return Dispatcher(registry: registry, limits: limits, logger: Logger(label: "test"))
}

func healthRequest(_ service: String = "", metadata: [MetadataEntry] = [], timeout: Duration? = nil) throws
    -> DispatchRequest
{
    DispatchRequest(
        method: Methods.Health.check.path, metadata: metadata,
        payload: try MessageCodec.encode(HealthCheckRequest(service: service)), timeout: timeout)
}

@Suite struct DispatcherTests {
    @Test func runsTheHandlerWithTypedValues() async throws {
        let result = try await makeDispatcher().dispatch(try healthRequest("echo"))
        #expect(result.status == .ok)
        #expect(try MessageCodec.decode(HealthCheckResponse.self, from: result.payload).version == "echo")
    }

    @Test func anUnknownMethodIsUnimplemented() async throws {
        let result = try await makeDispatcher().dispatch(DispatchRequest(method: "/no.such.Service/Method"))
        #expect(result.status.code == .unimplemented)
        #expect(result.status.message == "unknown method /no.such.Service/Method")
    }

    @Test func aContractMethodWithoutAHandlerSaysSo() async throws {
        let result = try await makeDispatcher().dispatch(
            DispatchRequest(method: Methods.RoleService.createCustomRole.path))
        #expect(result.status.code == .unimplemented)
        #expect(result.status.message.contains("not implemented"))
    }

    @Test func anUndecodablePayloadIsInvalidArgument() async throws {
        let result = try await makeDispatcher().dispatch(
            DispatchRequest(method: Methods.Health.check.path, payload: [0xFF]))
        #expect(result.status.code == .invalidArgument)
        #expect(result.payload.isEmpty)
    }

    @Test func invalidUTF8InARequestNamesTheField() async throws {
        let result = try await makeDispatcher().dispatch(
            DispatchRequest(method: Methods.Health.check.path, payload: [0x0A, 0x01, 0xC3]))
        #expect(result.status.violations == [FieldViolation(field: "service", description: "is not valid UTF-8")])
    }

    @Test func metadataOverTheCapIsRefused() async throws {
        let dispatcher = try makeDispatcher(limits: DispatchLimits(maxMetadataBytes: 64))
        let result = await dispatcher.dispatch(
            try healthRequest(metadata: [MetadataEntry("x-big", String(repeating: "a", count: 100))]))
        #expect(result.status.code == .resourceExhausted)
        let fine = await dispatcher.dispatch(try healthRequest(metadata: [MetadataEntry("x-small", "a")]))
        #expect(fine.status == .ok)
    }

    @Test(arguments: ["X-Upper", "", "sp ace", "ключ"])
    func metadataKeysMustBeLowerCaseASCII(key: String) async throws {
        let result = try await makeDispatcher().dispatch(try healthRequest(metadata: [MetadataEntry(key, "v")]))
        #expect(result.status.code == .invalidArgument)
    }

    @Test func handlerErrorsPassThroughWithTheirViolations() async throws {
        let dispatcher = try makeDispatcher { _, _ in throw RPCError.invalidField("service", "must not be empty") }
        let result = await dispatcher.dispatch(try healthRequest())
        #expect(result.status.code == .invalidArgument)
        #expect(result.status.violations == [FieldViolation(field: "service", description: "must not be empty")])
    }

    @Test func unexpectedErrorsBecomeInternalWithoutDetails() async throws {
        struct Secret: Error { let password = "hunter2" }
        let dispatcher = try makeDispatcher { _, _ in throw Secret() }
        let result = await dispatcher.dispatch(try healthRequest())
        #expect(result.status == Status(code: .internal, message: "internal error"))
    }

    @Test func echoesOrGeneratesTheRequestID() async throws {
        let dispatcher = try makeDispatcher()
        let given = await dispatcher.dispatch(try healthRequest(metadata: [MetadataEntry("x-request-id", "req-1")]))
        #expect(given.metadata == [MetadataEntry("x-request-id", "req-1")])
        let generated = await dispatcher.dispatch(
            try healthRequest(metadata: [MetadataEntry("x-request-id", "bad id\n")]))
        let id = try #require(generated.metadata.first { $0.key == "x-request-id" }?.value)
        #expect(id.count == 32 && id != "bad id\n")
    }

    /// Fresh ids are 32 lower-case hex digits, never repeat, and consecutive ones share no visible structure
    /// (they come from a keyed hash of a counter, not the counter).
    @Test func freshRequestIDsAreUniqueAndUnrelated() {
        let ids = (0..<20_000).map { _ in Dispatcher.freshRequestID() }
        #expect(Set(ids).count == ids.count)
        #expect(
            ids.allSatisfy {
                $0.utf8.count == 32 && $0.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
            })
        let sharedPrefixes = zip(ids, ids.dropFirst()).filter { $0.prefix(8) == $1.prefix(8) }.count
        #expect(sharedPrefixes < 5)
    }

    @Test func theSignalCancelsTheHandlerAndGivesItsReason() async throws {
        let sawCancellation = Atomic<Bool>(false)
        let (started, running) = AsyncStream.makeStream(of: Void.self)
        let dispatcher = try makeDispatcher { _, _ in
            running.yield()
            do {
                try await Task.sleep(for: .seconds(30))
            } catch {
                sawCancellation.store(true, ordering: .relaxed)
                throw error
            }
            return HealthCheckResponse()
        }
        let signal = CancellationSignal()
        let request = try healthRequest()
        async let result = dispatcher.dispatch(request, signal: signal)
        // Fired once the handler runs (a sleep here raced a busy machine's scheduler).
        for await _ in started { break }
        #expect(signal.fire(RPCError(.deadlineExceeded, "too slow")))
        #expect(!signal.fire(RPCError(.cancelled, "second")))
        let status = await result.status
        #expect(status == Status(code: .deadlineExceeded, message: "too slow"))
        let cancelled = sawCancellation.load(ordering: .relaxed)
        #expect(cancelled)
    }

    @Test func deadlinesDefaultAndClamp() throws {
        let dispatcher = try makeDispatcher(
            limits: DispatchLimits(defaultTimeout: .seconds(30), maxTimeout: .seconds(60)))
        let start = ContinuousClock.now
        #expect(dispatcher.deadline(for: nil, from: start) == start + .seconds(30))
        #expect(dispatcher.deadline(for: .zero, from: start) == start + .seconds(30))
        #expect(dispatcher.deadline(for: .seconds(5), from: start) == start + .seconds(5))
        #expect(dispatcher.deadline(for: .seconds(600), from: start) == start + .seconds(60))
    }

    @Test func handlersSeeTheirContext() async throws {
        let dispatcher = try makeDispatcher { _, context in
            HealthCheckResponse(status: context.metadata("x-context-source") ?? "", version: "\(context.peer)")
        }
        let result = await dispatcher.dispatch(
            try healthRequest(metadata: [MetadataEntry("x-context-source", "AGENTIC")]))
        let response = try MessageCodec.decode(HealthCheckResponse.self, from: result.payload)
        #expect(response.status == "AGENTIC" && response.version == "local")
    }
}

@Suite struct BuiltinServicesTests {
    @Test func healthAndReflectionDescribeTheServer() async throws {
        let state = ServingState()
        var registry = MethodRegistry(codec: ProtobufCodec())
        try BuiltinServices.register(into: &registry, state: state)
        let dispatcher = Dispatcher(registry: registry, logger: Logger(label: "test"))

        let health = await dispatcher.dispatch(DispatchRequest(method: Methods.Health.check.path))
        #expect(try MessageCodec.decode(HealthCheckResponse.self, from: health.payload).status == "SERVING")
        state.beginDraining()
        let draining = await dispatcher.dispatch(DispatchRequest(method: Methods.Health.check.path))
        #expect(try MessageCodec.decode(HealthCheckResponse.self, from: draining.payload).status == "NOT_SERVING")

        let list = await dispatcher.dispatch(DispatchRequest(method: Methods.Reflection.listMethods.path))
        let methods = try MessageCodec.decode(ListMethodsResponse.self, from: list.payload).methods
        #expect(methods.map(\.name) == ["/akto.rpc.v1.Health/Check", "/akto.rpc.v1.Reflection/ListMethods"])
        #expect(methods.first?.requestType == "akto.rpc.v1.HealthCheckRequest")
        #expect(methods.allSatisfy { !$0.requiresAuth })
    }

    @Test func gatewayPathsFollowTheMethodName() {
        #expect(MethodRegistry.httpPath(of: Methods.RoleService.createCustomRole.descriptor) == "/api/createCustomRole")
        #expect(MethodRegistry.httpPath(of: Methods.Health.check.descriptor) == nil)
    }

    @Test func aMethodRegisteredWithoutAPolicyAnswersNobody() async throws {
        let ran = Mutex(false)
        var registry = MethodRegistry(codec: ProtobufCodec())
        try registry.register(Methods.Health.check) { _, _ in
            ran.withLock { $0 = true }
            return HealthCheckResponse(status: "SERVING")
        }
        #expect(registry.method(Methods.Health.check.path)?.requiresAuthentication == true)
        let dispatcher = Dispatcher(registry: registry, logger: Logger(label: "test"))
        for transport in [Transport.socket, .http] {
            let request = DispatchRequest(
                method: Methods.Health.check.path, metadata: [MetadataEntry("authorization", "Bearer anything")],
                payload: try MessageCodec.encode(HealthCheckRequest()), transport: transport)
            let result = await dispatcher.dispatch(request)
            #expect(result.status.code == .permissionDenied && result.status.message.contains("no access policy"))
        }
        #expect(ran.withLock { $0 } == false, "the handler must never run")
    }

    @Test func anAuthorizerRunsBeforeTheHandlerAndItsCallerReachesIt() async throws {
        struct Refusing: CallAuthorizer {
            func authorize(_ context: CallContext) async throws -> Caller {
                guard context.metadata("x-api-key") == "let-me-in" else {
                    throw RPCError(.unauthenticated, "who are you")
                }
                return Caller(
                    userID: 7, email: "a@example.com", accountID: 1_000_000, organizationID: "org", scope: .api,
                    roleName: "ADMIN",
                    baseRole: .admin, credential: .apiKey(id: 1, utility: .externalAPI), collectionIDs: nil,
                    contextSource: "API")
            }
        }
        var registry = MethodRegistry(codec: ProtobufCodec())
        try registry.register(Methods.Health.check, access: .authorized(Refusing())) { _, context in
            HealthCheckResponse(status: "SERVING", version: context.caller?.email ?? "none")
        }
        let dispatcher = Dispatcher(registry: registry, logger: Logger(label: "test"))
        #expect(await dispatcher.dispatch(try healthRequest()).status.code == .unauthenticated)
        let admitted = await dispatcher.dispatch(try healthRequest(metadata: [MetadataEntry("x-api-key", "let-me-in")]))
        #expect(try MessageCodec.decode(HealthCheckResponse.self, from: admitted.payload).version == "a@example.com")
    }

    @Test func aMethodCannotBeRegisteredTwice() throws {
        var registry = MethodRegistry(codec: ProtobufCodec())
        try registry.register(Methods.Health.check) { _, _ in HealthCheckResponse() }
        #expect(throws: RPCError.self) { try registry.register(Methods.Health.check) { _, _ in HealthCheckResponse() } }
    }
}
