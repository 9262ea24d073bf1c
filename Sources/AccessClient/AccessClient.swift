import AccessCore
import AccessWire
import NIOCore
import NIOPosix
import Synchronization

/// A client of the AKRP v1 binary RPC: one Unix-socket connection carrying many concurrent calls.
///
/// Use `withConnection(socketPath:)`; the connection is closed when the body returns. Calls may be made
/// from many tasks at once; each carries its deadline to the server, and cancelling the calling task sends
/// `Cancel` for its call.
public final class AccessClient: Sendable {
    private let channel: any Channel
    private let handler: NIOLoopBound<ClientHandler>
    private let nextCallID = Atomic<UInt32>(0)
    private let nextNonce = Atomic<UInt64>(0)
    /// Metadata sent with every call (e.g. `authorization`), before the per-call metadata.
    public let defaultMetadata: [MetadataEntry]

    private init(channel: any Channel, handler: NIOLoopBound<ClientHandler>, defaultMetadata: [MetadataEntry]) {
        self.channel = channel
        self.handler = handler
        self.defaultMetadata = defaultMetadata
    }

    /// Connects to `socketPath`, sends the preface, runs `body`, and closes the connection.
    public static func withConnection<Result: Sendable>(
        socketPath: String, maxFrameSize: Int = 16 << 20, defaultMetadata: [MetadataEntry] = [],
        group: MultiThreadedEventLoopGroup = .singleton,
        _ body: (AccessClient) async throws -> Result
    ) async throws -> Result {
        let client = try await connect(
            socketPath: socketPath, maxFrameSize: maxFrameSize, defaultMetadata: defaultMetadata, group: group)
        do {
            let result = try await body(client)
            await client.close()
            return result
        } catch {
            await client.close()
            throw error
        }
    }

    /// Connects and sends the preface; the caller must `close()` the client.
    public static func connect(
        socketPath: String, maxFrameSize: Int = 16 << 20, defaultMetadata: [MetadataEntry] = [],
        group: MultiThreadedEventLoopGroup = .singleton
    ) async throws -> AccessClient {
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        try sync.addHandler(
                            ByteToMessageHandler(FrameDecoder(expectPreface: false, maxFrameSize: maxFrameSize)))
                        try sync.addHandler(MessageToByteHandler(FrameEncoder()))
                        try sync.addHandler(ClientHandler())
                    }
                }
                .connect(unixDomainSocketPath: socketPath).get()
        } catch {
            throw RPCError(.unavailable, "cannot connect to \(socketPath): \(error)")
        }
        let handler = try await channel.eventLoop.submit {
            NIOLoopBound(
                try channel.pipeline.syncOperations.handler(type: ClientHandler.self), eventLoop: channel.eventLoop)
        }.get()
        try await channel.writeAndFlush(OutboundMessage.raw(Preface.bytes))
        return AccessClient(channel: channel, handler: handler, defaultMetadata: defaultMetadata)
    }

    /// Closes the connection; calls still waiting end with UNAVAILABLE.
    public func close() async {
        try? await channel.close()
    }

    /// Calls a method with raw payload bytes and returns whatever status the server answered.
    public func call(
        method: String, payload: [UInt8], metadata: [MetadataEntry] = [], timeout: Duration? = nil
    ) async -> ClientResponse {
        let callID = allocateCallID()
        let milliseconds = timeout.map(Self.milliseconds) ?? 0
        let request = RequestFrame(
            callID: callID, method: method, timeoutMilliseconds: milliseconds, metadata: defaultMetadata + metadata,
            payload: payload)
        // The server answers at its deadline; the local timer only guards against a server that never does.
        let localDeadline: TimeAmount? = timeout == nil ? nil : .milliseconds(Int64(milliseconds) + 2000)
        let handler = self.handler
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<ClientResponse, Never>) in
                handler.eventLoop.execute {
                    handler.value.start(request, localDeadline: localDeadline, continuation: continuation)
                }
            }
        } onCancel: {
            handler.eventLoop.execute { handler.value.cancel(callID) }
        }
    }

    /// Calls a typed method; a non-OK status is thrown as `RPCError`.
    public func call<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: MethodSpec<Request, Response>, _ request: Request, metadata: [MetadataEntry] = [],
        timeout: Duration? = nil
    ) async throws -> Response {
        let response = await call(
            method: method.path, payload: try MessageCodec.encode(request), metadata: metadata, timeout: timeout)
        if let error = response.status.error { throw error }
        return try MessageCodec.decode(Response.self, from: response.payload)
    }

    /// Sends a Ping and waits for its Pong; returns the round-trip time.
    public func ping() async throws -> Duration {
        let nonce = nextNonce.add(1, ordering: .relaxed).newValue
        let start = ContinuousClock.now
        let handler = self.handler
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            handler.eventLoop.execute { handler.value.ping(nonce, continuation: continuation) }
        }
        return .now - start
    }

    /// Writes raw bytes on the connection (for protocol tests).
    public func writeRaw(_ bytes: [UInt8]) {
        let handler = self.handler
        handler.eventLoop.execute { handler.value.writeRaw(bytes) }
    }

    /// Waits until the server closes the connection.
    public func waitUntilClosed() async {
        try? await channel.closeFuture.get()
    }

    /// A timeout in whole milliseconds for the wire, at least 1.
    static func milliseconds(_ timeout: Duration) -> UInt32 {
        let (seconds, attoseconds) = timeout.components
        return UInt32(clamping: max(seconds * 1000 + attoseconds / 1_000_000_000_000_000, 1))
    }

    private func allocateCallID() -> UInt32 {
        while true {
            let id = nextCallID.add(1, ordering: .relaxed).newValue
            if id != 0 { return id }
        }
    }
}
