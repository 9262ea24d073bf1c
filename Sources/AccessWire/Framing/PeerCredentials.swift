import AccessProtoC
import NIOCore

/// The kernel's view of the process at the other end of a Unix socket (SO_PEERCRED).
public struct PeerCredentials: Sendable, Hashable, CustomStringConvertible {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32

    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    public var description: String { "uid=\(uid) gid=\(gid) pid=\(pid)" }

    /// Reads the credentials of a connected Unix-socket channel; nil where the platform has no SO_PEERCRED
    /// or the channel is not a Unix socket. Completes at once when called on the channel's event loop.
    public static func read(from channel: any Channel) -> EventLoopFuture<PeerCredentials?> {
        let option = akto_so_peercred()
        guard option >= 0, let provider = channel as? (any SocketOptionProvider) else {
            return channel.eventLoop.makeSucceededFuture(nil)
        }
        let future: EventLoopFuture<akto_ucred> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(akto_sol_socket()), name: SocketOptionName(option))
        return future.map { PeerCredentials(pid: $0.pid, uid: $0.uid, gid: $0.gid) }.recover { _ in nil }
    }
}
