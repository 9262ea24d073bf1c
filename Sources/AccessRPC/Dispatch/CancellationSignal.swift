import AccessCore
import Synchronization

/// Tells a running call to stop: fired by a transport when the caller cancels or the deadline passes.
///
/// The first `fire` wins and records why; `wait()` returns once it has fired, or when the waiting task is
/// itself cancelled.
public final class CancellationSignal: Sendable {
    private enum State {
        case idle
        case waiting(CheckedContinuation<Void, Never>)
        case fired(RPCError)
    }

    private let state = Mutex<State>(.idle)

    public init() {}

    /// Fires the signal; returns false when it had already fired.
    @discardableResult
    public func fire(_ reason: RPCError) -> Bool {
        let (won, waiter): (Bool, CheckedContinuation<Void, Never>?) = state.withLock { state in
            switch state {
            case .fired:
                return (false, nil)
            case .idle:
                state = .fired(reason)
                return (true, nil)
            case .waiting(let continuation):
                state = .fired(reason)
                return (true, continuation)
            }
        }
        waiter?.resume()
        return won
    }

    /// Why the signal fired, nil while it has not.
    public var reason: RPCError? {
        state.withLock { state in
            if case .fired(let reason) = state { return reason }
            return nil
        }
    }

    /// Suspends until the signal fires or the calling task is cancelled. One waiter at a time.
    public func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                // Checked under the lock: a cancellation that ran `onCancel` before the continuation was stored
                // has already set the flag, so it cannot be lost.
                let resumeNow = state.withLock { state -> Bool in
                    switch state {
                    case .fired: return true
                    case .idle, .waiting:
                        if Task.isCancelled { return true }
                        state = .waiting(continuation)
                        return false
                    }
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
                if case .waiting(let continuation) = state {
                    state = .idle
                    return continuation
                }
                return nil
            }
            waiter?.resume()
        }
    }
}
