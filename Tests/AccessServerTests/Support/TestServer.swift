import AccessClient
import AccessCore
import AccessRPC
import AccessServer
import AccessTestSupport
import AccessWire
import Logging
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A fresh temporary folder for one test's socket.
func temporaryDirectory() -> String {
    var template = Array("/tmp/akto-test-XXXXXX".utf8CString)
    let path = template.withUnsafeMutableBufferPointer { buffer in
        String(cString: mkdtemp(buffer.baseAddress!))
    }
    return path
}

/// The default test handler of Health/Check: echoes `service` as `version`, after sleeping `service`'s
/// "sleep:<ms>" if it asks for it.
@Sendable func echoHandler(_ request: HealthCheckRequest, _ context: CallContext) async throws -> HealthCheckResponse {
    if request.service.hasPrefix("sleep:"), let ms = Int(request.service.dropFirst(6)) {
        try await Task.sleep(for: .milliseconds(ms))
    }
    return HealthCheckResponse(status: "SERVING", version: request.service)
}

/// Runs a real server on a temporary socket for the duration of `body`, then shuts it down and waits for it.
func withServer<Result: Sendable>(
    configure: (inout ServerConfiguration) -> Void = { _ in },
    limits: DispatchLimits = DispatchLimits(),
    check: @escaping @Sendable (HealthCheckRequest, CallContext) async throws -> HealthCheckResponse = echoHandler,
    _ body: (RPCServer, String) async throws -> Result
) async throws -> Result {
    let directory = temporaryDirectory()
    defer { rmdir(directory) }
    let path = directory + "/server.sock"
    var configuration = ServerConfiguration(socketPath: path)
    configure(&configuration)
    var registry = MethodRegistry(codec: ProtobufCodec())
    try registry.register(Methods.Health.check, access: .anonymous, handler: check)
    let dispatcher = Dispatcher(registry: registry, limits: limits, logger: Logger(label: "test"))
    let server = RPCServer(configuration: configuration, dispatcher: dispatcher, logger: Logger(label: "test"))
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.run() }
        do {
            try await server.waitUntilListening()
            let result = try await body(server, configuration.socketPath)
            server.beginShutdown()
            try await group.next()
            return result
        } catch {
            server.beginShutdown()
            try? await group.next()
            throw error
        }
    }
}

/// Calls Health/Check with `service` on an open client.
func check(_ client: AccessClient, _ service: String, timeout: Duration? = nil) async -> ClientResponse {
    await client.call(
        method: Methods.Health.check.path,
        payload: try! MessageCodec.encode(HealthCheckRequest(service: service)), timeout: timeout)
}

/// The `version` of an OK Health/Check response.
func echoed(_ response: ClientResponse) -> String? {
    guard response.status.code == .ok else { return nil }
    return try? MessageCodec.decode(HealthCheckResponse.self, from: response.payload).version
}

/// A connection that writes arbitrary bytes and records every byte the server sends until it closes.
final class RawConnection: Sendable {
    private let channel: any Channel
    private let sink: ByteSink

    private final class ByteSink: Sendable {
        let bytes = Locked<[UInt8]>([])
    }

    private final class Recorder: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let sink: ByteSink
        init(sink: ByteSink) { self.sink = sink }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let bytes = Array(buffer: unwrapInboundIn(data))
            sink.bytes.withLock { $0 += bytes }
        }
    }

    private init(channel: any Channel, sink: ByteSink) {
        self.channel = channel
        self.sink = sink
    }

    static func connect(_ path: String) async throws -> RawConnection {
        let sink = ByteSink()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Recorder(sink: sink))
                }
            }
            .connect(unixDomainSocketPath: path).get()
        return RawConnection(channel: channel, sink: sink)
    }

    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    /// Waits (at most `timeout`) for the server to close the connection; true when it did.
    func waitForClose(timeout: Duration = TestTiming.scaled(.seconds(5))) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !channel.isActive { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return !channel.isActive
    }

    /// The frames the server sent so far.
    func frames() throws -> [Frame] {
        var decoder = FrameDecoder(expectPreface: false, maxFrameSize: 1 << 24)
        var buffer = ByteBuffer(bytes: sink.bytes.withLock { $0 })
        var frames: [Frame] = []
        while let next = try decoder.decode(buffer: &buffer) {
            guard case .frame(let frame) = next else { break }
            frames.append(frame)
        }
        return frames
    }

    func close() async { try? await channel.close() }
}

/// A length-prefixed frame.
func framed(_ frame: Frame) -> [UInt8] { try! FrameEncoder.bytes(of: frame) }

/// A Health/Check request frame.
func healthFrame(callID: UInt32, service: String = "") -> [UInt8] {
    framed(
        .request(
            RequestFrame(
                callID: callID, method: Methods.Health.check.path,
                payload: try! MessageCodec.encode(HealthCheckRequest(service: service)))))
}
