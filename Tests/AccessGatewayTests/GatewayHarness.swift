import AccessCore
import AccessGateway
import AccessRPC
import AccessService
import AccessSQLite
import AccessWire
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Prometheus

/// The real service on a temporary SQLite file behind the real gateway.
struct GatewayHarness {
    let dispatcher: Dispatcher
    let metrics: PrometheusCollectorRegistry
    let configuration: GatewayConfiguration
    let store: SQLiteAccountStore
    let codec: CountingCodec
    /// The install's one-time setup token (<doc:Hardening>): a first Signup over HTTP must carry it.
    static let setupToken = "test-setup-token-0123456789"

    /// - Parameter refuseBytes: the registry's codec refuses every use (the default: the gateway hands the
    ///   dispatcher typed messages, never protobuf bytes, so no gateway test may reach it); false lets a test
    ///   also call the dispatcher with bytes, as the socket does, and compare.
    init(refuseBytes: Bool = true, configure: (inout GatewayConfiguration) -> Void = { _ in }) throws {
        codec = CountingCodec(refuse: refuseBytes)
        let directory = NSTemporaryDirectory() + "akto-gateway-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try SQLiteAccountStore(configuration: SQLiteConfiguration(path: directory + "/g.sqlite"))
        self.store = store
        let service = try AccessService(
            store: store,
            configuration: ServiceConfiguration(
                publicBaseURL: "http://localhost:8080", passwordHashing: ScryptParameters(logRounds: 10),
                // Every test's client is the same peer ("unknown" address) on the shared hashing threads.
                hashAdmission: HashAdmissionLimits(perPeer: 10_000, total: 10_000)))
        var registry = MethodRegistry(codec: codec)
        try service.register(into: &registry)
        try BuiltinServices.register(into: &registry, state: ServingState())
        metrics = PrometheusCollectorRegistry()
        dispatcher = Dispatcher(
            registry: registry, logger: Logger(label: "test"), metrics: PrometheusMetricsFactory(registry: metrics))
        var configuration = GatewayConfiguration(port: 0, allowedOrigins: ["https://app.example.com"])
        configure(&configuration)
        self.configuration = configuration
    }

    func test<Value: Sendable>(
        _ setup: TestingSetup = .router, _ body: @Sendable (any TestClientProtocol) async throws -> Value
    )
        async throws -> Value
    {
        _ = try await store.installSetupToken(digest: Secrets.digest(Self.setupToken), now: 0)
        let metrics = self.metrics
        let app = Gateway.application(
            dispatcher: dispatcher, configuration: configuration, servingState: ServingState(),
            metricsText: { metrics.emitToBuffer() }, logger: Logger(label: "test"))
        return try await app.test(setup, body)
    }
}

/// The protobuf codec, counting its uses; with `refuse`, refusing them all.
final class CountingCodec: PayloadCodec {
    private let count = Locked(0)
    let refuse: Bool
    var uses: Int { count.withLock { $0 } }

    init(refuse: Bool) {
        self.refuse = refuse
    }

    func decode<Message: ProtoMessage>(_ type: Message.Type, from bytes: [UInt8], limits: CodecLimits) throws
        -> Message
    {
        count.withLock { $0 += 1 }
        guard !refuse else { throw RPCError(.internal, "decoded \(Message.protoName) from protobuf bytes") }
        return try ProtobufCodec().decode(type, from: bytes, limits: limits)
    }

    func encode<Message: ProtoMessage>(_ message: Message) throws -> [UInt8] {
        count.withLock { $0 += 1 }
        guard !refuse else { throw RPCError(.internal, "encoded \(Message.protoName) as protobuf bytes") }
        return try ProtobufCodec().encode(message)
    }
}

extension TestClientProtocol {
    /// POSTs JSON to a gateway path.
    func post(_ path: String, _ json: String = "{}", headers: HTTPFields = [:]) async throws -> TestResponse {
        var all: HTTPFields = [.contentType: "application/json"]
        all.append(contentsOf: headers)
        return try await execute(uri: path, method: .post, headers: all, body: ByteBuffer(string: json))
    }
}

extension TestResponse {
    var json: JSONValue? { try? JSONValue.parse(Array(buffer: body)) }

    /// The `code` of an error body.
    var errorCode: String? {
        if case .string(let code)? = json?["code"] { return code }
        return nil
    }
}

/// Signs up the first admin and returns its session token.
func signup(_ client: any TestClientProtocol) async throws -> String {
    let response = try await client.post(
        "/api/signup",
        #"{"email":"admin@example.com","password":"Secret123-horse","setupToken":"\#(GatewayHarness.setupToken)"}"#)
    guard case .string(let token)? = response.json?["sessionToken"] else { throw RPCError(.internal, "no session") }
    return token
}

func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer " + token] }
