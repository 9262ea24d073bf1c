import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Open gateway connections per client IP, shared by every connection of one gateway.
public final class PeerConnectionTable: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    let perPeer: Int

    public init(perPeer: Int) {
        self.perPeer = perPeer
    }

    /// Counts a new connection of `peer`; false (not counted) when the peer is at its cap.
    func open(_ peer: String) -> Bool {
        counts.withLock { counts in
            let now = counts[peer, default: 0]
            guard now < perPeer else { return false }
            counts[peer] = now + 1
            return true
        }
    }

    func close(_ peer: String) {
        counts.withLock { counts in
            let left = (counts[peer] ?? 1) - 1
            counts[peer] = left > 0 ? left : nil
        }
    }

    /// Connections open now (tests).
    public var total: Int { counts.withLock { $0.values.reduce(0, +) } }
}

/// Read deadlines and the per-peer cap of one gateway connection (<doc:Hardening>), after HTTP decoding:
/// - a new connection must deliver a complete request head within `headerTimeout`, an idle keep-alive one its
///   next head within `idleTimeout` of the previous response;
/// - a request's body must arrive in full within `bodyTimeout` of its head;
/// - a client IP may hold `perPeer` connections (more are closed at once).
/// A connection that misses a deadline is closed; the call's own deadline (which the body read counts toward)
/// is the responder's.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum Phase {
        case waitingForHead(first: Bool)
        case readingBody
        case responding
    }

    private let headerTimeout: TimeAmount
    private let bodyTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let table: PeerConnectionTable
    private let logger: Logger
    private var phase = Phase.waitingForHead(first: true)
    private var timer: Scheduled<Void>?
    private var counted: String?
    private var started = false

    init(
        headerTimeout: Duration, bodyTimeout: Duration, idleTimeout: Duration, table: PeerConnectionTable,
        logger: Logger
    ) {
        self.headerTimeout = .nanoseconds(headerTimeout.nanosecondsClamped)
        self.bodyTimeout = .nanoseconds(bodyTimeout.nanosecondsClamped)
        self.idleTimeout = .nanoseconds(idleTimeout.nanosecondsClamped)
        self.table = table
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        let peer = context.channel.remoteAddress?.ipAddress ?? "unknown"
        guard table.open(peer) else {
            logger.notice("gateway connection refused: too many from one address", metadata: ["peer": "\(peer)"])
            context.close(promise: nil)
            return
        }
        counted = peer
        arm(context, after: headerTimeout, "the request head did not arrive in time")
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        release()
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    private func release() {
        timer?.cancel()
        timer = nil
        if let peer = counted {
            counted = nil
            table.close(peer)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            phase = .readingBody
            arm(context, after: bodyTimeout, "the request body did not arrive in time")
        case .body:
            break
        case .end:
            phase = .responding
            timer?.cancel()
            timer = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            if case .responding = phase {
                phase = .waitingForHead(first: false)
                arm(context, after: idleTimeout, "idle keep-alive connection")
            }
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext, after delay: TimeAmount, _ reason: String) {
        timer?.cancel()
        let channel = context.channel
        let logger = self.logger
        timer = context.eventLoop.scheduleTask(in: delay) {
            logger.debug("closing a gateway connection", metadata: ["reason": "\(reason)"])
            channel.close(promise: nil)
        }
    }
}
