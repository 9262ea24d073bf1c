import AccessCore
import Synchronization
import Testing

@testable import AccessRPC

@Suite struct CancellationSignalTests {
    /// Runs `body` and reports whether it finished within `limit`. The body runs in its own task that is
    /// abandoned if it hangs, so a regression fails the test instead of hanging the whole run.
    private func finishes(within limit: Duration, _ body: @escaping @Sendable () async -> Void) async -> Bool {
        let done = Flag()
        let task = Task {
            await body()
            done.set()
        }
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if done.isSet { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        task.cancel()
        return done.isSet
    }

    @Test func aWaiterThatWasCancelledBeforeWaitingReturns() async {
        // Regression: onCancel ran before the continuation was stored, so nothing ever resumed it.
        let signal = CancellationSignal()
        let finished = await finishes(within: .seconds(30)) {
            await Task {
                withUnsafeCurrentTask { $0?.cancel() }
                await signal.wait()
            }.value
        }
        #expect(finished)
        #expect(signal.reason == nil)
    }

    @Test func aWaiterCancelledWhileWaitingReturns() async {
        let signal = CancellationSignal()
        let finished = await finishes(within: .seconds(30)) {
            let task = Task { await signal.wait() }
            try? await Task.sleep(for: .milliseconds(20))
            task.cancel()
            await task.value
        }
        #expect(finished)
    }

    @Test func firingWakesTheWaiterAndTheFirstReasonWins() async {
        let signal = CancellationSignal()
        let finished = await finishes(within: .seconds(30)) {
            async let waiting: Void = signal.wait()
            try? await Task.sleep(for: .milliseconds(20))
            signal.fire(RPCError(.cancelled, "first"))
            signal.fire(RPCError(.deadlineExceeded, "second"))
            await waiting
        }
        #expect(finished)
        #expect(signal.reason == RPCError(.cancelled, "first"))
    }

    @Test func waitingAfterFiringReturnsAtOnce() async {
        let signal = CancellationSignal()
        signal.fire(RPCError(.cancelled, "done"))
        #expect(await finishes(within: .seconds(30)) { await signal.wait() })
    }
}

final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .sequentiallyConsistent) }
    var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
}
