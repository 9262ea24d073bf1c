import AccessBilling
import AccessCore
import AccessRPC
import AccessService
import AccessStore
import AccessWire
import Foundation
import Logging
import Testing

@Suite struct UsageReportingTests {
    let fake = FakeStigg()

    @Test func refreshUsageDataForOrgReportsToStigg() async throws {
        try await fake.run { endpoint in
            let directory = NSTemporaryDirectory() + "akto-usage-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let store = try SQLiteAccessStore(configuration: SQLiteConfiguration(path: directory + "/u.sqlite"))
            let billing = StiggBillingProvider(
                configuration: StiggConfiguration(endpoint: endpoint, apiKey: FakeStigg.apiKey), logger: Logger(label: "test"))
            let access = try AccessService(
                store: store, configuration: ServiceConfiguration(passwordHashing: ScryptParameters(logRounds: 10)),
                billing: billing)
            var registry = MethodRegistry()
            try access.register(into: &registry)
            let dispatcher = Dispatcher(registry: registry, logger: Logger(label: "test"))
            let signup = await dispatcher.dispatch(
                DispatchRequest(
                    method: Methods.SessionService.signup.path,
                    payload: try MessageCodec.encode(SignupRequest(email: "admin@example.com", password: "Secret123"))))
            let session = [
                MetadataEntry("authorization", "Bearer " + (try MessageCodec.decode(SignupResponse.self, from: signup.payload).sessionToken))
            ]
            let enqueued = await dispatcher.dispatch(
                DispatchRequest(method: Methods.BillingService.refreshUsageDataForOrg.path, metadata: session))
            let jobID = try MessageCodec.decode(RefreshUsageDataForOrgResponse.self, from: enqueued.payload).jobId
            let runner = JobRunner(store: store, configuration: JobRunnerConfiguration(workers: 1), billing: billing, logger: Logger(label: "test"))
            #expect(try await runner.runOnce())
            let job = await dispatcher.dispatch(
                DispatchRequest(method: Methods.JobService.getJob.path, metadata: session, payload: try MessageCodec.encode(GetJobRequest(jobId: jobID))))
            let state = try MessageCodec.decode(GetJobResponse.self, from: job.payload).job
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
