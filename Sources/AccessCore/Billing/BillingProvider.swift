/// A billing period as the product names it; Stigg calls them MONTHLY and ANNUALLY.
public enum BillingPeriod: String, Sendable, Hashable {
    case monthly = "MONTHLY"
    case annually = "ANNUALLY"
}

/// A checkout the billing provider is asked to start.
public struct SubscriptionCheckout: Sendable, Hashable {
    public var customerID: String
    public var planID: String
    public var billingPeriod: BillingPeriod
    public var successURL: String
    public var cancelURL: String

    public init(customerID: String, planID: String, billingPeriod: BillingPeriod, successURL: String, cancelURL: String)
    {
        self.customerID = customerID
        self.planID = planID
        self.billingPeriod = billingPeriod
        self.successURL = successURL
        self.cancelURL = cancelURL
    }
}

/// The provider's answer to a checkout.
public struct CheckoutOutcome: Sendable, Hashable {
    /// `SUCCESS` or `PAYMENT_REQUIRED`.
    public var status: String
    public var checkoutURL: String?
    public var subscriptionID: String?
    public var planID: String

    public init(status: String, checkoutURL: String?, subscriptionID: String?, planID: String) {
        self.status = status
        self.checkoutURL = checkoutURL
        self.subscriptionID = subscriptionID
        self.planID = planID
    }
}

/// The external billing system (Stigg). With none configured, operations that need billing fail with
/// FAILED_PRECONDITION and the usage job records that it skipped reporting.
public protocol BillingProvider: Sendable {
    /// Starts a subscription checkout. INVALID_ARGUMENT for a plan the provider does not know, NOT_FOUND for an
    /// unknown customer, UNAVAILABLE (or DEADLINE_EXCEEDED) when it cannot answer before `deadline`.
    func provisionSubscription(_ checkout: SubscriptionCheckout, deadline: ContinuousClock.Instant) async throws
        -> CheckoutOutcome

    /// Reports an organization's usage measurements; throws UNAVAILABLE when the provider cannot be reached
    /// before `deadline`.
    func reportUsage(organizationID: String, measurements: [UsageRecord], deadline: ContinuousClock.Instant)
        async throws
}
