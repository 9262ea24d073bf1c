/// An API collection of an account.
public struct ApiCollectionRecord: Sendable, Hashable {
    public var id: Int32
    public var accountID: Int32
    public var name: String
    public var hostName: String
    public var accessType: String
    public var contextSource: String
    public var createdAt: Int64
    public var componentCount: Int32

    public init(
        id: Int32, accountID: Int32, name: String, hostName: String, accessType: String, contextSource: String,
        createdAt: Int64, componentCount: Int32
    ) {
        self.id = id
        self.accountID = accountID
        self.name = name
        self.hostName = hostName
        self.accessType = accessType
        self.contextSource = contextSource
        self.createdAt = createdAt
        self.componentCount = componentCount
    }
}

/// An endpoint (method + path) of a collection with its access types.
public struct ApiComponentRecord: Sendable, Hashable {
    public var id: Int64
    public var collectionID: Int32
    public var method: String
    public var url: String
    public var accessTypes: [String]
    public var lastSeen: Int64

    public init(id: Int64, collectionID: Int32, method: String, url: String, accessTypes: [String], lastSeen: Int64) {
        self.id = id
        self.collectionID = collectionID
        self.method = method
        self.url = url
        self.accessTypes = accessTypes
        self.lastSeen = lastSeen
    }
}

/// One validated traffic sample to record.
public struct TrafficSampleInput: Sendable, Hashable {
    public var collectionID: Int32
    public var method: String
    public var url: String
    public var observation: TrafficObservation
    public var timestamp: Int64

    public init(collectionID: Int32, method: String, url: String, observation: TrafficObservation, timestamp: Int64) {
        self.collectionID = collectionID
        self.method = method
        self.url = url
        self.observation = observation
        self.timestamp = timestamp
    }
}

/// An account's network settings.
public struct AccountSettingsRecord: Sendable, Hashable {
    public var privateCIDRs: [String]
    public var partnerIPs: [String]
    public var timezone: String

    public init(privateCIDRs: [String], partnerIPs: [String], timezone: String) {
        self.privateCIDRs = privateCIDRs
        self.partnerIPs = partnerIPs
        self.timezone = timezone
    }
}

/// What a background job does.
public enum JobKind: String, Sendable, Hashable, CaseIterable {
    case applyAccessType = "APPLY_ACCESS_TYPE"
    case resetCollectionAccessTypes = "RESET_COLLECTION_ACCESS_TYPES"
    case refreshUsageData = "REFRESH_USAGE_DATA"
}

/// Where a job is in its life.
public enum JobState: String, Sendable, Hashable {
    case queued = "QUEUED"
    case running = "RUNNING"
    case succeeded = "SUCCEEDED"
    case failed = "FAILED"
}

/// A durable background job.
public struct JobRecord: Sendable, Hashable {
    public var id: Int64
    public var kind: JobKind
    public var accountID: Int32
    public var state: JobState
    public var attempts: Int32
    public var result: String
    public var error: String
    public var createdAt: Int64
    public var updatedAt: Int64
    public var finishedAt: Int64

    public init(
        id: Int64, kind: JobKind, accountID: Int32, state: JobState, attempts: Int32, result: String, error: String,
        createdAt: Int64, updatedAt: Int64, finishedAt: Int64
    ) {
        self.id = id
        self.kind = kind
        self.accountID = accountID
        self.state = state
        self.attempts = attempts
        self.result = result
        self.error = error
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.finishedAt = finishedAt
    }
}

/// One usage measurement of an account.
public struct UsageRecord: Sendable, Hashable {
    public var accountID: Int32
    public var metric: String
    public var value: Int64
    public var measuredAt: Int64

    public init(accountID: Int32, metric: String, value: Int64, measuredAt: Int64) {
        self.accountID = accountID
        self.metric = metric
        self.value = value
        self.measuredAt = measuredAt
    }
}

/// An organization's entitlement to a feature.
public struct EntitlementRecord: Sendable, Hashable {
    public var featureLabel: String
    public var isGranted: Bool
    public var usageLimit: Int64
    public var usage: Int64
    public var overageFirstDetected: Int64

    public init(featureLabel: String, isGranted: Bool, usageLimit: Int64, usage: Int64, overageFirstDetected: Int64) {
        self.featureLabel = featureLabel
        self.isGranted = isGranted
        self.usageLimit = usageLimit
        self.usage = usage
        self.overageFirstDetected = overageFirstDetected
    }
}
