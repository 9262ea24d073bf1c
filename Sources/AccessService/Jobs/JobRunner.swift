import AccessCore
import Foundation
import Logging
import ServiceLifecycle

/// Settings of the background workers.
public struct JobRunnerConfiguration: Sendable {
    /// Workers claiming jobs in parallel.
    public var workers: Int
    /// How long a claim is held without renewal; a dead worker's job is picked up after this.
    public var leaseSeconds: Int64
    /// How often an idle worker looks for work.
    public var pollInterval: Duration
    /// Attempts before a job is FAILED for good.
    public var maxAttempts: Int32
    /// First retry delay; doubled per attempt, with up to 50% jitter, capped at `maxBackoffSeconds`.
    public var baseBackoffSeconds: Int64
    public var maxBackoffSeconds: Int64
    /// Components handled per transaction.
    public var pageSize: Int

    public init(
        workers: Int = 2, leaseSeconds: Int64 = 60, pollInterval: Duration = .milliseconds(200), maxAttempts: Int32 = 5,
        baseBackoffSeconds: Int64 = 5, maxBackoffSeconds: Int64 = 600, pageSize: Int = 500
    ) {
        self.workers = workers
        self.leaseSeconds = leaseSeconds
        self.pollInterval = pollInterval
        self.maxAttempts = maxAttempts
        self.baseBackoffSeconds = baseBackoffSeconds
        self.maxBackoffSeconds = maxBackoffSeconds
        self.pageSize = pageSize
    }
}

/// Runs the durable jobs: claims with a lease, renews it as work progresses, records success or a failed
/// attempt (retried with exponential back-off and jitter), and hands an interrupted job back at shutdown.
/// Handlers recompute from stored data, so running one twice gives the same result.
public struct JobRunner: Service {
    let store: any ServiceStore
    let configuration: JobRunnerConfiguration
    let clock: any WallClock
    let logger: Logger
    let owner: String
    let billing: (any BillingProvider)?

    /// - Parameter billing: where the usage job reports usage; nil when billing is not configured.
    public init(
        store: any ServiceStore, configuration: JobRunnerConfiguration, billing: (any BillingProvider)? = nil,
        clock: any WallClock = SystemWallClock(), logger: Logger
    ) {
        self.store = store
        self.billing = billing
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        // host:pid:random, so an operator (or a test) can tell which process holds a job's lease.
        var generator = SystemRandomNumberGenerator()
        let process = ProcessInfo.processInfo
        self.owner = "\(process.hostName):\(process.processIdentifier):" + String(generator.next() as UInt64, radix: 36)
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for index in 0..<configuration.workers {
                group.addTask { await cancelWhenGracefulShutdown { await work(index) } }
            }
        }
    }

    /// Runs one job if one is due; returns false when there was none (tests drive the runner with this).
    @discardableResult
    public func runOnce(worker: Int = 0) async throws -> Bool {
        let owner = "\(self.owner)-\(worker)"
        guard let job = try await store.claim(owner: owner, now: now, leaseSeconds: configuration.leaseSeconds) else {
            return false
        }
        await execute(job, owner: owner)
        return true
    }

    private var now: Int64 { Int64(clock.now()) }

    private func work(_ index: Int) async {
        while !Task.isCancelled {
            do {
                if try await runOnce(worker: index) { continue }
            } catch {
                logger.warning("job queue unavailable", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: configuration.pollInterval)
        }
    }

    private func execute(_ job: JobRecord, owner: String) async {
        var jobLogger = logger
        jobLogger[metadataKey: "job-id"] = "\(job.id)"
        jobLogger[metadataKey: "kind"] = "\(job.kind.rawValue)"
        let lease = Lease(store: store, id: job.id, owner: owner, seconds: configuration.leaseSeconds, clock: clock)
        do {
            let result = try await JobHandlers(store: store, pageSize: configuration.pageSize, billing: billing).run(
                job, lease: lease)
            try await store.complete(id: job.id, owner: owner, result: result, now: now)
            jobLogger.info("job succeeded", metadata: ["attempt": "\(job.attempts)"])
        } catch is CancellationError {
            // Shutting down: hand the job back at once so the next start picks it up.
            try? await store.fail(id: job.id, owner: owner, error: "interrupted by shutdown", now: now, retryAt: now)
            jobLogger.info("job handed back at shutdown")
        } catch {
            let message = (error as? RPCError)?.message ?? "\(type(of: error))"
            let final = job.attempts >= configuration.maxAttempts
            let retryAt = final ? nil : now + backoff(attempt: job.attempts)
            try? await store.fail(id: job.id, owner: owner, error: message, now: now, retryAt: retryAt)
            jobLogger.warning(final ? "job failed" : "job attempt failed; retrying", metadata: ["error": "\(message)"])
        }
    }

    /// Exponential back-off with up to 50% jitter.
    func backoff(attempt: Int32) -> Int64 {
        let exponential = configuration.baseBackoffSeconds << Int64(max(0, min(Int(attempt) - 1, 20)))
        let capped = min(exponential, configuration.maxBackoffSeconds)
        return capped + Int64.random(in: 0...max(0, capped / 2))
    }
}

/// A job's claim, renewed as the handler makes progress.
struct Lease: Sendable {
    let store: any ServiceStore
    let id: Int64
    let owner: String
    let seconds: Int64
    let clock: any WallClock

    /// Extends the claim; throws when the worker lost it (another worker took the job over) or is cancelled.
    func renew() async throws {
        try Task.checkCancellation()
        guard try await store.renewLease(id: id, owner: owner, until: Int64(clock.now()) + seconds) else {
            throw RPCError(.aborted, "lost the lease of job \(id)")
        }
    }
}
