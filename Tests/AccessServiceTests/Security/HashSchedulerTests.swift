import AccessCore
import Dispatch
import Foundation
import Synchronization
import Testing

@testable import AccessService

@Suite struct HashSchedulerTests {
    static func caller(_ peer: String, perPeer: Int = 100, seconds: Int64 = 600) -> HashCaller {
        HashCaller(
            peer: peer, deadline: .now + .seconds(seconds), limits: HashAdmissionLimits(perPeer: perPeer, total: 1000))
    }

    @Test func runsAtMostWidthJobsAtOnce() async throws {
        let work = HashScheduler(width: 2)
        let gauge = Gauge()
        let labels = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<12 {
                group.addTask {
                    try await work.run(Self.caller("peer-\(index % 3)")) {
                        let now = gauge.running.add(1, ordering: .relaxed).newValue
                        gauge.peak.max(now, ordering: .relaxed)
                        usleep(20_000)
                        gauge.running.subtract(1, ordering: .relaxed)
                        return Thread.current.name ?? ""
                    }
                }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(labels.count == 12)
        #expect(gauge.peak.load(ordering: .relaxed) <= 2)
    }

    /// <doc:Hardening>: a peer past its share is refused at once with RESOURCE_EXHAUSTED; another peer is admitted and
    /// served in turn with the flooder, not after its whole backlog.
    @Test func aFloodingPeerIsShedAndOthersAreServedInTurn() async throws {
        let work = HashScheduler(width: 1)
        let recorder = Recorder()
        let gate = DispatchSemaphore(value: 0)
        // The first job holds the only thread until the queue is set up.
        async let first: Void = work.run(Self.caller("flood", perPeer: 4)) { gate.wait() }
        // Polled, not slept: the steps below must happen in this order however busy the machine is.
        try await Self.waitUntil { work.inFlight == 1 }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<10 {
                group.addTask {
                    do {
                        try await work.run(Self.caller("flood", perPeer: 4)) {
                            recorder.order.withLock { $0.append("flood") }
                        }
                    } catch let error as RPCError where error.code == .resourceExhausted {
                        recorder.count.add(1, ordering: .relaxed)
                    }
                }
            }
            try await Self.waitUntil { recorder.count.load(ordering: .relaxed) == 7 && work.inFlight == 4 }
            group.addTask {
                try await work.run(Self.caller("owner")) { recorder.order.withLock { $0.append("owner") } }
            }
            try await Self.waitUntil { work.inFlight == 5 }
            gate.signal()
            try await group.waitForAll()
        }
        try await first
        #expect(recorder.count.load(ordering: .relaxed) == 7)  // 4 in flight per peer: the held job and 3 queued
        let served = recorder.order.withLock { $0 }
        #expect(served.count == 4)
        #expect(served.firstIndex(of: "owner").map { $0 <= 1 } == true, "\(served)")
    }

    /// A hash whose deadline passed while it waited, or whose call was cancelled, never runs.
    @Test func expiredAndCancelledJobsAreNotRun() async throws {
        let work = HashScheduler(width: 1)
        let recorder = Recorder()
        let gate = DispatchSemaphore(value: 0)
        async let holder: Void = work.run(Self.caller("a")) { gate.wait() }
        try await Task.sleep(for: .milliseconds(50))
        let expiring = Task {
            try await work.run(HashCaller(peer: "b", deadline: .now + .milliseconds(100))) {
                recorder.count.add(1, ordering: .relaxed)
            }
        }
        let cancelled = Task { try await work.run(Self.caller("c")) { recorder.count.add(1, ordering: .relaxed) } }
        try await Task.sleep(for: .milliseconds(50))
        cancelled.cancel()
        try await Task.sleep(for: .milliseconds(1000))  // ten times the expiring deadline
        gate.signal()
        try await holder
        await #expect(throws: RPCError.self) { try await expiring.value }
        await #expect(throws: (any Error).self) { try await cancelled.value }
        #expect(recorder.count.load(ordering: .relaxed) == 0)
    }

    static func waitUntil(_ condition: @Sendable () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw RPCError(.deadlineExceeded, "the condition never held") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    @Test func passwordHashingGoesThroughIt() async throws {
        let hasher = try PasswordHasher(parameters: ScryptParameters(logRounds: 10))
        let stored = try await hasher.hash("Secret123-horse", for: .local)
        #expect(try await hasher.verify("Secret123-horse", against: stored, for: .local))
        #expect(try await hasher.verify("Secret124-horse", against: stored, for: .local) == false)
        #expect(!hasher.needsRehash(stored))
        #expect(try PasswordHasher(parameters: ScryptParameters(logRounds: 11)).needsRehash(stored))
    }
}

/// What the jobs of a test did, in order, and a count.
final class Recorder: Sendable {
    let order = Mutex<[String]>([])
    let count = Atomic<Int>(0)
}

/// How many jobs run at once, and the most seen.
final class Gauge: Sendable {
    let running = Atomic<Int>(0)
    let peak = Atomic<Int>(0)
}
