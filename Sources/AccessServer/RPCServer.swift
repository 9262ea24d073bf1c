import AccessCore
import AccessRPC
import AccessWire
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The AKRP v1 server on a Unix domain socket, run as a `Service`.
///
/// `run()` prepares the socket path (refusing one a live server owns), binds with a restrictive umask,
/// serves each connection in a child task, and on graceful shutdown (or `beginShutdown()`) stops accepting,
/// sends GoAway on every connection, lets in-flight calls finish within the drain timeout, and removes the
/// socket file before returning.
public final class RPCServer: Service, Sendable {
    private enum Phase {
        case idle
        case listening
        case stopped
    }

    private struct Shared {
        var phase = Phase.idle
        var listeners: [CheckedContinuation<Void, any Error>] = []
        var serverChannel: (any Channel)?
        var connections: [Int: NIOLoopBound<ConnectionHandler>] = [:]
        var nextConnectionID = 0
        var connectionCount = 0
        var shuttingDown = false
    }

    public let configuration: ServerConfiguration
    private let dispatcher: Dispatcher
    private let servingState: ServingState
    private let group: MultiThreadedEventLoopGroup
    private let logger: Logger
    private let shared = Locked(Shared())
    private let runningCalls = Atomic<Int>(0)

    public init(
        configuration: ServerConfiguration, dispatcher: Dispatcher, servingState: ServingState = ServingState(),
        group: MultiThreadedEventLoopGroup = .singleton, logger: Logger
    ) {
        self.configuration = configuration
        self.dispatcher = dispatcher
        self.servingState = servingState
        self.group = group
        self.logger = logger
    }

    /// Calls currently being handled, over all connections.
    public var activeCalls: Int { runningCalls.load(ordering: .relaxed) }

    /// Returns once the socket accepts connections; throws if the server failed to start.
    public func waitUntilListening() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let ready: Bool? = shared.withLock { shared in
                switch shared.phase {
                case .listening: return true
                case .stopped: return false
                case .idle:
                    shared.listeners.append(continuation)
                    return nil
                }
            }
            switch ready {
            case true?: continuation.resume()
            case false?: continuation.resume(throwing: RPCError(.unavailable, "the server is not running"))
            case nil: break
            }
        }
    }

    /// Starts the graceful shutdown (also triggered by ServiceLifecycle's graceful shutdown).
    public func beginShutdown() {
        let (channel, connections): ((any Channel)?, [NIOLoopBound<ConnectionHandler>]) = shared.withLock { shared in
            shared.shuttingDown = true
            return (shared.serverChannel, Array(shared.connections.values))
        }
        servingState.beginDraining()
        channel?.close(promise: nil)
        for connection in connections {
            connection.eventLoop.execute { connection.value.beginDraining() }
        }
    }

    public func run() async throws {
        do {
            try await serve()
        } catch {
            resolveListeners(with: error)
            throw error
        }
        resolveListeners(with: RPCError(.unavailable, "the server stopped"))
    }

    private func serve() async throws {
        let path = configuration.socketPath
        try SocketFile.prepare(path)
        let server = try await SocketFile.withRestrictiveUmask(mode: configuration.socketMode) {
            try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .childChannelOption(.allowRemoteHalfClosure, value: false)
                .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: false) { channel in
                    self.initialize(channel)
                }
        }
        defer { SocketFile.remove(path) }
        try SocketFile.setMode(path, mode: configuration.socketMode)
        let alreadyStopping = shared.withLock { shared -> Bool in
            shared.serverChannel = server.channel
            shared.phase = .listening
            return shared.shuttingDown
        }
        resolveListeners(with: nil)
        logger.info(
            "listening", metadata: ["socket": "\(path)", "mode": "\(String(configuration.socketMode, radix: 8))"])
        if alreadyStopping { server.channel.close(promise: nil) }

        try await withGracefulShutdownHandler {
            try await server.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { connections in
                    for try await connection in inbound {
                        connections.addTask { await self.serve(connection) }
                    }
                }
            }
        } onGracefulShutdown: {
            self.beginShutdown()
        }
        logger.info("stopped", metadata: ["socket": "\(path)"])
    }

    /// Sets up one accepted channel: peer credentials, admission, framing, and the protocol handler.
    private func initialize(_ channel: any Channel) -> EventLoopFuture<AcceptedConnection> {
        PeerCredentials.read(from: channel).flatMapThrowing { credentials in
            let (refusal, id): (Status?, Int) = self.shared.withLock { shared in
                shared.nextConnectionID += 1
                let id = shared.nextConnectionID
                if let allowed = self.configuration.allowedUIDs,
                    !(credentials.map { allowed.contains($0.uid) } ?? false)
                {
                    return (
                        Status(code: .permissionDenied, message: "connection refused: this uid may not connect"), id
                    )
                }
                if shared.shuttingDown {
                    return (Status(code: .unavailable, message: "the server is shutting down"), id)
                }
                guard shared.connectionCount < self.configuration.maxConnections else {
                    return (
                        Status(
                            code: .resourceExhausted,
                            message: "the server has \(self.configuration.maxConnections) connections open"), id
                    )
                }
                shared.connectionCount += 1
                return (nil, id)
            }
            let admitted = refusal == nil
            let (stream, continuation) = AsyncStream.makeStream(of: CallWork.self)
            var connectionLogger = self.logger
            connectionLogger[metadataKey: "peer"] = "\(Peer.unix(credentials))"
            let handler = ConnectionHandler(
                configuration: self.configuration, dispatcher: self.dispatcher, peer: .unix(credentials),
                refusal: refusal, work: continuation, logger: connectionLogger)
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(
                ByteToMessageHandler(
                    FrameDecoder(
                        expectPreface: true, maxFrameSize: self.configuration.maxFrameSize,
                        limits: self.dispatcher.limits.codec)))
            try sync.addHandler(MessageToByteHandler(FrameEncoder()))
            try sync.addHandler(handler)
            if admitted {
                let bound = NIOLoopBound(handler, eventLoop: channel.eventLoop)
                self.shared.withLock { $0.connections[id] = bound }
            }
            if let refusal {
                connectionLogger.warning("connection refused", metadata: ["reason": "\(refusal.message)"])
            }
            return AcceptedConnection(channel: channel, id: id, admitted: admitted, work: stream)
        }
    }

    /// Runs the calls of one connection until it closes; each call is a child task. The loop and the call
    /// tasks prefer the connection's event loop as their executor, so a call hops threads only when its
    /// handler awaits something that runs elsewhere (the database).
    private func serve(_ connection: AcceptedConnection) async {
        await withTaskExecutorPreference(EventLoopTaskExecutor(connection.channel.eventLoop)) {
            await withDiscardingTaskGroup { calls in
                for await work in connection.work {
                    calls.addTask {
                        self.runningCalls.add(1, ordering: .relaxed)
                        let result = await self.dispatcher.dispatch(work.request, signal: work.signal, inCallTask: true)
                        self.runningCalls.subtract(1, ordering: .relaxed)
                        work.complete(result)
                    }
                }
            }
        }
        try? await connection.channel.closeFuture.get()
        if connection.admitted {
            shared.withLock { shared in
                shared.connections[connection.id] = nil
                shared.connectionCount -= 1
            }
        }
    }

    private func resolveListeners(with error: (any Error)?) {
        let listeners = shared.withLock { shared in
            if error != nil { shared.phase = .stopped }
            defer { shared.listeners = [] }
            return shared.listeners
        }
        for listener in listeners {
            if let error { listener.resume(throwing: error) } else { listener.resume() }
        }
    }
}

/// An accepted connection as the accept loop hands it to its child task.
struct AcceptedConnection: Sendable {
    let channel: any Channel
    let id: Int
    let admitted: Bool
    let work: AsyncStream<CallWork>
}
