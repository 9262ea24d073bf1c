import AccessCore
import AccessWire
import NIOCore

/// The client side of AKRP v1 on the channel's event loop: the table of calls awaiting their Response.
final class ClientHandler: ChannelInboundHandler {
    typealias InboundIn = InboundFrame
    typealias OutboundOut = OutboundMessage

    private var context: ChannelHandlerContext?
    private var pending: [UInt32: CheckedContinuation<ClientResponse, Never>] = [:]
    private var pings: [UInt64: CheckedContinuation<Void, any Error>] = [:]
    /// Set once the server sent GoAway or the connection closed: no new calls.
    private var closedReason: Status?
    private var goAwayLastCallID: UInt32?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// Sends a request and resumes `continuation` with its Response (or a local failure).
    func start(
        _ request: RequestFrame, localDeadline: TimeAmount?, continuation: CheckedContinuation<ClientResponse, Never>
    ) {
        if let closedReason {
            continuation.resume(returning: ClientResponse(status: closedReason, metadata: [], payload: []))
            return
        }
        guard let context else {
            continuation.resume(returning: Self.unavailable("the connection is closed"))
            return
        }
        pending[request.callID] = continuation
        context.writeAndFlush(wrapOutboundOut(.frame(.request(request))), promise: nil)
        if let localDeadline {
            let callID = request.callID
            context.eventLoop.assumeIsolated().scheduleTask(in: localDeadline) { [weak self] in
                self?.complete(callID, Self.failure(.deadlineExceeded, "no response before the deadline"))
            }
        }
    }

    /// Asks the server to cancel a call; its CANCELLED Response completes it.
    func cancel(_ callID: UInt32) {
        guard pending[callID] != nil, let context else { return }
        context.writeAndFlush(wrapOutboundOut(.frame(.cancel(callID: callID))), promise: nil)
    }

    func ping(_ nonce: UInt64, continuation: CheckedContinuation<Void, any Error>) {
        guard closedReason == nil, let context else {
            continuation.resume(throwing: RPCError(.unavailable, "the connection is closed"))
            return
        }
        pings[nonce] = continuation
        context.writeAndFlush(wrapOutboundOut(.frame(.ping(nonce: nonce))), promise: nil)
    }

    /// Sends raw bytes (used by tests that speak broken protocol on purpose).
    func writeRaw(_ bytes: [UInt8]) {
        guard let context else { return }
        context.writeAndFlush(wrapOutboundOut(.raw(bytes)), promise: nil)
    }

    /// The GoAway the server sent, if any.
    var goAway: Status? { goAwayLastCallID == nil ? nil : closedReason }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .frame(.response(let response)):
            complete(
                response.callID,
                ClientResponse(status: response.status, metadata: response.metadata, payload: response.payload))
        case .frame(.pong(let nonce)):
            pings.removeValue(forKey: nonce)?.resume()
        case .frame(.goAway(let status, let lastCallID)):
            closedReason = Status(code: .unavailable, message: "the server sent GoAway: \(status.message)")
            goAwayLastCallID = lastCallID
            // Calls the server never saw will not be answered.
            for callID in pending.keys where callID > lastCallID {
                complete(callID, Self.unavailable("the server is going away and did not start this call"))
            }
        case .frame(.ping(let nonce)):
            context.writeAndFlush(wrapOutboundOut(.frame(.pong(nonce: nonce))), promise: nil)
        case .frame(.request), .frame(.cancel):
            context.close(promise: nil)
        case .protocolError(let status):
            closedReason = Status(code: .unavailable, message: "protocol error from the server: \(status.message)")
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if closedReason == nil { closedReason = Status(code: .unavailable, message: "the connection closed") }
        let reason = closedReason!
        for callID in pending.keys { complete(callID, ClientResponse(status: reason, metadata: [], payload: [])) }
        for (_, ping) in pings { ping.resume(throwing: reason.error ?? RPCError(.unavailable, "closed")) }
        pings.removeAll()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func complete(_ callID: UInt32, _ response: ClientResponse) {
        pending.removeValue(forKey: callID)?.resume(returning: response)
    }

    static func failure(_ code: StatusCode, _ message: String) -> ClientResponse {
        ClientResponse(status: Status(code: code, message: message), metadata: [], payload: [])
    }

    static func unavailable(_ message: String) -> ClientResponse { failure(.unavailable, message) }
}
