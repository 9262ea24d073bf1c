import AccessCore
import AccessTestSupport
import AccessRPC
import AccessWire
import Testing

/// ProvisionSubscription (17) through the real dispatcher, the real Stigg provider and the fake Stigg server.
@Suite struct ProvisionSubscriptionTests {
    let fake = FakeStigg()

    struct Service {
        let harness: BillingHarness
        let organizationID: String

        func call(_ request: ProvisionSubscriptionRequest) async throws -> Result<CheckoutResult, RPCError> {
            do {
                let answer = try await harness.call(
                    Methods.BillingService.provisionSubscription, request, timeout: TestTiming.scaled(.seconds(2)))
                return .success(try #require(answer.checkoutResult))
            } catch let error as RPCError {
                return .failure(error)
            }
        }

        func request(
            plan: String = "pro", period: String = "annual", success: String = "https://app.example.com/billing/ok",
            cancel: String = "https://app.example.com/billing/cancel", customer: String? = nil
        ) -> ProvisionSubscriptionRequest {
            ProvisionSubscriptionRequest(
                customerId: customer ?? organizationID, planId: plan, billingPeriod: period, successUrl: success,
                cancelUrl: cancel)
        }
    }

    private func service(endpoint: String?) async throws -> Service {
        let harness = try await BillingHarness(endpoint: endpoint)
        let organization = try #require(try await harness.call(Methods.SessionService.me, MeRequest()).organization?.id)
        return Service(harness: harness, organizationID: organization)
    }

    @Test func returnsTheCheckoutURL() async throws {
        try await fake.run { endpoint in
            let s = try await service(endpoint: endpoint)
            let result = try await s.call(s.request()).get()
            #expect(result.status == "PAYMENT_REQUIRED" && result.checkoutUrl == "https://checkout.stigg.example/s/1")
            #expect(result.planId == "pro")
            let local = try await s.call(
                s.request(plan: "basic", success: "http://localhost:3000/ok", cancel: "http://localhost:3000/no")
            ).get()
            #expect(local.status == "SUCCESS" && local.subscriptionId == "sub-basic" && local.checkoutUrl == nil)
        }
        #expect(fake.requests.first?["variables"]?["input"]?["billingPeriod"] == .string("ANNUALLY"))
    }

    @Test func stiggPeriodNamesAndAktosAnswerShape() async throws {
        // Akto's Paywall sends Stigg's own enum values, and its handler reads `data.provisionSubscription` (the
        // dashboard's HTTP body, `dashboard_response_body`).
        try await fake.run { endpoint in
            let s = try await service(endpoint: endpoint)
            for period in ["ANNUALLY", "MONTHLY"] {
                let answer = try await s.harness.call(
                    Methods.BillingService.provisionSubscription, s.request(period: period),
                    timeout: TestTiming.scaled(.seconds(2)))
                #expect(answer.stiggAnswer?.data?.provisionSubscription == answer.checkoutResult)
                #expect(answer.checkoutResult?.checkoutUrl == "https://checkout.stigg.example/s/1")
            }
        }
        #expect(
            fake.requests.map { $0["variables"]?["input"]?["billingPeriod"] } == [
                .string("ANNUALLY"), .string("MONTHLY"),
            ])
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
    func periodsAndURLsAreValidatedBeforeAnyUpstreamCall(period: String, success: String, cancel: String, field: String)
        async throws
    {
        try await fake.run { endpoint in
            let s = try await service(endpoint: endpoint)
            guard
                case .failure(let error) = try await s.call(s.request(period: period, success: success, cancel: cancel))
            else {
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
            // The call's 2 s deadline bounds it: 10x that, far from the upstream's 300 s stall.
            #expect(ContinuousClock.now - start < TestTiming.scaled(.seconds(20)))
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
