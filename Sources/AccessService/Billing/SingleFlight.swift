import AccessCore
import Synchronization

/// Runs one operation per key at a time: callers arriving while it runs wait for, and share, its result.
/// The first caller does the work in its own task, so nothing runs unstructured.
final class SingleFlight<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let waiting = Locked<[Key: [CheckedContinuation<Value, any Error>]]>([:])

    func run(_ key: Key, _ operation: @Sendable () async throws -> Value) async throws -> Value {
        let isLeader: Bool = waiting.withLock { table in
            if table[key] != nil { return false }
            table[key] = []
            return true
        }
        if !isLeader {
            return try await withCheckedThrowingContinuation { continuation in
                let joined = waiting.withLock { table -> Bool in
                    guard table[key] != nil else { return false }
                    table[key]?.append(continuation)
                    return true
                }
                // The leader finished between our two looks: nothing to join, the caller retries the call.
                if !joined { continuation.resume(throwing: RetryError()) }
            }
        }
        let result: Result<Value, any Error>
        do {
            result = .success(try await operation())
        } catch {
            result = .failure(error)
        }
        let followers = waiting.withLock { table in table.removeValue(forKey: key) ?? [] }
        for follower in followers { follower.resume(with: result) }
        return try result.get()
    }

    /// A follower that arrived just after the leader finished; the caller runs the operation itself.
    struct RetryError: Error {}
}
