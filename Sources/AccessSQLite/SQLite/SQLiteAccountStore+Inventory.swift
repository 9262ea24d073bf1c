import AccessCore
import Foundation
import GRDB

extension SQLiteAccountStore: InventoryStore {
    public func createCollection(
        accountID: Int32, name: String, hostName: String, contextSource: String, now: Int64, audit: AuditEntry
    ) async throws -> ApiCollectionRecord {
        try await write { db in
            try InventoryRules.createCollection(
                name: name,
                taken: try Bool.fetchOne(
                    try db.cachedStatement(
                        sql: "SELECT EXISTS (SELECT 1 FROM api_collections WHERE account_id = ? AND name = ?)"),
                    arguments: [accountID, name]) ?? true)
            try db.cachedStatement(
                sql: """
                    INSERT INTO api_collections (account_id, name, host_name, context_source, created_at)
                    VALUES (?, ?, ?, ?, ?)
                    """
            ).execute(
                arguments: [accountID, name, hostName, contextSource, now])
            let id = Int32(db.lastInsertedRowID)
            var entry = audit
            entry.target = "collection:\(id)"
            try Self.insertAudit(db, entry)
            return ApiCollectionRecord(
                id: id, accountID: accountID, name: name, hostName: hostName, accessType: "",
                contextSource: contextSource,
                createdAt: now, componentCount: 0)
        }
    }

    public func collections(accountID: Int32) async throws -> [ApiCollectionRecord] {
        try await read { db in
            try Row.fetchAll(
                try db.cachedStatement(
                    sql: """
                        SELECT c.*, (SELECT COUNT(*) FROM api_components p WHERE p.collection_id = c.id) AS component_count
                        FROM api_collections c WHERE c.account_id = ? ORDER BY c.id
                        """),
                arguments: [accountID]
            ).map { row in
                ApiCollectionRecord(
                    id: row["id"], accountID: row["account_id"], name: row["name"], hostName: row["host_name"],
                    accessType: row["access_type"], contextSource: row["context_source"], createdAt: row["created_at"],
                    componentCount: row["component_count"])
            }
        }
    }

    public func components(accountID: Int32) async throws -> [ApiComponentRecord] {
        try await read { db in
            try Row.fetchAll(
                try db.cachedStatement(
                    sql: """
                        SELECT p.* FROM api_components p JOIN api_collections c ON c.id = p.collection_id
                        WHERE c.account_id = ? ORDER BY p.id
                        """),
                arguments: [accountID]
            ).map { row in
                ApiComponentRecord(
                    id: row["id"], collectionID: row["collection_id"], method: row["method"], url: row["url"],
                    accessTypes: Self.decodeJSON([String].self, row["access_types"]) ?? [], lastSeen: row["last_seen"])
            }
        }
    }

    public func recordSamples(accountID: Int32, samples: [TrafficSampleInput], now: Int64, audit: AuditEntry)
        async throws
        -> (accepted: Int, newComponents: Int)
    {
        try await write { db in
            let owned = Set(
                try Int32.fetchAll(
                    try db.cachedStatement(sql: "SELECT id FROM api_collections WHERE account_id = ?"),
                    arguments: [accountID]))
            try InventoryRules.samples(collections: samples.map(\.collectionID), known: owned)
            var created = 0
            for sample in samples {
                let componentID: Int64
                if let existing = try Int64.fetchOne(
                    try db.cachedStatement(
                        sql: "SELECT id FROM api_components WHERE collection_id = ? AND method = ? AND url = ?"),
                    arguments: [sample.collectionID, sample.method, sample.url])
                {
                    componentID = existing
                    try db.cachedStatement(sql: "UPDATE api_components SET last_seen = MAX(last_seen, ?) WHERE id = ?")
                        .execute(
                            arguments: [sample.timestamp, existing])
                } else {
                    try db.cachedStatement(
                        sql: "INSERT INTO api_components (collection_id, method, url, last_seen) VALUES (?, ?, ?, ?)"
                    ).execute(
                        arguments: [sample.collectionID, sample.method, sample.url, sample.timestamp])
                    componentID = db.lastInsertedRowID
                    created += 1
                }
                try db.cachedStatement(
                    sql: """
                        INSERT INTO traffic_samples (component_id, source_ip, destination_ip, direction, headers, timestamp)
                        VALUES (?, ?, ?, ?, ?, ?)
                        """
                ).execute(
                    arguments: [
                        componentID, sample.observation.sourceIP, sample.observation.destinationIP,
                        sample.observation.isOutgoing ? "OUTGOING" : "INCOMING", Self.json(sample.observation.headers),
                        sample.timestamp,
                    ])
            }
            var entry = audit
            entry.target = "samples:\(samples.count)"
            try Self.insertAudit(db, entry)
            return (samples.count, created)
        }
    }

    public func settings(accountID: Int32) async throws -> AccountSettingsRecord {
        try await read { db in
            let row = try Row.fetchOne(
                try db.cachedStatement(
                    sql: "SELECT private_cidr_list, partner_ip_list, timezone FROM accounts WHERE id = ?"),
                arguments: [accountID])
            try InventoryRules.requireAccount(accountID, exists: row != nil)
            guard let row else { return AccountSettingsRecord(privateCIDRs: [], partnerIPs: [], timezone: "UTC") }
            return AccountSettingsRecord(
                privateCIDRs: Self.decodeJSON([String].self, row["private_cidr_list"]) ?? [],
                partnerIPs: Self.decodeJSON([String].self, row["partner_ip_list"]) ?? [], timezone: row["timezone"])
        }
    }

    public func updatePrivateCIDRs(accountID: Int32, cidrs: [String], audit: AuditEntry) async throws {
        try await write { db in
            try db.cachedStatement(sql: "UPDATE accounts SET private_cidr_list = ? WHERE id = ?").execute(arguments: [
                Self.json(cidrs), accountID,
            ])
            try Self.insertAudit(db, audit)
        }
    }

    public func updatePartnerIPs(accountID: Int32, entries: [String], audit: AuditEntry) async throws {
        try await write { db in
            try db.cachedStatement(sql: "UPDATE accounts SET partner_ip_list = ? WHERE id = ?").execute(arguments: [
                Self.json(entries), accountID,
            ])
            try Self.insertAudit(db, audit)
        }
    }

    public func componentsWithSamples(accountID: Int32, afterComponentID: Int64, limit: Int) async throws
        -> [(componentID: Int64, samples: [TrafficObservation])]
    {
        try await read { db in
            let ids = try Int64.fetchAll(
                try db.cachedStatement(
                    sql: """
                        SELECT p.id FROM api_components p JOIN api_collections c ON c.id = p.collection_id
                        WHERE c.account_id = ? AND p.id > ? AND EXISTS (SELECT 1 FROM traffic_samples s WHERE s.component_id = p.id)
                        ORDER BY p.id LIMIT ?
                        """),
                arguments: [accountID, afterComponentID, limit])
            return try ids.map { id in
                let samples = try Row.fetchAll(
                    try db.cachedStatement(sql: "SELECT * FROM traffic_samples WHERE component_id = ? ORDER BY id"),
                    arguments: [id]
                ).map { row in
                    TrafficObservation(
                        sourceIP: row["source_ip"], destinationIP: row["destination_ip"],
                        isOutgoing: (row["direction"] as String) == "OUTGOING",
                        headers: Self.decodeJSON([String: String].self, row["headers"]) ?? [:])
                }
                return (id, samples)
            }
        }
    }

    public func setComponentAccessTypes(_ updates: [(componentID: Int64, types: [String])]) async throws {
        guard !updates.isEmpty else { return }
        let rows = updates.map { ($0.componentID, Self.json($0.types)) }
        try await write { db in
            for (id, types) in rows {
                try db.cachedStatement(sql: "UPDATE api_components SET access_types = ? WHERE id = ?").execute(
                    arguments: [types, id])
            }
        }
    }

    public func componentTypes(accountID: Int32, afterComponentID: Int64, limit: Int) async throws
        -> [(componentID: Int64, collectionID: Int32, types: [String])]
    {
        try await read { db in
            try Row.fetchAll(
                try db.cachedStatement(
                    sql: """
                        SELECT p.id, p.collection_id, p.access_types FROM api_components p
                        JOIN api_collections c ON c.id = p.collection_id
                        WHERE c.account_id = ? AND p.id > ? ORDER BY p.id LIMIT ?
                        """),
                arguments: [accountID, afterComponentID, limit]
            ).map { row in (row["id"], row["collection_id"], Self.decodeJSON([String].self, row["access_types"]) ?? [])
            }
        }
    }

    public func setCollectionLabels(_ labels: [Int32: String]) async throws {
        guard !labels.isEmpty else { return }
        try await write { db in
            for (id, label) in labels {
                try db.cachedStatement(sql: "UPDATE api_collections SET access_type = ? WHERE id = ?").execute(
                    arguments: [label, id])
            }
        }
    }

    public func usageCounts(organizationID: String) async throws
        -> [(accountID: Int32, activeEndpoints: Int64, mcpAssets: Int64, aiAssets: Int64, users: Int64)]
    {
        try await read { db in
            try Row.fetchAll(
                try db.cachedStatement(
                    sql: """
                        SELECT a.id,
                          (SELECT COUNT(*) FROM api_components p JOIN api_collections c ON c.id = p.collection_id
                            WHERE c.account_id = a.id AND c.context_source = 'API') AS endpoints,
                          (SELECT COUNT(*) FROM api_components p JOIN api_collections c ON c.id = p.collection_id
                            WHERE c.account_id = a.id AND c.context_source = 'MCP') AS mcp,
                          (SELECT COUNT(*) FROM api_components p JOIN api_collections c ON c.id = p.collection_id
                            WHERE c.account_id = a.id AND c.context_source = 'GEN_AI') AS ai,
                          (SELECT COUNT(*) FROM members m WHERE m.account_id = a.id) AS users
                        FROM accounts a WHERE a.organization_id = ? ORDER BY a.id
                        """),
                arguments: [organizationID]
            ).map { row in (row["id"], row["endpoints"], row["mcp"], row["ai"], row["users"]) }
        }
    }

    public func recordUsage(organizationID: String, measurements: [UsageRecord], now: Int64) async throws {
        try await write { db in
            for m in measurements {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO usage_metrics (account_id, metric, value, measured_at) VALUES (?, ?, ?, ?)
                        ON CONFLICT (account_id, metric, measured_at) DO UPDATE SET value = excluded.value
                        """
                ).execute(
                    arguments: [m.accountID, m.metric, m.value, m.measuredAt])
            }
            let totals = Dictionary(grouping: measurements, by: \.metric).mapValues { $0.reduce(0) { $0 + $1.value } }
            for (metric, usage) in totals {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO entitlements (organization_id, feature_label, is_granted, usage_limit, usage)
                        VALUES (?, ?, 1, -1, ?)
                        ON CONFLICT (organization_id, feature_label) DO UPDATE SET usage = excluded.usage
                        """
                ).execute(
                    arguments: [organizationID, metric, usage])
                // Overage: first time usage reaches the limit, back to -1 when under it again.
                try db.cachedStatement(
                    sql: """
                        UPDATE entitlements SET overage_first_detected = CASE
                          WHEN usage_limit >= 0 AND usage >= usage_limit AND overage_first_detected = -1 THEN ?
                          WHEN usage_limit < 0 OR usage < usage_limit THEN -1
                          ELSE overage_first_detected END
                        WHERE organization_id = ? AND feature_label = ?
                        """
                ).execute(
                    arguments: [now, organizationID, metric])
            }
        }
    }

    public func entitlements(organizationID: String) async throws -> [EntitlementRecord] {
        try await read { db in
            try Row.fetchAll(
                try db.cachedStatement(
                    sql: "SELECT * FROM entitlements WHERE organization_id = ? ORDER BY feature_label"),
                arguments: [organizationID]
            ).map { row in
                EntitlementRecord(
                    featureLabel: row["feature_label"], isGranted: row["is_granted"], usageLimit: row["usage_limit"],
                    usage: row["usage"], overageFirstDetected: row["overage_first_detected"])
            }
        }
    }

    public func latestUsage(organizationID: String) async throws -> [UsageRecord] {
        try await read { db in
            try Row.fetchAll(
                try db.cachedStatement(
                    sql: """
                        SELECT u.* FROM usage_metrics u JOIN accounts a ON a.id = u.account_id
                        WHERE a.organization_id = ? AND u.measured_at = (
                          SELECT MAX(measured_at) FROM usage_metrics v WHERE v.account_id = u.account_id AND v.metric = u.metric)
                        ORDER BY u.account_id, u.metric
                        """),
                arguments: [organizationID]
            ).map { row in
                UsageRecord(
                    accountID: row["account_id"], metric: row["metric"], value: row["value"],
                    measuredAt: row["measured_at"])
            }
        }
    }
}
