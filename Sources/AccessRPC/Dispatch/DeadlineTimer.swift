/// Arms the deadline of each call for the dispatcher: runs `expire` at `deadline` unless the returned handle is
/// cancelled first (the call finished).
public protocol DeadlineTimer: Sendable {
    func schedule(at deadline: ContinuousClock.Instant, _ expire: @escaping @Sendable () -> Void)
        -> any ArmedDeadline
}

/// A scheduled deadline; `cancel` disarms it (idempotent).
public protocol ArmedDeadline: Sendable {
    func cancel()
}

/// A deadline timer on Swift concurrency: one sleeping task per call. The default; the server passes its event
/// loops' timers instead (AccessServer's `EventLoopDeadlineTimer`), which cost no task.
public struct TaskDeadlineTimer: DeadlineTimer {
    public init() {}

    public func schedule(at deadline: ContinuousClock.Instant, _ expire: @escaping @Sendable () -> Void)
        -> any ArmedDeadline
    {
        SleepingTask(
            task: Task {
                guard (try? await Task.sleep(until: deadline, clock: .continuous)) != nil else { return }
                expire()
            })
    }

    struct SleepingTask: ArmedDeadline {
        let task: Task<Void, Never>
        func cancel() { task.cancel() }
    }
}
