import AccessRPC
import AccessCore
import AccessWire

/// Everything that bounds or shapes the Unix-socket server. Every limit has a default and a CLI flag.
public struct ServerConfiguration: Sendable {
    /// Where the socket file is created.
    public var socketPath: String
    /// Permission bits of the socket file; never wider than this from the moment it exists.
    public var socketMode: UInt16
    /// Largest frame body accepted from a client, in bytes.
    public var maxFrameSize: Int
    /// Calls one connection may have open at once; more get RESOURCE_EXHAUSTED.
    public var maxConcurrentCallsPerConnection: Int
    /// Connections open at once; more get GoAway(RESOURCE_EXHAUSTED).
    public var maxConnections: Int
    /// A connection with no open call and no traffic for this long is closed.
    public var idleTimeout: Duration
    /// How long in-flight calls may run after shutdown begins before they are cut off.
    public var drainTimeout: Duration
    /// When set, only peers with one of these uids may connect.
    public var allowedUIDs: Set<UInt32>?
    /// Bytes of answers a connection may leave unread in the server's buffers; past it the connection gets
    /// GoAway(RESOURCE_EXHAUSTED) and is closed. Reading stops earlier, while the socket is not writable.
    public var maxPendingOutboundBytes: Int

    public init(
        socketPath: String, socketMode: UInt16 = 0o660, maxFrameSize: Int = 1 << 20,
        maxConcurrentCallsPerConnection: Int = 128, maxConnections: Int = 4096, idleTimeout: Duration = .seconds(300),
        drainTimeout: Duration = .seconds(10), allowedUIDs: Set<UInt32>? = nil, maxPendingOutboundBytes: Int = 4 << 20
    ) {
        self.maxPendingOutboundBytes = maxPendingOutboundBytes
        self.socketPath = socketPath
        self.socketMode = socketMode
        self.maxFrameSize = maxFrameSize
        self.maxConcurrentCallsPerConnection = maxConcurrentCallsPerConnection
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
        self.drainTimeout = drainTimeout
        self.allowedUIDs = allowedUIDs
    }
}
