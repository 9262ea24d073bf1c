import AccessBilling
import AccessCore
import AccessRPC
import AccessService
import AccessStore
import AccessWire
import Foundation
import Logging
import Testing

/// ProvisionSubscription (17) through the real dispatcher, the real Stigg provider and the fake Stigg server.
@Suite struct ProvisionSubscriptionTests {
    let fake = FakeStigg()

    struct Service {
        let dispatcher: Dispatcher
        let session: [MetadataEntry]
        let organizationID: String

        func call(_ request: ProvisionSubscriptionRequest) async throws -> Result<CheckoutResult, RPCError> {
            let result = await dispatcher.dispatch(
                DispatchRequest(
                    method: Methods.BillingService.provisionSubscription.path, metadata: session,
                    payload: try MessageCodec.encode(request), timeout: .seconds(2)))
            if let error = result.status.error { return .failure(error) }
            return .success(
                try #require(try MessageCodec.decode(ProvisionSubscriptionResponse.self, from: result.payload).checkoutResult))
        }

        func request(
            plan: String = "pro", period: String = "annual", success: String = "https://app.example.com/billing/ok",
            cancel: String = "https://app.example.com/billing/cancel", customer: String? = nil
        ) -> ProvisionSubscriptionRequest {
            ProvisionSubscriptionRequest(
                customerId: customer ?? organizationID, planId: plan, billingPeriod: period, successUrl: success, cancelUrl: cancel)
        }
    }

    private func service(endpoint: String?) async throws -> Service {
        let directory = NSTemporaryDirectory() + "akto-billing-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try SQLiteAccessStore(configuration: SQLiteConfiguration(path: directory + "/b.sqlite"))
        let billing = endpoint.map {
            StiggBillingProvider(
                configuration: StiggConfiguration(endpoint: $0, apiKey: FakeStigg.apiKey, backoff: .milliseconds(50)),
                logger: Logger(label: "test"))
        }
        let access = try AccessService(
            store: store,
            configuration: ServiceConfiguration(
                redirectAllowList: ["https://app.example.com", "http://localhost:3000"],
                passwordHashing: ScryptParameters(logRounds: 10)),
            billing: billing)
        var registry = MethodRegistry()
        try access.register(into: &registry)
        let dispatcher = Dispatcher(registry: registry, logger: Logger(label: "test"))
        let signup = await dispatcher.dispatch(
            DispatchRequest(
                method: Methods.SessionService.signup.path,
                payload: try MessageCodec.encode(SignupRequest(email: "admin@example.com", password: "Secret123"))))
        let token = try MessageCodec.decode(SignupResponse.self, from: signup.payload).sessionToken
        let session = [MetadataEntry("authorization", "Bearer " + token)]
        let me = await dispatcher.dispatch(DispatchRequest(method: Methods.SessionService.me.path, metadata: session))
        let organization = try #require(try MessageCodec.decode(MeResponse.self, from: me.payload).organization?.id)
        return Service(dispatcher: dispatcher, session: session, organizationID: organization)
    }

    @Test func returnsTheCheckoutURL() async throws {
        try await fake.run { endpoint in
            let s = try await service(endpoint: endpoint)
            let result = try await s.call(s.request()).get()
            #expect(result.status == "PAYMENT_REQUIRED" && result.checkoutUrl == "https://checkout.stigg.example/s/1")
            #expect(result.planId == "pro")
            let local = try await s.call(s.request(plan: "basic", success: "http://localhost:3000/ok", cancel: "http://localhost:3000/no")).get()
            #expect(local.status == "SUCCESS" && local.subscriptionId == "sub-basic" && local.checkoutUrl == nil)
        }
        #expect(fake.requests.first?["variables"]?["input"]?["billingPeriod"] == .string("ANNUALLY"))
    }

    @Test func anotherOrganizationsCustomerIdIsRefusedWithoutAnUpstreamCall() async throws {
        try await fake.run { endpoint in
            let s = try await service(endpoint: endpoint)
            guard case .failure(let error) = try await s.call(s.request(customer: "someone-else")) else {
                Issue.record("expected a refusal")
                return
            }
            #expect(error.code == .permissionDenied)
        }
        #expect(fake.provisionCalls == 0)
    }

    @Test(arguments: [
        ("weekly", "https://app.example.com/ok", "https://app.example.com/no", "billingPeriod"),
        ("monthly", "http://app.example.com/ok", "https://app.example.com/no", "successUrl"),
        ("monthly", "https://evil.example.com/ok", "https://app.example.com/no", "successUrl"),
        ("monthly", "https://app.example.com/ok", "javascript:alert(1)", "cancelUrl"),
        ("monthly", "https://app.example.com/ok", "https://user@app.example.com/no", "cancelUrl"),
        ("monthly", "https://app.example.com/ok", "", "cancelUrl"),
    ])
    func periodsAndURLsAreValidatedBeforeAnyUpstreamCall(period: String, success: String, cancel: String, field: String) async throws {
        try await fake.run { endpoint in
            let s = try await service(endpoint: endpoint)
            guard case .failure(let error) = try await s.call(s.request(period: period, success: success, cancel: cancel)) else {
                Issue.record("expected INVALID_ARGUMENT")
                return
            }
            #expect(error.code == .invalidArgument && error.violations.first?.field == field)
        }
        #expect(fake.provisionCalls == 0)
    }

    @Test func anHTTPCheckoutURLIsNotPassedOn() async throws {
        try await fake.run { endpoint in
            let s = try await service(endpoint: endpoint)
            let result = try await s.call(s.request(plan: "insecure")).get()
            #expect(result.status == "PAYMENT_REQUIRED" && result.checkoutUrl == nil)
        }
    }

    @Test func upstreamErrorsAndStallsHaveClearStatuses() async throws {
        try await fake.run { endpoint in
            let s = try await service(endpoint: endpoint)
            guard case .failure(let missing) = try await s.call(s.request(plan: "missing-plan")) else { return }
            #expect(missing.code == .invalidArgument)
            let start = ContinuousClock.now
            guard case .failure(let stalled) = try await s.call(s.request(plan: "slow")) else { return }
            #expect(stalled.code == .unavailable || stalled.code == .deadlineExceeded)
            #expect(ContinuousClock.now - start < .seconds(3))  // the call's 2 s deadline bounds it
        }
    }

    @Test func doubleClicksMakeOneUpstreamCall() async throws {
        try await fake.run { endpoint in
            let s = try await service(endpoint: endpoint)
            let results = try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<10 { group.addTask { try? await s.call(s.request(plan: "shared")).get().subscriptionId } }
                return try await group.reduce(into: [String?]()) { $0.append($1) }
            }
            #expect(results == Array(repeating: "sub-shared", count: 10))
        }
        #expect(fake.provisionCalls == 1)
    }

    @Test func withoutConfigurationBillingIsAClearFailedPrecondition() async throws {
        let s = try await service(endpoint: nil)
        guard case .failure(let error) = try await s.call(s.request()) else {
            Issue.record("expected FAILED_PRECONDITION")
            return
        }
        #expect(error.code == .failedPrecondition && error.message == "billing is not configured")
    }
}
