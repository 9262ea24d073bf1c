import AccessCore
import GRDB
import Synchronization

/// Group commit for the one SQLite writer.
///
/// Concurrent write calls queue here; the writer takes everything queued (up to `maxBatch`) and runs it in
/// one IMMEDIATE transaction, each call in its own savepoint, then commits once — one fsync for the batch
/// instead of one per call. Each call still gets its own outcome:
/// - a call whose body throws an `RPCError` (a rule it broke) has only its own savepoint rolled back, and gets
///   its error after the batch commits;
/// - a database error inside a call aborts the whole transaction: that call fails with UNAVAILABLE and the
///   rest of the batch runs again in the next transaction (their changes were rolled back with it);
/// - a failed COMMIT fails every call of the batch with UNAVAILABLE.
/// Nobody is answered before the transaction holding their change has committed, so an OK is as durable as
/// the configured `synchronous` mode makes a commit. Calls run in arrival order, so the batch is serial.
final class GroupCommitter: Sendable {
    /// One queued call: `run` executes its body and returns how to deliver its result once committed;
    /// `fail` answers it with an error.
    private struct Pending: Sendable {
        let run: @Sendable (Database) throws -> @Sendable () -> Void
        let fail: @Sendable (any Error) -> Void
        /// The call's commit gate (<doc:Hardening>): claimed before its part of a batch runs, so a call the transport
        /// gave up on never commits, and one that may commit is answered with what the commit decided.
        let gate: CommitGate?
    }

    private struct State {
        var queue: [Pending] = []
        var draining = false
    }

    private let pool: DatabasePool
    private let maxBatch: Int
    private let state = Locked(State())
    /// Transactions committed so far (each holding one or more calls).
    let committedTransactions = Atomic<Int>(0)

    /// Calls waiting for the writer.
    var queued: Int { state.withLock { $0.queue.count } }

    init(pool: DatabasePool, maxBatch: Int) {
        self.pool = pool
        self.maxBatch = max(1, maxBatch)
    }

    /// Runs `body` in a write transaction shared with whatever else is queued; returns after the commit.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let pending = Pending(
                run: { db in
                    let value = try body(db)
                    return { continuation.resume(returning: value) }
                },
                fail: { error in continuation.resume(throwing: error) }, gate: CallScope.commitGate)
            let startDrain = state.withLock { state -> Bool in
                state.queue.append(pending)
                guard !state.draining else { return false }
                state.draining = true
                return true
            }
            if startDrain { pool.asyncWriteWithoutTransaction { db in self.drain(db) } }
        }
    }

    /// Runs on the writer: commits batches until the queue is empty.
    private func drain(_ db: Database) {
        while true {
            let batch = state.withLock { state -> [Pending] in
                guard !state.queue.isEmpty else {
                    state.draining = false
                    return []
                }
                let count = min(maxBatch, state.queue.count)
                defer { state.queue.removeFirst(count) }
                return Array(state.queue.prefix(count))
            }
            if batch.isEmpty { return }
            var remaining = batch[...]
            while !remaining.isEmpty { remaining = commit(remaining, db) }
        }
    }

    /// Commits one transaction holding as many of `batch` as it can; returns the calls still to run (after a
    /// database error aborted the transaction).
    private func commit(_ batch: ArraySlice<Pending>, _ db: Database) -> ArraySlice<Pending> {
        var outcomes: [@Sendable () -> Void] = []
        outcomes.reserveCapacity(batch.count)
        var aborted: (index: Int, error: any Error)?
        var claimed: [CommitGate] = []
        do {
            try db.inTransaction(.immediate) {
                for index in batch.indices {
                    let item = batch[index]
                    if let gate = item.gate {
                        guard gate.beginCommit() else {
                            outcomes.append {
                                item.fail(
                                    RPCError(
                                        .deadlineExceeded,
                                        "the call's deadline passed while it waited for the database; nothing was saved"
                                    ))
                            }
                            continue
                        }
                        claimed.append(gate)
                    }
                    do {
                        var deliver: (@Sendable () -> Void)?
                        try db.inSavepoint {
                            deliver = try item.run(db)
                            return .commit
                        }
                        if let deliver { outcomes.append(deliver) }
                    } catch let error as RPCError {
                        outcomes.append { item.fail(error) }
                    } catch {
                        aborted = (index, error)
                        return .rollback
                    }
                }
                return .commit
            }
        } catch {
            // BEGIN or COMMIT failed: nothing of this batch is durable.
            for gate in claimed { gate.endCommit() }
            let failure = SQLiteAccountStore.unavailable(error)
            for item in batch { item.fail(failure) }
            return []
        }
        if let aborted {
            for gate in claimed { gate.endCommit() }
            batch[aborted.index].fail(SQLiteAccountStore.unavailable(aborted.error))
            var rest = batch
            rest.remove(at: aborted.index)
            return rest
        }
        committedTransactions.add(1, ordering: .relaxed)
        for deliver in outcomes { deliver() }
        return []
    }
}
