import AccessCore
import Testing

/// The job queue and inventory rules several server processes rely on, run against each backend.
@Suite struct JobQueueContractTests {
    @Test(arguments: StoreBackend.all)
    func racingEnqueuesQueueOneJobAndOneClaimerGetsIt(backend: StoreBackend) async throws {
        let (store, _, _) = try await seeded(backend)
        let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    try await store.enqueue(
                        kind: .applyAccessType, accountID: 1_000_000, now: 10, runAfter: 10,
                        audit: entry("ApplyAccessType")
                    ).isNew
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 1)
        let claims = try await withThrowingTaskGroup(of: JobRecord?.self) { group in
            for i in 0..<10 {
                group.addTask { try await store.claim(owner: "w\(i)", now: 11, leaseSeconds: 30) }
            }
            return try await group.reduce(into: [JobRecord]()) { if let job = $1 { $0.append(job) } }
        }
        #expect(claims.count == 1)
        #expect(claims.first?.state == .running && claims.first?.attempts == 1)
    }

    @Test(arguments: StoreBackend.all)
    func anExpiredLeaseIsClaimedByAnotherWorkerAndTheStaleOwnerCannotFinish(backend: StoreBackend) async throws {
        let (store, _, _) = try await seeded(backend)
        let job = try await store.enqueue(
            kind: .applyAccessType, accountID: 1_000_000, now: 10, runAfter: 10, audit: entry("ApplyAccessType")
        ).job
        let first = try #require(try await store.claim(owner: "dead", now: 10, leaseSeconds: 5))
        #expect(first.id == job.id)
        #expect(try await store.claim(owner: "other", now: 14, leaseSeconds: 5) == nil)  // still leased
        let second = try #require(try await store.claim(owner: "other", now: 16, leaseSeconds: 5))
        #expect(second.id == job.id && second.attempts == 2)
        #expect(try await !store.renewLease(id: job.id, owner: "dead", until: 30))
        try await store.complete(id: job.id, owner: "dead", result: "stale", now: 17)
        #expect(try await store.job(id: job.id, accountID: 1_000_000)?.state == .running)
        try await store.complete(id: job.id, owner: "other", result: "done", now: 18)
        let done = try #require(try await store.job(id: job.id, accountID: 1_000_000))
        #expect(done.state == .succeeded && done.result == "done")
        #expect(try await store.job(id: job.id, accountID: 1_000_001) == nil)  // other accounts never see it
    }

    @Test(arguments: StoreBackend.all)
    func racingFirstSightingsOfAComponentCreateItOnce(backend: StoreBackend) async throws {
        let (store, _, _) = try await seeded(backend)
        let collection = try #require(try await store.collections(accountID: 1_000_000).first { $0.name == "Default" })
        let sample = TrafficSampleInput(
            collectionID: collection.id, method: "GET", url: "/users/INTEGER",
            observation: TrafficObservation(
                sourceIP: "10.0.0.1", destinationIP: "10.0.0.2", isOutgoing: false, headers: [:]),
            timestamp: 100)
        let created = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await store.recordSamples(
                        accountID: 1_000_000, samples: [sample], now: 100, audit: entry("Samples")
                    ).newComponents
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(created == 1)
        #expect(try await store.components(accountID: 1_000_000).count == 1)
        let page = try await store.componentsWithSamples(accountID: 1_000_000, afterComponentID: 0, limit: 10)
        #expect(page.count == 1 && page[0].samples.count == 8)
    }
}

/// `--job-coalesce`: a queued job waits until its `runAfter`, and requests meanwhile fold into it.
@Suite struct JobCoalescingContractTests {
    @Test(arguments: StoreBackend.all)
    func aQueuedJobWaitsForItsRunAfterAndLaterRequestsFoldIntoIt(backend: StoreBackend) async throws {
        let (store, _, _) = try await seeded(backend)
        let first = try await store.enqueue(
            kind: .applyAccessType, accountID: 1_000_000, now: 100, runAfter: 102, audit: entry("ApplyAccessType"))
        #expect(first.isNew)
        #expect(try await store.claim(owner: "w", now: 101, leaseSeconds: 30) == nil)  // not due yet
        let second = try await store.enqueue(
            kind: .applyAccessType, accountID: 1_000_000, now: 101, runAfter: 103, audit: entry("ApplyAccessType"))
        #expect(!second.isNew && second.job.id == first.job.id)
        #expect(try await store.claim(owner: "w", now: 102, leaseSeconds: 30)?.id == first.job.id)
    }
}
