import Dispatch
import Foundation
import Synchronization
import Testing

@testable import AccessService

@Suite struct BlockingWorkTests {
    @Test func runsAtMostWidthJobsAtOnce() async throws {
        let work = BlockingWork(width: 2)
        let gauge = Gauge()
        let labels = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<12 {
                group.addTask {
                    try await work.run {
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

    @Test func passwordHashingGoesThroughIt() async throws {
        let hasher = try PasswordHasher(parameters: ScryptParameters(logRounds: 10))
        let stored = try await hasher.hash("Secret123-horse")
        #expect(await hasher.verify("Secret123-horse", against: stored))
        #expect(await hasher.verify("Secret124-horse", against: stored) == false)
    }
}

/// How many jobs run at once, and the most seen.
final class Gauge: Sendable {
    let running = Atomic<Int>(0)
    let peak = Atomic<Int>(0)
}
