import AccessCore
import CPeerCredentials
import NIOCore

extension PeerCredentials {
    /// Reads the credentials of a connected Unix-socket channel; nil where the platform has no SO_PEERCRED
    /// or the channel is not a Unix socket. Completes at once when called on the channel's event loop.
    static func read(from channel: any Channel) -> EventLoopFuture<PeerCredentials?> {
        let option = akto_so_peercred()
        guard option >= 0, let provider = channel as? (any SocketOptionProvider) else {
            return channel.eventLoop.makeSucceededFuture(nil)
        }
        let future: EventLoopFuture<akto_ucred> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(akto_sol_socket()), name: SocketOptionName(option))
        return future.map { PeerCredentials(pid: $0.pid, uid: $0.uid, gid: $0.gid) }.recover { _ in nil }
    }
}
