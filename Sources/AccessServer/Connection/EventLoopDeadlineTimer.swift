import AccessCore
import AccessRPC
import NIOCore
import NIOPosix

/// The dispatcher's deadlines on NIO's event-loop timers: a scheduled task on the current loop (the
/// connection's, for a socket call), no Swift task per call.
public struct EventLoopDeadlineTimer: DeadlineTimer {
    private let group: any EventLoopGroup

    public init(group: any EventLoopGroup) {
        self.group = group
    }

    /// On NIO's process-wide loops, the ones `RPCServer` runs on by default.
    public static var shared: EventLoopDeadlineTimer {
        EventLoopDeadlineTimer(group: MultiThreadedEventLoopGroup.singleton)
    }

    public func schedule(at deadline: ContinuousClock.Instant, _ expire: @escaping @Sendable () -> Void)
        -> any ArmedDeadline
    {
        let delay = (deadline - .now).nanosecondsClamped
        return Armed(scheduled: group.any().scheduleTask(in: .nanoseconds(max(delay, 0))) { expire() })
    }

    struct Armed: ArmedDeadline {
        let scheduled: Scheduled<Void>
        func cancel() { scheduled.cancel() }
    }
}
