/// The external billing system (Stigg). The billing issue supplies the real provider; with none configured,
/// operations that need billing fail with FAILED_PRECONDITION and the usage job records that it skipped
/// reporting.
public protocol BillingProvider: Sendable {
    /// Reports an organization's usage measurements; throws UNAVAILABLE when the provider cannot be reached
    /// before `deadline`.
    func reportUsage(organizationID: String, measurements: [UsageRecord], deadline: ContinuousClock.Instant) async throws
}
