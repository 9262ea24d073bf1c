import AccessCore
import Foundation
import PostgresNIO

extension PostgresAccountStore: InventoryStore {
    public func createCollection(
        accountID: Int32, name: String, hostName: String, contextSource: String, now: Int64, audit: AuditEntry
    ) async throws -> ApiCollectionRecord {
        try await write { db in
            try InventoryRules.createCollection(
                name: name,
                taken: try await db.value(
                    "SELECT EXISTS (SELECT 1 FROM api_collections WHERE account_id = \(accountID) AND name = \(name))",
                    as: Bool.self) ?? true)
            guard
                let id = try await db.value(
                    """
                    INSERT INTO api_collections (account_id, name, host_name, context_source, created_at)
                    VALUES (\(accountID), \(name), \(hostName), \(contextSource), \(now)) RETURNING id
                    """, as: Int32.self)
            else { throw RPCError(.internal, "the new collection has no id") }
            var entry = audit
            entry.target = "collection:\(id)"
            try await Self.insertAudit(db, entry)
            return ApiCollectionRecord(
                id: id, accountID: accountID, name: name, hostName: hostName, accessType: "",
                contextSource: contextSource, createdAt: now, componentCount: 0)
        }
    }

    public func collections(accountID: Int32) async throws -> [ApiCollectionRecord] {
        try await read { db in
            try await db.rows(
                """
                SELECT c.*, (SELECT COUNT(*) FROM api_components p WHERE p.collection_id = c.id)::integer AS component_count
                FROM api_collections c WHERE c.account_id = \(accountID) ORDER BY c.id
                """
            ).map { row in
                ApiCollectionRecord(
                    id: try row["id"], accountID: try row["account_id"], name: try row["name"],
                    hostName: try row["host_name"], accessType: try row["access_type"],
                    contextSource: try row["context_source"], createdAt: try row["created_at"],
                    componentCount: try row["component_count"])
            }
        }
    }

    public func components(accountID: Int32) async throws -> [ApiComponentRecord] {
        try await read { db in
            try await db.rows(
                """
                SELECT p.* FROM api_components p JOIN api_collections c ON c.id = p.collection_id
                WHERE c.account_id = \(accountID) ORDER BY p.id
                """
            ).map { row in
                ApiComponentRecord(
                    id: try row["id"], collectionID: try row["collection_id"], method: try row["method"],
                    url: try row["url"], accessTypes: try row.json("access_types", as: [String].self) ?? [],
                    lastSeen: try row["last_seen"])
            }
        }
    }

    public func recordSamples(accountID: Int32, samples: [TrafficSampleInput], now: Int64, audit: AuditEntry)
        async throws -> (accepted: Int, newComponents: Int)
    {
        let created = try await write { db -> Int in
            let owned = Set(
                try await db.values("SELECT id FROM api_collections WHERE account_id = \(accountID)", as: Int32.self))
            try InventoryRules.samples(collections: samples.map(\.collectionID), known: owned)
            // Components: one upsert of the distinct (collection, method, url) keys of the batch (a key may
            // appear once per statement), atomic against concurrent first sightings from other processes.
            var latest: [ComponentKey: Int64] = [:]
            for sample in samples {
                let key = ComponentKey(collectionID: sample.collectionID, method: sample.method, url: sample.url)
                latest[key] = max(latest[key] ?? .min, sample.timestamp)
            }
            let keys = Array(latest.keys)
            let upserted = try await db.rows(
                """
                INSERT INTO api_components (collection_id, method, url, last_seen)
                SELECT * FROM unnest(\(keys.map(\.collectionID))::integer[], \(keys.map(\.method))::text[],
                                     \(keys.map(\.url))::text[], \(keys.map { latest[$0]! })::bigint[])
                ON CONFLICT (collection_id, method, url)
                  DO UPDATE SET last_seen = GREATEST(api_components.last_seen, excluded.last_seen)
                RETURNING id, collection_id, method, url, (xmax = 0) AS inserted
                """)
            var ids: [ComponentKey: Int64] = [:]
            var created = 0
            for row in upserted {
                ids[
                    ComponentKey(collectionID: try row["collection_id"], method: try row["method"], url: try row["url"])
                ] =
                    try row["id"]
                if try row["inserted"] as Bool { created += 1 }
            }
            var componentIDs: [Int64] = []
            for sample in samples {
                guard
                    let id = ids[
                        ComponentKey(collectionID: sample.collectionID, method: sample.method, url: sample.url)]
                else { throw RPCError(.internal, "a component of the batch was not stored") }
                componentIDs.append(id)
            }
            try await db.execute(
                """
                INSERT INTO traffic_samples (component_id, source_ip, destination_ip, direction, headers, timestamp)
                SELECT * FROM unnest(\(componentIDs)::bigint[], \(samples.map(\.observation.sourceIP))::text[],
                  \(samples.map(\.observation.destinationIP))::text[],
                  \(samples.map { $0.observation.isOutgoing ? "OUTGOING" : "INCOMING" })::text[],
                  \(samples.map { Self.json($0.observation.headers) })::text[], \(samples.map(\.timestamp))::bigint[])
                """)
            var entry = audit
            entry.target = "samples:\(samples.count)"
            try await Self.insertAudit(db, entry)
            return created
        }
        return (samples.count, created)
    }

    public func settings(accountID: Int32) async throws -> AccountSettingsRecord {
        try await read { db in
            let row = try await db.row(
                "SELECT private_cidr_list, partner_ip_list, timezone FROM accounts WHERE id = \(accountID)")
            try InventoryRules.requireAccount(accountID, exists: row != nil)
            guard let row else { return AccountSettingsRecord(privateCIDRs: [], partnerIPs: [], timezone: "UTC") }
            return AccountSettingsRecord(
                privateCIDRs: try row.json("private_cidr_list", as: [String].self) ?? [],
                partnerIPs: try row.json("partner_ip_list", as: [String].self) ?? [], timezone: try row["timezone"])
        }
    }

    public func updatePrivateCIDRs(accountID: Int32, cidrs: [String], audit: AuditEntry) async throws {
        try await write { db in
            try await db.execute("UPDATE accounts SET private_cidr_list = \(Self.json(cidrs)) WHERE id = \(accountID)")
            try await Self.insertAudit(db, audit)
        }
    }

    public func updatePartnerIPs(accountID: Int32, entries: [String], audit: AuditEntry) async throws {
        try await write { db in
            try await db.execute("UPDATE accounts SET partner_ip_list = \(Self.json(entries)) WHERE id = \(accountID)")
            try await Self.insertAudit(db, audit)
        }
    }

    public func componentsWithSamples(accountID: Int32, afterComponentID: Int64, limit: Int) async throws
        -> [(componentID: Int64, samples: [TrafficObservation])]
    {
        let pages = try await snapshot { db -> [Pair<Int64, [TrafficObservation]>] in
            let ids = try await db.values(
                """
                SELECT p.id FROM api_components p JOIN api_collections c ON c.id = p.collection_id
                WHERE c.account_id = \(accountID) AND p.id > \(afterComponentID)
                  AND EXISTS (SELECT 1 FROM traffic_samples s WHERE s.component_id = p.id)
                ORDER BY p.id LIMIT \(Int64(limit))
                """, as: Int64.self)
            var byComponent: [Int64: [TrafficObservation]] = [:]
            for row in try await db.rows(
                "SELECT * FROM traffic_samples WHERE component_id = ANY(\(ids)::bigint[]) ORDER BY component_id, id")
            {
                byComponent[try row["component_id"], default: []].append(
                    TrafficObservation(
                        sourceIP: try row["source_ip"], destinationIP: try row["destination_ip"],
                        isOutgoing: (try row["direction"] as String) == "OUTGOING",
                        headers: try row.json("headers", as: [String: String].self) ?? [:]))
            }
            let result = ids.map { Pair(first: $0, second: byComponent[$0] ?? []) }
            return result
        }
        return pages.map { (componentID: $0.first, samples: $0.second) }
    }

    public func setComponentAccessTypes(_ updates: [(componentID: Int64, types: [String])]) async throws {
        guard !updates.isEmpty else { return }
        let ids = updates.map(\.componentID)
        let types = updates.map { Self.json($0.types) }
        try await write { db in
            try await db.execute(
                """
                UPDATE api_components p SET access_types = u.types
                FROM unnest(\(ids)::bigint[], \(types)::text[]) AS u(id, types) WHERE p.id = u.id
                """)
        }
    }

    public func componentTypes(accountID: Int32, afterComponentID: Int64, limit: Int) async throws
        -> [(componentID: Int64, collectionID: Int32, types: [String])]
    {
        let rows = try await read { db in
            try await db.rows(
                """
                SELECT p.id, p.collection_id, p.access_types FROM api_components p
                JOIN api_collections c ON c.id = p.collection_id
                WHERE c.account_id = \(accountID) AND p.id > \(afterComponentID) ORDER BY p.id LIMIT \(Int64(limit))
                """
            ).map { row in
                Pair(
                    first: Pair(first: try row["id"] as Int64, second: try row["collection_id"] as Int32),
                    second: try row.json("access_types", as: [String].self) ?? [])
            }
        }
        return rows.map { (componentID: $0.first.first, collectionID: $0.first.second, types: $0.second) }
    }

    public func setCollectionLabels(_ labels: [Int32: String]) async throws {
        guard !labels.isEmpty else { return }
        try await write { db in
            for (id, label) in labels.sorted(by: { $0.key < $1.key }) {
                try await db.execute("UPDATE api_collections SET access_type = \(label) WHERE id = \(id)")
            }
        }
    }

    public func usageCounts(organizationID: String) async throws
        -> [(accountID: Int32, activeEndpoints: Int64, mcpAssets: Int64, aiAssets: Int64, users: Int64)]
    {
        let rows = try await read { db in
            try await db.rows(
                """
                SELECT a.id,
                  (SELECT COUNT(*) FROM api_components p JOIN api_collections c ON c.id = p.collection_id
                    WHERE c.account_id = a.id AND c.context_source = 'API') AS endpoints,
                  (SELECT COUNT(*) FROM api_components p JOIN api_collections c ON c.id = p.collection_id
                    WHERE c.account_id = a.id AND c.context_source = 'MCP') AS mcp,
                  (SELECT COUNT(*) FROM api_components p JOIN api_collections c ON c.id = p.collection_id
                    WHERE c.account_id = a.id AND c.context_source = 'GEN_AI') AS ai,
                  (SELECT COUNT(*) FROM members m WHERE m.account_id = a.id) AS users
                FROM accounts a WHERE a.organization_id = \(organizationID) ORDER BY a.id
                """
            ).map { row in
                UsageCountRow(
                    accountID: try row["id"], endpoints: try row["endpoints"], mcp: try row["mcp"], ai: try row["ai"],
                    users: try row["users"])
            }
        }
        return rows.map { ($0.accountID, $0.endpoints, $0.mcp, $0.ai, $0.users) }
    }

    public func recordUsage(organizationID: String, measurements: [UsageRecord], now: Int64) async throws {
        try await write { db in
            for m in measurements {
                try await db.execute(
                    """
                    INSERT INTO usage_metrics (account_id, metric, value, measured_at)
                    VALUES (\(m.accountID), \(m.metric), \(m.value), \(m.measuredAt))
                    ON CONFLICT (account_id, metric, measured_at) DO UPDATE SET value = excluded.value
                    """)
            }
            let totals = Dictionary(grouping: measurements, by: \.metric).mapValues { $0.reduce(0) { $0 + $1.value } }
            for (metric, usage) in totals.sorted(by: { $0.key < $1.key }) {
                try await db.execute(
                    """
                    INSERT INTO entitlements (organization_id, feature_label, is_granted, usage_limit, usage)
                    VALUES (\(organizationID), \(metric), true, -1, \(usage))
                    ON CONFLICT (organization_id, feature_label) DO UPDATE SET usage = excluded.usage
                    """)
                // Overage: first time usage reaches the limit, back to -1 when under it again.
                try await db.execute(
                    """
                    UPDATE entitlements SET overage_first_detected = CASE
                      WHEN usage_limit >= 0 AND usage >= usage_limit AND overage_first_detected = -1 THEN \(now)
                      WHEN usage_limit < 0 OR usage < usage_limit THEN -1
                      ELSE overage_first_detected END
                    WHERE organization_id = \(organizationID) AND feature_label = \(metric)
                    """)
            }
        }
    }

    public func entitlements(organizationID: String) async throws -> [EntitlementRecord] {
        try await read { db in
            try await db.rows(
                "SELECT * FROM entitlements WHERE organization_id = \(organizationID) ORDER BY feature_label"
            ).map { row in
                EntitlementRecord(
                    featureLabel: try row["feature_label"], isGranted: try row["is_granted"],
                    usageLimit: try row["usage_limit"], usage: try row["usage"],
                    overageFirstDetected: try row["overage_first_detected"])
            }
        }
    }

    public func latestUsage(organizationID: String) async throws -> [UsageRecord] {
        try await read { db in
            try await db.rows(
                """
                SELECT u.* FROM usage_metrics u JOIN accounts a ON a.id = u.account_id
                WHERE a.organization_id = \(organizationID) AND u.measured_at = (
                  SELECT MAX(measured_at) FROM usage_metrics v WHERE v.account_id = u.account_id AND v.metric = u.metric)
                ORDER BY u.account_id, u.metric
                """
            ).map { row in
                UsageRecord(
                    accountID: try row["account_id"], metric: try row["metric"], value: try row["value"],
                    measuredAt: try row["measured_at"])
            }
        }
    }
}

/// One row of `usageCounts`.
struct UsageCountRow: Sendable {
    let accountID: Int32
    let endpoints: Int64
    let mcp: Int64
    let ai: Int64
    let users: Int64
}

/// A component's identity within a batch of samples.
struct ComponentKey: Hashable, Sendable {
    let collectionID: Int32
    let method: String
    let url: String
}
