import NIOCore

/// A Swift concurrency task executor that runs jobs on one NIO event loop.
///
/// Each connection's call tasks prefer the executor of the connection's own event loop: a call whose handler
/// never suspends on anything else (Health, validation failures, permission denials) runs from frame decoded to
/// response written on one thread, with no hop to the concurrency pool and back (the profile in `BENCHMARKS.md` showed those
/// hops — futex wake-ups and task switches — as a quarter of the server's CPU per call). A handler that awaits
/// the database hops to the database's queue and resumes here.
final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: both stored properties are immutable and `EventLoop` is Sendable.
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
