import Synchronization

/// What a store needs to know about the call it works for (<doc:Hardening>), carried as task-locals set by the
/// dispatcher around the handler: the call's deadline, which bounds every lock wait and statement, and its
/// commit gate, which keeps a call from being answered as failed while its transaction may still commit.
public enum CallScope {
    @TaskLocal public static var deadline: ContinuousClock.Instant?
    @TaskLocal public static var commitGate: CommitGate?

    /// Milliseconds left before the call's deadline (nil without one; at least 1 while any time is left).
    public static func remainingMilliseconds(now: ContinuousClock.Instant = .now) -> Int64? {
        guard let deadline else { return nil }
        let left = deadline - now
        guard left > .zero else { return 0 }
        return max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)
    }
}

/// The race between a call's commit and its deadline (or its caller's Cancel), decided once: either the
/// transport gives up on the call first — and the store then rolls back instead of committing — or the store
/// starts committing first — and the transport then waits for the call's own answer, which is what the commit
/// decided. A call is never answered DEADLINE_EXCEEDED or CANCELLED while its transaction may still commit.
public final class CommitGate: Sendable {
    private struct State {
        var committing = 0
        var abandoned = false
    }

    private let state = Mutex(State())

    public init() {}

    /// The store is about to COMMIT (or, for SQLite's group commit, to run the call's part of a batch): false
    /// when the call was given up (roll back instead). Once it returned true, the transport waits for the
    /// call's own answer — unless `endCommit` says the transaction rolled back after all.
    public func beginCommit() -> Bool {
        state.withLock { state in
            guard !state.abandoned else { return false }
            state.committing += 1
            return true
        }
    }

    /// The transaction did not commit (COMMIT failed, or the batch rolled back): the transport may give up on
    /// the call again. Never called after a successful COMMIT.
    public func endCommit() {
        state.withLock { $0.committing = max(0, $0.committing - 1) }
    }

    /// The transport wants to answer the call as failed now: true when it may (no commit is under way, and none
    /// will start); false when a commit is under way — then the call's own answer must be awaited.
    public func abandon() -> Bool {
        state.withLock { state in
            guard state.committing == 0 else { return false }
            state.abandoned = true
            return true
        }
    }

    public var isAbandoned: Bool { state.withLock { $0.abandoned } }
}
