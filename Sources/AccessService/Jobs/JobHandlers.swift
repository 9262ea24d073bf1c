import AccessCore

/// The work of each job kind, in pages so memory stays bounded whatever the account's size.
struct JobHandlers: Sendable {
    let store: any ServiceStore
    let pageSize: Int
    let billing: (any BillingProvider)?

    /// Runs the job and returns its result as JSON text.
    func run(_ job: JobRecord, lease: Lease) async throws -> String {
        switch job.kind {
        case .applyAccessType: return try await applyAccessType(job, lease: lease)
        case .resetCollectionAccessTypes: return try await resetCollectionAccessTypes(job, lease: lease)
        case .refreshUsageData: return try await refreshUsage(job, lease: lease)
        }
    }

    /// ApplyAccessType (12): every component with samples gets the union of its samples' types.
    private func applyAccessType(_ job: JobRecord, lease: Lease) async throws -> String {
        let settings = try await store.settings(accountID: job.accountID)
        let classifier = AccessTypeClassifier(privateCIDRs: settings.privateCIDRs, partnerEntries: settings.partnerIPs)
        var after: Int64 = 0
        var components = 0
        while true {
            let page = try await store.componentsWithSamples(
                accountID: job.accountID, afterComponentID: after, limit: pageSize)
            guard let last = page.last else { break }
            let updates = page.map { entry in
                (componentID: entry.componentID, types: classifier.classify(entry.samples).map(\.rawValue).sorted())
            }
            try await store.setComponentAccessTypes(updates)
            components += page.count
            after = last.componentID
            try await lease.renew()
        }
        return result([("classifiedComponents", .integer(components))])
    }

    /// ResetCollectionAccessTypes (13): each collection's label from its components' types.
    private func resetCollectionAccessTypes(_ job: JobRecord, lease: Lease) async throws -> String {
        var types: [Int32: Set<AccessType>] = [:]
        var after: Int64 = 0
        while true {
            let page = try await store.componentTypes(
                accountID: job.accountID, afterComponentID: after, limit: pageSize)
            guard let last = page.last else { break }
            for entry in page {
                types[entry.collectionID, default: []].formUnion(entry.types.compactMap(AccessType.init))
            }
            after = last.componentID
            try await lease.renew()
        }
        var labels: [Int32: String] = [:]
        for (collection, set) in types {
            if let label = CollectionAccessLabel.label(for: [set]) { labels[collection] = label }
        }
        try await store.setCollectionLabels(labels)
        return result([("labelledCollections", .integer(labels.count))])
    }

    /// RefreshUsageDataForOrg (18): usage of every account of the organization, measured at the job's creation
    /// time (so a re-run after a crash overwrites instead of double-counting).
    private func refreshUsage(_ job: JobRecord, lease: Lease) async throws -> String {
        guard let account = try await store.account(id: job.accountID) else {
            throw RPCError(.notFound, "account \(job.accountID) no longer exists")
        }
        let counts = try await store.usageCounts(organizationID: account.organizationID)
        var measurements: [UsageRecord] = []
        for entry in counts {
            for (metric, value) in [
                ("ACTIVE_ENDPOINTS", entry.activeEndpoints), ("MCP_ASSET_COUNT", entry.mcpAssets),
                ("AI_ASSET_COUNT", entry.aiAssets), ("ACTIVE_ACCOUNTS", 1), ("USERS", entry.users),
            ] {
                measurements.append(
                    UsageRecord(accountID: entry.accountID, metric: metric, value: value, measuredAt: job.createdAt))
            }
        }
        try await lease.renew()
        try await store.recordUsage(
            organizationID: account.organizationID, measurements: measurements, now: job.createdAt)
        var members: [(key: String, value: JSONValue)] = [
            ("accounts", .integer(counts.count)), ("measurements", .integer(measurements.count)),
        ]
        if let billing {
            // A failure here fails the attempt; the retry re-stores the same rows and reports again.
            try await billing.reportUsage(
                organizationID: account.organizationID, measurements: measurements, deadline: .now + .seconds(30))
            members.append(("reported", .bool(true)))
        } else {
            members += [("reported", .bool(false)), ("reportSkippedReason", .string("billing is not configured"))]
        }
        return result(members)
    }

    private func result(_ members: [(key: String, value: JSONValue)]) -> String {
        JSONValue.object(members).serialized()
    }
}
