import AccessCore
import AccessRPC
import AccessWire
import GRDB
import Logging
import Synchronization
import Testing

@testable import AccessService
@testable import AccessSQLite

@Suite struct InventoryOperationsTests {
    private func runner(_ h: Harness, maxAttempts: Int32 = 5, billing: (any BillingProvider)? = nil) -> JobRunner {
        JobRunner(
            store: h.store,
            configuration: JobRunnerConfiguration(
                workers: 1, leaseSeconds: 60, maxAttempts: maxAttempts, baseBackoffSeconds: 10, pageSize: 2),
            billing: billing, clock: h.clock, logger: Logger(label: "test"))
    }

    private func sample(
        _ collection: Int32, _ path: String, _ source: String, outgoing: Bool = false, headers: [String: String] = [:]
    )
        -> TrafficSample
    {
        TrafficSample(
            apiCollectionId: collection, method: "get", url: path, sourceIp: source, destinationIp: "10.9.9.9",
            direction: outgoing ? "OUTGOING" : "INCOMING", headers: headers)
    }

    @Test func samplesSettingsApplyAccessTypeAndTheRollUp() async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        let collection = try #require(
            try await h.call(
                Methods.InventoryService.createCollection,
                CreateCollectionRequest(collectionName: "shop", hostName: "Shop.Example.com"), admin
            ).apiCollection)
        let other = try #require(
            try await h.call(
                Methods.InventoryService.createCollection, CreateCollectionRequest(collectionName: "internal"), admin
            )
            .apiCollection)
        let recorded = try await h.call(
            Methods.InventoryService.recordTrafficSamples,
            RecordTrafficSamplesRequest(samples: [
                sample(collection.id, "/public", "8.8.8.8"),
                sample(collection.id, "/public", "10.0.0.5"),
                sample(collection.id, "/partner", "10.0.0.5", headers: ["X-Forwarded-For": "203.0.113.7"]),
                sample(collection.id, "/vendor", "10.0.0.5", outgoing: true, headers: ["x-real-ip": "1.1.1.1:443"]),
                sample(other.id, "/private", "192.168.1.1"),
                sample(other.id, "/quiet", "0.0.0.0"),
            ]), admin)
        #expect(recorded.accepted == 6 && recorded.newComponents == 5)
        let cidrs = try await h.call(
            Methods.AccountService.updatePrivateCidrIps,
            UpdatePrivateCidrIpsRequest(privateCidrList: ["10.0.0.0/8", " 192.168.0.0/16", "10.0.0.0/8"]), admin)
        #expect(cidrs.privateCidrList == ["10.0.0.0/8", "192.168.0.0/16"])  // de-duplicated
        _ = try await h.call(
            Methods.AccountService.updatePartnerIps, UpdatePartnerIpsRequest(partnerIpList: ["203.0.113.7"]), admin)
        let settings = try await h.call(Methods.AccountService.fetchAdminSettings, FetchAdminSettingsRequest(), admin)
        #expect(settings.accountSettings?.partnerIpList == ["203.0.113.7"])
        // Only carried fields change: an empty request keeps both lists; clearing one is explicit (its mask).
        let untouched = try await h.call(
            Methods.AccountService.updatePrivateCidrIps, UpdatePrivateCidrIpsRequest(), admin)
        #expect(untouched.privateCidrList == ["10.0.0.0/8", "192.168.0.0/16"])
        _ = try await h.call(Methods.AccountService.updatePartnerIps, UpdatePartnerIpsRequest(), admin)
        #expect(
            try await h.call(Methods.AccountService.fetchAdminSettings, FetchAdminSettingsRequest(), admin)
                .accountSettings?.partnerIpList == ["203.0.113.7"])
        _ = try await h.call(
            Methods.AccountService.updatePartnerIps, UpdatePartnerIpsRequest(updateMask: ["partner_ip_list"]), admin)
        #expect(
            try await h.call(Methods.AccountService.fetchAdminSettings, FetchAdminSettingsRequest(), admin)
                .accountSettings?.partnerIpList == [])
        _ = try await h.call(
            Methods.AccountService.updatePartnerIps, UpdatePartnerIpsRequest(partnerIpList: ["203.0.113.7"]), admin)

        let jobID = try await h.call(Methods.InventoryService.applyAccessType, ApplyAccessTypeRequest(), admin).jobId
        #expect(try await h.call(Methods.JobService.getJob, GetJobRequest(jobId: jobID), admin).job?.state == "QUEUED")
        #expect(try await runner(h).runOnce())
        let job = try #require(try await h.call(Methods.JobService.getJob, GetJobRequest(jobId: jobID), admin).job)
        #expect(job.state == "SUCCEEDED" && job.attempts == 1)
        #expect(job.result == #"{"classifiedComponents":5}"#)

        let collections = try await h.call(
            Methods.InventoryService.getCollections, GetCollectionsRequest(includeComponents: true), admin)
        func types(_ path: String) -> [String] {
            collections.apiCollections.flatMap(\.components).first { $0.url == path }?.accessTypes ?? ["missing"]
        }
        #expect(types("/public") == ["PRIVATE", "PUBLIC"])
        #expect(types("/partner") == ["PARTNER"])
        #expect(types("/vendor") == ["THIRD_PARTY"])
        #expect(types("/private") == ["PRIVATE"])
        #expect(types("/quiet") == ["PRIVATE"])  // 0.0.0.0 skipped; the destination 10.9.9.9 is private

        let reset = try await h.call(
            Methods.InventoryService.resetCollectionAccessTypes, ResetCollectionAccessTypesRequest(), admin)
        #expect(reset.started)
        #expect(try await runner(h).runOnce())
        let labelled = try await h.call(Methods.InventoryService.getCollections, GetCollectionsRequest(), admin)
        #expect(labelled.apiCollections.first { $0.name == "shop" }?.accessType == "Internal")
        #expect(labelled.apiCollections.first { $0.name == "internal" }?.accessType == "Third party")
        #expect(labelled.apiCollections.first { $0.name == "Default" }?.accessType == "")  // no components: kept
        #expect(labelled.apiCollections.first { $0.name == "shop" }?.urlsCount == 3)
    }

    @Test func aHundredConcurrentRequestsQueueOneJob() async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        let ids = try await withThrowingTaskGroup(of: Int64.self) { group in
            for _ in 0..<100 {
                group.addTask {
                    try await h.call(Methods.InventoryService.applyAccessType, ApplyAccessTypeRequest(), admin).jobId
                }
            }
            return try await group.reduce(into: Set<Int64>()) { $0.insert($1) }
        }
        #expect(ids.count == 1)
        let rows = try await h.store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM jobs") }
        #expect(rows == 1)
        #expect(try await h.auditCount("ApplyAccessType") == 1)
    }

    @Test func aJobWhoseWorkerDiedIsPickedUpAfterItsLease() async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        let jobID = try await h.call(Methods.InventoryService.applyAccessType, ApplyAccessTypeRequest(), admin).jobId
        // A worker claims it and dies (never completes).
        let claimed = try await h.store.claim(owner: "dead-worker", now: Int64(h.clock.now()), leaseSeconds: 60)
        #expect(claimed?.id == jobID)
        #expect(try await !runner(h).runOnce())  // still leased
        h.clock.advance(61)
        #expect(try await runner(h).runOnce())
        let job = try #require(try await h.call(Methods.JobService.getJob, GetJobRequest(jobId: jobID), admin).job)
        #expect(job.state == "SUCCEEDED" && job.attempts == 2)
    }

    @Test func failedAttemptsRetryWithBackoffThenFail() async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        let jobID = try await h.call(
            Methods.BillingService.refreshUsageDataForOrg, RefreshUsageDataForOrgRequest(), admin
        ).jobId
        // Make every attempt fail: the job's account disappears.
        try await h.store.pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA foreign_keys = OFF")
            try db.execute(sql: "UPDATE jobs SET account_id = 4242 WHERE id = ?", arguments: [jobID])
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        let r = runner(h, maxAttempts: 2)
        #expect(try await r.runOnce())
        var row = try await jobRow(h, jobID)
        #expect(row.state == "QUEUED" && row.attempts == 1)
        #expect(row.error == "account 4242 no longer exists")
        #expect(try await !r.runOnce())  // backing off (10-15 s)
        h.clock.advance(16)
        #expect(try await r.runOnce())
        row = try await jobRow(h, jobID)
        #expect(row.state == "FAILED" && row.attempts == 2)
    }

    private func jobRow(_ h: Harness, _ id: Int64) async throws -> (state: String, attempts: Int, error: String) {
        try await h.store.pool.read { db in
            let row = try #require(try Row.fetchOne(db, sql: "SELECT * FROM jobs WHERE id = ?", arguments: [id]))
            return (row["state"], row["attempts"], row["error"])
        }
    }

    @Test func backoffGrowsExponentiallyWithBoundedJitter() {
        let r = JobRunner(
            store: try! Harness().store,
            configuration: JobRunnerConfiguration(baseBackoffSeconds: 5, maxBackoffSeconds: 100),
            logger: Logger(label: "test"))
        for (attempt, base) in [(1, 5), (2, 10), (3, 20), (4, 40), (6, 100), (30, 100)] as [(Int32, Int64)] {
            let delay = r.backoff(attempt: attempt)
            #expect(delay >= base && delay <= base + base / 2, "attempt \(attempt): \(delay)")
        }
    }

    @Test func usageIsMeasuredOnceAndOverageDetected() async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        _ = try await h.addMember(email: "m@example.com", role: "MEMBER")
        let collection = try #require(
            try await h.call(
                Methods.InventoryService.createCollection,
                CreateCollectionRequest(collectionName: "mcp", contextSource: "mcp"), admin
            )
            .apiCollection)
        _ = try await h.call(
            Methods.InventoryService.recordTrafficSamples,
            RecordTrafficSamplesRequest(samples: [
                sample(collection.id, "/a", "8.8.8.8"), sample(collection.id, "/b", "8.8.8.8"),
            ]), admin)
        let organization = try #require(
            try await h.call(Methods.SessionService.me, MeRequest(), admin).organization?.id)
        try await h.store.pool.write { db in
            try db.execute(
                sql:
                    "INSERT INTO entitlements (organization_id, feature_label, is_granted, usage_limit) VALUES (?, 'USERS', 1, 2)",
                arguments: [organization])
        }
        _ = try await h.call(Methods.BillingService.refreshUsageDataForOrg, RefreshUsageDataForOrgRequest(), admin)
        #expect(try await runner(h).runOnce())
        let usage = try await h.call(Methods.BillingService.getUsage, GetUsageRequest(), admin)
        let byMetric = Dictionary(uniqueKeysWithValues: usage.usage.map { ($0.metric, $0.value) })
        #expect(
            byMetric == [
                "ACTIVE_ENDPOINTS": 0, "MCP_ASSET_COUNT": 2, "AI_ASSET_COUNT": 0, "ACTIVE_ACCOUNTS": 1, "USERS": 2,
            ])
        let users = try #require(usage.entitlements.first { $0.featureLabel == "USERS" })
        #expect(users.usage == 2 && users.overageFirstDetected == Int64(h.clock.now()))
        let job = try await h.call(Methods.JobService.getJob, GetJobRequest(jobId: 1), admin).job
        #expect(job?.result.contains(#""reportSkippedReason":"billing is not configured""#) == true)
        // A re-run of the same job (as after a crash) does not add rows.
        try await h.store.pool.write { db in try db.execute(sql: "UPDATE jobs SET state = 'QUEUED'") }
        #expect(try await runner(h).runOnce())
        let rows = try await h.store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM usage_metrics") }
        #expect(rows == 5)
    }

    @Test(arguments: [
        (TrafficSample(apiCollectionId: 1, method: "FETCH", url: "/a", direction: "INCOMING"), "samples[0].method"),
        (TrafficSample(apiCollectionId: 1, method: "GET", url: "a b", direction: "INCOMING"), "samples[0].url"),
        (TrafficSample(apiCollectionId: 1, method: "GET", url: "/a", direction: "SIDEWAYS"), "samples[0].direction"),
        (
            TrafficSample(apiCollectionId: 999, method: "GET", url: "/a", direction: "INCOMING"),
            "samples[0].apiCollectionId"
        ),
    ])
    func samplesAreValidated(sample: TrafficSample, field: String) async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        let error = try await #require(throws: RPCError.self) {
            try await h.call(
                Methods.InventoryService.recordTrafficSamples, RecordTrafficSamplesRequest(samples: [sample]), admin)
        }
        #expect(error.violations.first?.field == field)
    }

    @Test(arguments: [["10.0.0.0"], ["10.0.0.0/33"], ["example.com/8"], Array(repeating: "10.0.0.0/8", count: 1001)])
    func cidrsAreValidated(list: [String]) async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        #expect(
            try await h.code(
                Methods.AccountService.updatePrivateCidrIps, UpdatePrivateCidrIpsRequest(privateCidrList: list), admin)
                == .invalidArgument)
    }

    @Test func jobsAndCollectionsStayInTheirAccount() async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        let jobID = try await h.call(Methods.InventoryService.applyAccessType, ApplyAccessTypeRequest(), admin).jobId
        let (b, _) = try await h.addOtherOrganization()
        #expect(try await h.code(Methods.JobService.getJob, GetJobRequest(jobId: jobID), b) == .notFound)
        let bCollections = try await h.call(Methods.InventoryService.getCollections, GetCollectionsRequest(), b)
        let aCollections = try await h.call(Methods.InventoryService.getCollections, GetCollectionsRequest(), admin)
        #expect(Set(bCollections.apiCollections.map(\.id)).isDisjoint(with: aCollections.apiCollections.map(\.id)))
        let aCollection = try #require(aCollections.apiCollections.first).id
        #expect(
            try await h.code(
                Methods.InventoryService.recordTrafficSamples,
                RecordTrafficSamplesRequest(samples: [sample(aCollection, "/x", "8.8.8.8")]), b) == .invalidArgument)
    }

    @Test func aCustomRoleWithCollectionsSeesAndWritesOnlyThose() async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        let mine = try #require(
            try await h.call(
                Methods.InventoryService.createCollection, CreateCollectionRequest(collectionName: "mine"), admin
            ).apiCollection)
        let theirs = try #require(
            try await h.call(
                Methods.InventoryService.createCollection, CreateCollectionRequest(collectionName: "theirs"), admin
            ).apiCollection)
        _ = try await h.call(
            Methods.RoleService.createCustomRole,
            CreateCustomRoleRequest(roleName: "SCOPED", baseRole: "MEMBER", apiCollectionIds: [mine.id]), admin)
        let scoped = try await h.addMember(email: "s@example.com", role: "SCOPED")
        let visible = try await h.call(Methods.InventoryService.getCollections, GetCollectionsRequest(), scoped)
        #expect(visible.apiCollections.map(\.id) == [mine.id])
        #expect(
            try await h.code(
                Methods.InventoryService.recordTrafficSamples,
                RecordTrafficSamplesRequest(samples: [sample(mine.id, "/ok", "8.8.8.8")]), scoped) == .ok)
        #expect(
            try await h.code(
                Methods.InventoryService.recordTrafficSamples,
                RecordTrafficSamplesRequest(samples: [sample(theirs.id, "/no", "8.8.8.8")]), scoped)
                == .permissionDenied)
        #expect(
            try await h.code(
                Methods.InventoryService.resetCollectionAccessTypes, ResetCollectionAccessTypesRequest(), scoped)
                == .permissionDenied)
        // With no collections listed, the role has its base role's full reach.
        _ = try await h.call(
            Methods.RoleService.updateCustomRole,
            UpdateCustomRoleRequest(roleName: "SCOPED", updateMask: ["api_collection_ids"]), admin)
        #expect(
            try await h.call(Methods.InventoryService.getCollections, GetCollectionsRequest(), scoped).apiCollections
                .count == 6)
    }

    /// A provider that records what it was sent, or fails.
    final class RecordingBilling: BillingProvider {
        private let state = Locked<(reports: [(String, Int)], failing: Bool)>(([], false))
        var reports: [(String, Int)] { state.withLock { $0.reports } }
        var failing: Bool {
            get { state.withLock { $0.failing } }
            set { state.withLock { $0.failing = newValue } }
        }

        func reportUsage(organizationID: String, measurements: [UsageRecord], deadline: ContinuousClock.Instant)
            async throws
        {
            try state.withLock { state in
                if state.failing { throw RPCError(.unavailable, "billing is down") }
                state.reports.append((organizationID, measurements.count))
            }
        }

        func provisionSubscription(_ checkout: SubscriptionCheckout, deadline: ContinuousClock.Instant) async throws
            -> CheckoutOutcome
        {
            throw RPCError(.unimplemented, "checkouts are not part of this test")
        }
    }

    @Test func theUsageJobReportsToTheProviderAndRetriesWhenItIsDown() async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        let billing = RecordingBilling()
        billing.failing = true
        let jobID = try await h.call(
            Methods.BillingService.refreshUsageDataForOrg, RefreshUsageDataForOrgRequest(), admin
        ).jobId
        #expect(try await runner(h, billing: billing).runOnce())
        #expect(try await jobRow(h, jobID).state == "QUEUED")  // retried later
        billing.failing = false
        h.clock.advance(16)
        #expect(try await runner(h, billing: billing).runOnce())
        let job = try await h.call(Methods.JobService.getJob, GetJobRequest(jobId: jobID), admin).job
        #expect(job?.state == "SUCCEEDED" && job?.result.contains(#""reported":true"#) == true)
        #expect(billing.reports.count == 1 && billing.reports.first?.1 == 5)
    }

    @Test func batchesAndHeadersAreBounded() async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        let collection = try #require(
            try await h.call(
                Methods.InventoryService.createCollection, CreateCollectionRequest(collectionName: "c"), admin
            ).apiCollection)
        let tooMany = Array(
            repeating: sample(collection.id, "/a", "8.8.8.8"), count: AccessService.maxSamplesPerBatch + 1)
        let batch = try await #require(throws: RPCError.self) {
            try await h.call(
                Methods.InventoryService.recordTrafficSamples, RecordTrafficSamplesRequest(samples: tooMany), admin)
        }
        #expect(batch.violations.first?.field == "samples")
        #expect(
            try await h.code(
                Methods.InventoryService.recordTrafficSamples, RecordTrafficSamplesRequest(samples: []), admin)
                == .invalidArgument)
        let manyHeaders = Dictionary(uniqueKeysWithValues: (0..<33).map { ("h\($0)", "v") })
        let longValue = ["x-forwarded-for": String(repeating: "1", count: 1025)]
        for headers in [manyHeaders, longValue] {
            let error = try await #require(throws: RPCError.self) {
                try await h.call(
                    Methods.InventoryService.recordTrafficSamples,
                    RecordTrafficSamplesRequest(samples: [sample(collection.id, "/a", "8.8.8.8", headers: headers)]),
                    admin)
            }
            #expect(error.violations.first?.field == "samples[0].headers")
        }
        // Nothing of the refused batches was stored.
        #expect(
            try await h.call(Methods.InventoryService.getCollections, GetCollectionsRequest(), admin)
                .apiCollections.first { $0.id == collection.id }?.urlsCount == 0)
    }
}
