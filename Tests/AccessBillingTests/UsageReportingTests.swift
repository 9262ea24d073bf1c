import AccessCore
import AccessRPC
import AccessService
import Logging
import Testing

@Suite struct UsageReportingTests {
    let fake = FakeStigg()

    @Test func refreshUsageDataForOrgReportsToStigg() async throws {
        try await fake.run { endpoint in
            let h = try await BillingHarness(endpoint: endpoint)
            let jobID = try await h.call(Methods.BillingService.refreshUsageDataForOrg, RefreshUsageDataForOrgRequest())
                .jobId
            let runner = JobRunner(
                store: h.store, configuration: JobRunnerConfiguration(workers: 1), billing: h.billing,
                logger: Logger(label: "test"))
            #expect(try await runner.runOnce())
            let state = try await h.call(Methods.JobService.getJob, GetJobRequest(jobId: jobID)).job
            #expect(state?.state == "SUCCEEDED" && state?.result.contains(#""reported":true"#) == true)
        }
        let usages = fake.requests.last?["variables"]?["input"]?["usages"]
        guard case .array(let list)? = usages else {
            Issue.record("no usage report")
            return
        }
        #expect(list.count == 5)
        #expect(list.contains { $0["featureId"] == .string("USERS") && $0["value"] == .number("1") })
    }
}
