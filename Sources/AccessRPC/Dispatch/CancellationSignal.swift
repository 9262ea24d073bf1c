import AccessCore
import Synchronization

/// Tells a running call to stop: fired by the dispatcher when the call's deadline passes (`expire`), or by a
/// transport when the caller cancels or the server shuts down.
///
/// The first `fire` wins and records why. A call runs its handler inside `cancelling(_:)`, so firing cancels
/// the handler's task directly — no watcher task per call. `wait()` is for code that wants to suspend until
/// the signal fires.
public final class CancellationSignal: Sendable {
    private struct State {
        var reason: RPCError?
        var waiter: CheckedContinuation<Void, Never>?
        /// The task running inside `cancelling(_:)`; only stored while that call is on the stack, and cleared
        /// under the lock before it returns, so `fire` never touches a task that has finished.
        var task: RunningTask?
    }

    /// `UnsafeCurrentTask` is not Sendable; the lock and the clear-before-return rule above make sharing it safe.
    private struct RunningTask: @unchecked Sendable {
        let task: UnsafeCurrentTask
    }

    private let state = Locked<State>(State())
    /// The call's commit gate: a transport that wants to answer the call as failed before it finished asks
    /// `commitGate.abandon()` first (<doc:Hardening>).
    public let commitGate = CommitGate()

    /// Told when the dispatcher's deadline fired the signal (not when the transport fired it): a transport that
    /// answers before the handler returns (the socket) writes DEADLINE_EXCEEDED then.
    private let onDeadline: (@Sendable (RPCError) -> Void)?

    public init(onDeadline: (@Sendable (RPCError) -> Void)? = nil) {
        self.onDeadline = onDeadline
    }

    /// The call's deadline passed (the dispatcher's timer): fires DEADLINE_EXCEEDED and tells `onDeadline`,
    /// unless the call's transaction is already committing — that call is answered with what the commit
    /// decided.
    public func expire() {
        guard commitGate.abandon() else { return }
        let reason = RPCError(.deadlineExceeded, "the call's deadline passed")
        if fire(reason) { onDeadline?(reason) }
    }

    /// Fires the signal; returns false when it had already fired.
    @discardableResult
    public func fire(_ reason: RPCError) -> Bool {
        let (won, waiter): (Bool, CheckedContinuation<Void, Never>?) = state.withLock { state in
            guard state.reason == nil else { return (false, nil) }
            state.reason = reason
            // Cancelling under the lock: the task cannot leave `cancelling` (which clears it) meanwhile.
            state.task?.task.cancel()
            defer { state.waiter = nil }
            return (true, state.waiter)
        }
        waiter?.resume()
        return won
    }

    /// Why the signal fired, nil while it has not.
    public var reason: RPCError? {
        state.withLock { $0.reason }
    }

    /// Runs `body` in the current task, cancelling that task if the signal fires before `body` returns (or
    /// at once if it already fired). One `cancelling` at a time per signal.
    public func cancelling<T>(_ body: () async throws -> T) async throws -> T {
        withUnsafeCurrentTask { task in
            guard let task else { return }
            let running = RunningTask(task: task)
            state.withLock { state in
                if state.reason != nil {
                    running.task.cancel()
                } else {
                    state.task = running
                }
            }
        }
        defer { state.withLock { $0.task = nil } }
        return try await body()
    }

    /// Suspends until the signal fires or the calling task is cancelled. One waiter at a time.
    public func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                // Checked under the lock: a cancellation that ran `onCancel` before the continuation was stored
                // has already set the flag, so it cannot be lost.
                let resumeNow = state.withLock { state -> Bool in
                    if state.reason != nil || Task.isCancelled { return true }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}
