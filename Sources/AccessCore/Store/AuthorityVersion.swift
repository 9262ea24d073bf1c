/// A number every write that can change what a credential stands for moves forward before it is acknowledged:
/// revoking or signing out a session or token, changing a member's roles, removing a member, changing or deleting
/// a custom role, renaming a user or an account, deleting any of them. A cache of principals tags each entry with
/// the version read *before* the entry's data, and trusts an entry only while the version is still that number —
/// so an acknowledged revocation is seen by the very next call, in this process or another (<doc:Storage>).
public protocol AuthorityVersion: Sendable {
    /// The version now when it can be read without waiting (a load from shared memory), else nil.
    func currentNow() -> UInt64?
    /// The version now, with a round trip when the store needs one (PostgreSQL: one single-row read).
    func current() async throws -> UInt64
}

extension AuthorityVersion {
    public func currentNow() -> UInt64? { nil }
}
