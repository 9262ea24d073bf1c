/// Storage of collections, components, traffic samples, account settings and usage.
public protocol InventoryStore: Sendable {
    /// ALREADY_EXISTS for a name the account already uses.
    func createCollection(
        accountID: Int32, name: String, hostName: String, contextSource: String, now: Int64, audit: AuditEntry
    )
        async throws -> ApiCollectionRecord
    func collections(accountID: Int32) async throws -> [ApiCollectionRecord]
    func components(accountID: Int32) async throws -> [ApiComponentRecord]

    /// Records samples, creating components on first sight. INVALID_ARGUMENT naming `samples[i].apiCollectionId`
    /// when a collection is not the account's (nothing is recorded then).
    func recordSamples(accountID: Int32, samples: [TrafficSampleInput], now: Int64, audit: AuditEntry) async throws
        -> (accepted: Int, newComponents: Int)

    func settings(accountID: Int32) async throws -> AccountSettingsRecord
    func updatePrivateCIDRs(accountID: Int32, cidrs: [String], audit: AuditEntry) async throws
    func updatePartnerIPs(accountID: Int32, entries: [String], audit: AuditEntry) async throws

    /// A page of the account's components that have samples, with their samples, ordered by component id.
    func componentsWithSamples(accountID: Int32, afterComponentID: Int64, limit: Int) async throws
        -> [(componentID: Int64, samples: [TrafficObservation])]
    /// Sets the access types of components (one transaction per call).
    func setComponentAccessTypes(_ updates: [(componentID: Int64, types: [String])]) async throws
    /// A page of the account's components with their collection and access types, ordered by id.
    func componentTypes(accountID: Int32, afterComponentID: Int64, limit: Int) async throws
        -> [(componentID: Int64, collectionID: Int32, types: [String])]
    /// Sets collection labels (one transaction).
    func setCollectionLabels(_ labels: [Int32: String]) async throws

    /// Component counts per account of an organization for the usage metrics.
    func usageCounts(organizationID: String) async throws
        -> [(accountID: Int32, activeEndpoints: Int64, mcpAssets: Int64, aiAssets: Int64, users: Int64)]
    /// Stores measurements (idempotent per account, metric and time) and recomputes the organization's
    /// entitlements' usage and overage, in one transaction.
    func recordUsage(organizationID: String, measurements: [UsageRecord], now: Int64) async throws
    func entitlements(organizationID: String) async throws -> [EntitlementRecord]
    /// The latest measurement of each metric of each account of the organization.
    func latestUsage(organizationID: String) async throws -> [UsageRecord]
}

/// The durable job queue: enqueue inside the request's transaction, claim with a lease, finish or retry.
public protocol JobQueue: Sendable {
    /// Enqueues a job due at `runAfter`, or returns the queued one of the same kind for the account (no
    /// pile-up: requests while it waits fold into it).
    func enqueue(kind: JobKind, accountID: Int32, now: Int64, runAfter: Int64, audit: AuditEntry) async throws
        -> (job: JobRecord, isNew: Bool)
    func job(id: Int64, accountID: Int32) async throws -> JobRecord?
    /// Claims the oldest runnable job (queued and due, or running with an expired lease).
    func claim(owner: String, now: Int64, leaseSeconds: Int64) async throws -> JobRecord?
    /// Extends a lease the owner still holds; false when it lost it.
    func renewLease(id: Int64, owner: String, until: Int64) async throws -> Bool
    func complete(id: Int64, owner: String, result: String, now: Int64) async throws
    /// Records a failed attempt: retried at `retryAt`, or FAILED for good when nil.
    func fail(id: Int64, owner: String, error: String, now: Int64, retryAt: Int64?) async throws
}

/// Everything the service stores: identity, inventory and jobs.
public typealias ServiceStore = AccountStore & InventoryStore & JobQueue
