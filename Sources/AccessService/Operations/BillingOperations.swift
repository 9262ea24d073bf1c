import AccessCore
import AccessRPC

/// The identity of a checkout request for single-flight purposes.
struct CheckoutKey: Hashable, Sendable {
    let organizationID: String
    let checkout: SubscriptionCheckout
}

extension AccessService {
    func registerBillingOperations(into registry: inout MethodRegistry) throws {
        try registry.register(
            Methods.BillingService.provisionSubscription, policy: OperationPolicy(.billing, .readWrite), service: self
        ) { request, caller, context in
            try await provisionSubscription(request, caller, context)
        }
    }

    /// ProvisionSubscription (17): a checkout for the caller's own organization only, with validated URLs.
    func provisionSubscription(_ request: ProvisionSubscriptionRequest, _ caller: Caller, _ context: CallContext)
        async throws -> ProvisionSubscriptionResponse
    {
        guard let billing else { throw RPCError(.failedPrecondition, "billing is not configured") }
        guard request.customerId.trimmed == caller.organizationID else {
            throw RPCError(
                .permissionDenied, "customerId must be your own organization's id",
                violations: [FieldViolation(field: "customerId", description: "is not your organization")])
        }
        let planID = request.planId.trimmed
        guard (1...128).contains(planID.count),
            planID.unicodeScalars.allSatisfy({
                $0.isASCII
                    && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0))
            })
        else { throw RPCError.invalidField("planId", "must be 1-128 letters, digits, '-', '_' or '.'") }
        let period: BillingPeriod
        switch request.billingPeriod.trimmed.lowercased() {
        // Akto's Paywall sends Stigg's enum values (MONTHLY, ANNUALLY).
        case "monthly": period = .monthly
        case "annual", "annually": period = .annually
        default: throw RPCError.invalidField("billingPeriod", "must be monthly or annual (MONTHLY or ANNUALLY)")
        }
        let successURL = try checkoutURL(request.successUrl, field: "successUrl")
        let cancelURL = try checkoutURL(request.cancelUrl, field: "cancelUrl")
        let checkout = SubscriptionCheckout(
            customerID: caller.organizationID, planID: planID, billingPeriod: period, successURL: successURL,
            cancelURL: cancelURL)
        let deadline = context.deadline
        let outcome: CheckoutOutcome
        do {
            outcome = try await checkouts.run(CheckoutKey(organizationID: caller.organizationID, checkout: checkout)) {
                try await billing.provisionSubscription(checkout, deadline: deadline)
            }
        } catch is SingleFlight<CheckoutKey, CheckoutOutcome>.RetryError {
            outcome = try await billing.provisionSubscription(checkout, deadline: deadline)
        }
        try await store.appendAudit(
            audit(
                caller, context, "ProvisionSubscription", target: "plan:\(planID) \(period.rawValue) \(outcome.status)")
        )
        // A checkout URL is passed on only when it is https.
        let safeCheckout = outcome.checkoutURL.flatMap {
            RedirectPolicy.origin(of: $0)?.hasPrefix("https://") == true ? $0 : nil
        }
        let result = CheckoutResult(
            status: outcome.status, checkoutUrl: safeCheckout, subscriptionId: outcome.subscriptionID,
            planId: outcome.planID)
        return ProvisionSubscriptionResponse(
            checkoutResult: result,
            stiggAnswer: StiggProvisionAnswer(data: StiggProvisionData(provisionSubscription: result)))
    }

    /// An https URL (http only for localhost) whose origin is in the redirect allow-list.
    func checkoutURL(_ raw: String, field: String) throws -> String {
        let url = raw.trimmed
        guard !url.isEmpty else { throw RPCError.invalidField(field, "is required") }
        guard url.count <= 2048, let origin = RedirectPolicy.origin(of: url) else {
            throw RPCError.invalidField(field, "must be an https URL")
        }
        let host = origin.split(separator: "/").last.map { String($0) } ?? ""
        let isLocal =
            host == "localhost" || host.hasPrefix("localhost:") || host.hasPrefix("127.0.0.1")
            || host.hasPrefix("[::1]")
        guard origin.hasPrefix("https://") || isLocal else {
            throw RPCError.invalidField(field, "must be https (http only for localhost)")
        }
        guard configuration.redirectAllowList.contains(origin) else {
            throw RPCError.invalidField(field, "its origin \(origin) is not in the allow-list")
        }
        return url
    }
}
