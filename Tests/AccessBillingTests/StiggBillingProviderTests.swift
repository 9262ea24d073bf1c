import AccessBilling
import AccessCore
import AccessTestSupport
import AccessWire
import Logging
import Testing

@Suite struct StiggBillingProviderTests {
    let fake = FakeStigg()
    /// Deadline of calls whose outcome, not timing, is under test: generous, so sanitizer builds (5-15x slower
    /// HTTP round trips) still finish every attempt.
    static let generous = Duration.seconds(60)

    private func provider(_ endpoint: String, key: String = FakeStigg.apiKey) -> StiggBillingProvider {
        StiggBillingProvider(
            configuration: StiggConfiguration(endpoint: endpoint, apiKey: key, backoff: .milliseconds(50)),
            logger: Logger(label: "test"))
    }

    private func checkout(_ plan: String, customer: String = "org-1") -> SubscriptionCheckout {
        SubscriptionCheckout(
            customerID: customer, planID: plan, billingPeriod: .annually, successURL: "https://app.example.com/ok",
            cancelURL: "https://app.example.com/cancel")
    }

    @Test func provisionsAndSendsTheExpectedRequest() async throws {
        try await fake.run { endpoint in
            let outcome = try await provider(endpoint).provisionSubscription(
                checkout("pro"), deadline: .now + Self.generous)
            #expect(
                outcome
                    == CheckoutOutcome(
                        status: "PAYMENT_REQUIRED", checkoutURL: "https://checkout.stigg.example/s/1",
                        subscriptionID: nil, planID: "pro"))
            let basic = try await provider(endpoint).provisionSubscription(
                checkout("basic"), deadline: .now + Self.generous)
            #expect(basic.status == "SUCCESS" && basic.subscriptionID == "sub-basic")
        }
        let input = try #require(fake.requests.first?["variables"]?["input"])
        #expect(input["customerId"] == .string("org-1") && input["billingPeriod"] == .string("ANNUALLY"))
        #expect(input["checkoutOptions"]?["cancelUrl"] == .string("https://app.example.com/cancel"))
    }

    @Test(arguments: [("missing-plan", "org-1", StatusCode.invalidArgument), ("basic", "missing-customer", .notFound)])
    func graphQLErrorsMapToStatuses(plan: String, customer: String, code: StatusCode) async throws {
        try await fake.run { endpoint in
            let error = try await #require(throws: RPCError.self) {
                try await provider(endpoint).provisionSubscription(
                    checkout(plan, customer: customer), deadline: .now + Self.generous)
            }
            #expect(error.code == code)
        }
    }

    /// <doc:Hardening>: a 3xx is never followed (it would re-POST the API key wherever the Location names).
    @Test func redirectsAreNotFollowedAndAnswerUnavailable() async throws {
        try await fake.run { endpoint in
            let error = try await #require(throws: RPCError.self) {
                try await provider(endpoint).provisionSubscription(checkout("redirect"), deadline: .now + Self.generous)
            }
            #expect(error.code == .unavailable)
            #expect(error.message.contains("redirect"))
        }
        #expect(fake.redirectedRequests == 0)
        #expect(fake.provisionCalls == 1)  // a redirect is not a transient failure: not retried
    }

    @Test func aWrongAPIKeyIsAConfigurationProblemAndIsNotRetried() async throws {
        try await fake.run { endpoint in
            let error = try await #require(throws: RPCError.self) {
                try await provider(endpoint, key: "wrong").provisionSubscription(
                    checkout("basic"), deadline: .now + Self.generous)
            }
            #expect(error.code == .failedPrecondition)
            #expect(!error.message.contains("wrong"))  // the key is never echoed
        }
    }

    @Test func transientFailuresAreRetriedAtMostThreeTimes() async throws {
        try await fake.run { endpoint in
            let outcome = try await provider(endpoint).provisionSubscription(
                checkout("flaky"), deadline: .now + Self.generous)
            #expect(outcome.status == "SUCCESS")
        }
    }

    @Test func aStalledUpstreamEndsWithinTheDeadline() async throws {
        try await fake.run { endpoint in
            let start = ContinuousClock.now
            let error = try await #require(throws: RPCError.self) {
                try await provider(endpoint).provisionSubscription(
                    checkout("slow"), deadline: .now + .milliseconds(500))
            }
            #expect(error.code == .deadlineExceeded || error.code == .unavailable)
            // 10x the 500 ms deadline, and far from the upstream's 300 s stall.
            #expect(ContinuousClock.now - start < TestTiming.scaled(.seconds(5)))
        }
    }

    @Test func anUnreachableProviderIsUnavailable() async throws {
        // A port nothing listens on: connections are refused (the "dropped connection" case).
        let error = try await #require(throws: RPCError.self) {
            try await provider("http://127.0.0.1:1/graphql").provisionSubscription(
                checkout("basic"), deadline: .now + .seconds(3))
        }
        #expect(error.code == .unavailable)
    }

    @Test func usageIsReportedAsOrganizationTotals() async throws {
        try await fake.run { endpoint in
            try await provider(endpoint).reportUsage(
                organizationID: "org-1",
                measurements: [
                    UsageRecord(accountID: 1, metric: "USERS", value: 2, measuredAt: 1),
                    UsageRecord(accountID: 2, metric: "USERS", value: 3, measuredAt: 1),
                ], deadline: .now + Self.generous)
        }
        let usages = fake.requests.first?["variables"]?["input"]?["usages"]
        #expect(
            usages
                == .array([
                    .object([
                        ("customerId", .string("org-1")), ("featureId", .string("USERS")), ("value", .number("5")),
                    ])
                ]))
    }
}
