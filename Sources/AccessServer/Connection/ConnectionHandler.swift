import AccessCore
import AccessRPC
import AccessWire
import Logging
import NIOCore

/// The per-connection protocol state machine of AKRP v1. Lives on the channel's event loop, so the table of
/// open calls needs no lock and every Request is answered exactly once: whichever of completion, Cancel,
/// deadline or shutdown reaches `finish` first removes the call and writes its Response; later ones find
/// nothing to do.
///
/// Back-pressure (<doc:Hardening>): while the channel is not writable (the peer does not read its answers) the handler
/// holds back the channel's reads, so no new request or Ping is taken in; answers of calls already open that
/// still pile up past `maxPendingOutboundBytes` end the connection with GoAway(RESOURCE_EXHAUSTED).
final class ConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = InboundFrame
    typealias OutboundIn = OutboundMessage
    typealias OutboundOut = OutboundMessage

    private struct OpenCall {
        let signal: CancellationSignal
    }

    private enum State {
        case active
        /// GoAway sent; open calls may finish, new requests are refused; closes when none remain.
        case draining
        case closed
    }

    private let configuration: ServerConfiguration
    /// Arms each call's deadline, and answers synchronous methods here on the event loop.
    private let dispatcher: Dispatcher
    private let peer: Peer
    private let refusal: Status?
    private let work: AsyncStream<CallWork>.Continuation
    private let logger: Logger
    private var context: ChannelHandlerContext?
    private var state = State.active
    private var openCalls: [UInt32: OpenCall] = [:]
    private var lastCallID: UInt32 = 0
    private var drainTimer: Scheduled<Void>?
    private var idleTimer: Scheduled<Void>?
    /// Completes when the last frame written has reached the kernel; closing waits for it.
    private var lastWrite: EventLoopFuture<Void>?
    private var lastActivity = NIODeadline.now()
    private var flushScheduled = false
    /// A read the channel asked for while it was not writable; issued when it is again.
    private var readHeldBack = false

    /// - Parameter refusal: set when the connection is not admitted (uid allow-list, connection cap,
    ///   shutdown); the handler then answers with `GoAway(refusal)` and closes.
    init(
        configuration: ServerConfiguration, dispatcher: Dispatcher, peer: Peer, refusal: Status?,
        work: AsyncStream<CallWork>.Continuation, logger: Logger
    ) {
        self.configuration = configuration
        self.dispatcher = dispatcher
        self.peer = peer
        self.refusal = refusal
        self.work = work
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    private var started = false

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        if let refusal {
            fail(refusal)
            return
        }
        scheduleIdleCheck()
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .closed
        cancelAll(RPCError(.cancelled, "the connection closed"), respond: false)
        drainTimer?.cancel()
        idleTimer?.cancel()
        work.finish()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        work.finish()
        self.context = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error", metadata: ["peer": "\(peer)", "error": "\(error)"])
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            context.read()
        } else {
            readHeldBack = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable && readHeldBack {
            readHeldBack = false
            context.read()
        }
        context.fireChannelWritabilityChanged()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActivity = .now()
        switch unwrapInboundIn(data) {
        case .protocolError(let status):
            fail(status)
        case .frame(.request(let request)):
            received(request)
        case .frame(.cancel(let callID)):
            if let call = openCalls[callID] {
                guard call.signal.commitGate.abandon() else { return }
                let reason = RPCError(.cancelled, "the caller cancelled the call")
                call.signal.fire(reason)
                finish(callID, DispatchResult(status: Status(reason)))
            }
        case .frame(.ping(let nonce)):
            write(.pong(nonce: nonce))
        case .frame(.goAway):
            // The client is leaving: answer what is open, then close.
            beginDraining(sendGoAway: false)
        case .frame(.response):
            fail(Status(code: .invalidArgument, message: "protocol error: clients must not send Response frames"))
        case .frame(.pong):
            fail(Status(code: .invalidArgument, message: "protocol error: clients must not send Pong frames"))
        }
    }

    private func received(_ request: RequestFrame) {
        guard state != .closed else { return }
        guard request.callID != 0 else {
            fail(Status(code: .invalidArgument, message: "protocol error: call_id must be non-zero"))
            return
        }
        guard openCalls[request.callID] == nil else {
            fail(Status(code: .invalidArgument, message: "protocol error: call_id \(request.callID) is already open"))
            return
        }
        if state == .draining {
            write(
                .response(
                    ResponseFrame(
                        callID: request.callID,
                        status: Status(
                            code: .unavailable,
                            message: "the server is shutting down"))))
            return
        }
        guard openCalls.count < configuration.maxConcurrentCallsPerConnection else {
            write(
                .response(
                    ResponseFrame(
                        callID: request.callID,
                        status: Status(
                            code: .resourceExhausted,
                            message:
                                "more than \(configuration.maxConcurrentCallsPerConnection) concurrent calls on one connection"
                        ))))
            return
        }
        lastCallID = max(lastCallID, request.callID)
        let timeout: Duration? = request.timeoutMilliseconds > 0 ? .milliseconds(request.timeoutMilliseconds) : nil
        let dispatchRequest = DispatchRequest(
            method: request.method, metadata: request.metadata, payload: request.payload, timeout: timeout,
            startedAt: .now, peer: peer, transport: .socket)
        let callID = request.callID
        // Synchronous work (Health) is answered here on the loop: no task, no hop.
        if let result = dispatcher.dispatchSynchronously(dispatchRequest) {
            write(
                .response(
                    ResponseFrame(
                        callID: callID, status: result.status, metadata: result.metadata, payload: result.payload)))
            return
        }
        guard let eventLoop = context?.eventLoop else { return }
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let finish: @Sendable (DispatchResult) -> Void = { result in
            // Call tasks usually finish on this connection's loop (see `EventLoopTaskExecutor`).
            if eventLoop.inEventLoop {
                bound.value.finish(callID, result)
            } else {
                eventLoop.execute { bound.value.finish(callID, result) }
            }
        }
        // The dispatcher arms the deadline; when it passes the caller is answered at once, whether or not the
        // handler has noticed its cancellation yet.
        let signal = CancellationSignal(onDeadline: { reason in finish(DispatchResult(status: Status(reason))) })
        openCalls[callID] = OpenCall(signal: signal)
        work.yield(CallWork(callID: callID, request: dispatchRequest, signal: signal, complete: finish))
    }

    /// Writes the Response of an open call, once.
    private func finish(_ callID: UInt32, _ result: DispatchResult) {
        guard openCalls.removeValue(forKey: callID) != nil else { return }
        lastActivity = .now()
        let payload = result.status.code == .ok ? result.payload : []
        write(
            .response(ResponseFrame(callID: callID, status: result.status, metadata: result.metadata, payload: payload))
        )
        if state == .draining && openCalls.isEmpty { close() }
    }

    /// Writes a frame; the flush is deferred to the end of the event loop's current batch of jobs, so the
    /// responses of calls finishing together leave in one syscall instead of one each.
    private func write(_ frame: Frame) {
        guard state != .closed, let context else { return }
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.write(wrapOutboundOut(.frame(frame)), promise: promise)
        lastWrite = promise.futureResult
        if let buffered = try? context.channel.syncOptions?.getOption(ChannelOptions.bufferedWritableBytes),
            buffered > configuration.maxPendingOutboundBytes
        {
            overflow(context, buffered: buffered)
            return
        }
        guard !flushScheduled else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute { [weak self] in
            guard let self else { return }
            self.flushScheduled = false
            self.context?.flush()
        }
    }

    /// The peer leaves more than `maxPendingOutboundBytes` of answers unread: GoAway(RESOURCE_EXHAUSTED), open
    /// calls cancelled, and the connection closed now (what is buffered for it is dropped, never kept).
    private func overflow(_ context: ChannelHandlerContext, buffered: Int) {
        guard state != .closed else { return }
        logger.warning(
            "closing a connection that does not read its answers",
            metadata: ["peer": "\(peer)", "pending-bytes": "\(buffered)"])
        state = .closed
        let goAway = Frame.goAway(
            status: Status(
                code: .resourceExhausted,
                message: "more than \(configuration.maxPendingOutboundBytes) bytes of answers are unread"),
            lastCallID: lastCallID)
        context.writeAndFlush(wrapOutboundOut(.frame(goAway)), promise: nil)
        cancelAll(RPCError(.cancelled, "the connection closed"), respond: false)
        drainTimer?.cancel()
        idleTimer?.cancel()
        context.close(promise: nil)
    }

    /// Protocol error: GoAway with the reason, then close. In-flight calls are abandoned.
    private func fail(_ status: Status) {
        guard state != .closed else { return }
        logger.info("protocol error", metadata: ["peer": "\(peer)", "reason": "\(status.message)"])
        write(.goAway(status: status, lastCallID: lastCallID))
        cancelAll(RPCError(.cancelled, "the connection closed"), respond: false)
        close()
    }

    /// Graceful shutdown: GoAway, refuse new calls, let open ones finish within the drain timeout.
    func beginDraining(sendGoAway: Bool = true) {
        guard state == .active, let context else { return }
        state = .draining
        if sendGoAway {
            write(
                .goAway(
                    status: Status(code: .unavailable, message: "the server is shutting down"), lastCallID: lastCallID))
        }
        if openCalls.isEmpty {
            close()
            return
        }
        let nanoseconds = configuration.drainTimeout.nanosecondsClamped
        drainTimer = context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(nanoseconds)) { [weak self] in
            guard let self, self.state == .draining else { return }
            self.cancelAll(RPCError(.unavailable, "the server shut down before the call finished"), respond: true)
            self.close()
        }
    }

    private func cancelAll(_ reason: RPCError, respond: Bool) {
        for (callID, call) in openCalls {
            if respond {
                // A call that is committing is left to finish; the connection closes after what was written.
                guard call.signal.commitGate.abandon() else { continue }
                call.signal.fire(reason)
                finish(callID, DispatchResult(status: Status(reason)))
            } else {
                call.signal.fire(reason)
            }
        }
        if !respond { openCalls.removeAll() }
    }

    /// Closes once everything written so far has been flushed (a peer that does not read would otherwise
    /// lose its last responses and the GoAway); a peer that never reads is cut off after the drain timeout.
    private func close() {
        guard state != .closed, let context else { return }
        state = .closed
        drainTimer?.cancel()
        idleTimer?.cancel()
        guard let lastWrite else {
            context.close(promise: nil)
            return
        }
        let channel = context.channel
        let cutOff = context.eventLoop.scheduleTask(in: .nanoseconds(configuration.drainTimeout.nanosecondsClamped)) {
            channel.close(promise: nil)
        }
        lastWrite.whenComplete { _ in
            cutOff.cancel()
            channel.close(promise: nil)
        }
    }

    private func scheduleIdleCheck() {
        guard let context else { return }
        let timeout = TimeAmount.nanoseconds(configuration.idleTimeout.nanosecondsClamped)
        let due = max(lastActivity + timeout, .now() + .milliseconds(10))
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: due) { [weak self] in
            guard let self, self.state == .active else { return }
            if self.openCalls.isEmpty && NIODeadline.now() - self.lastActivity >= timeout {
                self.logger.debug("closing idle connection", metadata: ["peer": "\(self.peer)"])
                self.write(.goAway(status: Status(code: .ok, message: "idle timeout"), lastCallID: self.lastCallID))
                self.close()
            } else {
                self.scheduleIdleCheck()
            }
        }
    }
}
