/// One audit row: who did what to what, when, and from where. Never holds a secret.
public struct AuditEntry: Sendable, Hashable {
    public var actorUserID: Int32?
    public var actorEmail: String
    public var accountID: Int32?
    public var operation: String
    public var target: String
    public var timestamp: Int64
    public var transport: String
    public var peer: String

    public init(
        actorUserID: Int32?, actorEmail: String, accountID: Int32?, operation: String, target: String,
        timestamp: Int64, transport: String, peer: String
    ) {
        self.actorUserID = actorUserID
        self.actorEmail = actorEmail
        self.accountID = accountID
        self.operation = operation
        self.target = target
        self.timestamp = timestamp
        self.transport = transport
        self.peer = peer
    }
}
