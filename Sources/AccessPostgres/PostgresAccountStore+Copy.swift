import AccessCore
import Foundation
import PostgresNIO

extension PostgresAccountStore {
    /// The tables of the model in an order that satisfies their foreign keys.
    static let tablesInCopyOrder = [
        "organizations", "entitlements", "accounts", "users", "members", "member_roles", "custom_roles", "invitations",
        "invitation_roles", "api_tokens", "sessions", "password_reset_tokens", "push_subscriptions", "api_collections",
        "api_components", "traffic_samples", "jobs", "usage_metrics", "audit_log", "login_counters",
    ]

    /// Tables that belong to one install and are not copied: the migration record, the setup token of an
    /// empty install (the copy's source has users, or the target makes its own token), and the dashboard's access
    /// and refresh tokens (short-lived; a browser signs in again after the move), and the authority counters (the
    /// target's own, moved by its triggers).
    static let tablesNotCopied: Set<String> = [
        "akto_schema_migrations", "setup_token", "session_tokens", "authority_versions",
    ]

    /// Copies every row of `source` (a store with the same logical schema, e.g. the SQLite file of a
    /// single-machine install) into this database, in one transaction, ids included, then moves the identity
    /// sequences past them. FAILED_PRECONDITION unless this database is empty. Returns the rows copied per
    /// table, in copy order.
    public func copy(from source: any TableSource, pageSize: Int = 500) async throws -> [(table: String, rows: Int)] {
        let counts = try await write { db -> [Pair<String, Int>] in
            guard
                try await db.value(
                    "SELECT EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM organizations)", as: Bool.self)
                    == false
            else {
                throw RPCError(
                    .failedPrecondition, "the target database already has data; copy only into a freshly migrated one")
            }
            let columns = try await db.rows(
                """
                SELECT table_name::text AS t, column_name::text AS c, data_type::text AS type,
                  is_identity::text = 'YES' AS identity
                FROM information_schema.columns WHERE table_schema = current_schema()
                ORDER BY table_name, ordinal_position
                """)
            var byTable: [String: [(name: String, type: String, identity: Bool)]] = [:]
            for row in columns {
                byTable[try row["t"], default: []].append((try row["c"], try row["type"], try row["identity"]))
            }
            let known = Set(byTable.keys).subtracting(Self.tablesNotCopied)
            guard known == Set(Self.tablesInCopyOrder) else {
                throw RPCError(
                    .internal,
                    "the copy does not know every table: \(known.symmetricDifference(Self.tablesInCopyOrder).sorted())")
            }
            var copied: [Pair<String, Int>] = []
            for table in Self.tablesInCopyOrder {
                let fields = byTable[table] ?? []
                let perStatement = max(1, min(pageSize, 60_000 / max(fields.count, 1)))
                var cursor: Int64?
                var count = 0
                while true {
                    let page = try await source.page(
                        table: table, columns: fields.map(\.name), after: cursor, limit: perStatement)
                    if page.rows.isEmpty { break }
                    try await db.execute(try Self.insert(table: table, fields: fields, rows: page.rows))
                    count += page.rows.count
                    cursor = page.cursor
                }
                for field in fields where field.identity {
                    try await db.execute(
                        PostgresQuery(
                            unsafeSQL: """
                                SELECT setval(pg_get_serial_sequence('\(table)', '\(field.name)'),
                                  GREATEST(COALESCE(MAX(\(field.name)), 0), 1), MAX(\(field.name)) IS NOT NULL) FROM \(table)
                                """))
                }
                copied.append(Pair(first: table, second: count))
            }
            return copied
        }
        return counts.map { (table: $0.first, rows: $0.second) }
    }

    /// A multi-row INSERT with every value bound and cast to its column's type.
    static func insert(table: String, fields: [(name: String, type: String, identity: Bool)], rows: [[CopiedValue]])
        throws -> PostgresQuery
    {
        var bindings = PostgresBindings()
        var tuples: [String] = []
        for row in rows {
            guard row.count == fields.count else { throw RPCError(.internal, "\(table): a row has the wrong width") }
            var placeholders: [String] = []
            for (value, field) in zip(row, fields) {
                try bind(value, as: field.type, column: "\(table).\(field.name)", into: &bindings)
                placeholders.append("$\(bindings.count)::\(field.type)")
            }
            tuples.append("(" + placeholders.joined(separator: ", ") + ")")
        }
        return PostgresQuery(
            unsafeSQL: "INSERT INTO \(table) (\(fields.map(\.name).joined(separator: ", "))) VALUES "
                + tuples.joined(separator: ", "), binds: bindings)
    }

    static func bind(_ value: CopiedValue, as type: String, column: String, into bindings: inout PostgresBindings)
        throws
    {
        switch (value, type) {
        case (.null, _): bindings.appendNull()
        case (.integer(let number), "integer"):
            guard let small = Int32(exactly: number) else {
                throw RPCError(.outOfRange, "\(column): \(number) is out of range")
            }
            bindings.append(small)
        case (.integer(let number), "bigint"): bindings.append(number)
        case (.integer(let number), "boolean"): bindings.append(number != 0)
        case (.integer(let number), "text"): bindings.append(String(number))
        case (.real(let number), "text"): bindings.append(String(number))
        case (.text(let text), "text"): bindings.append(text)
        case (.text(let text), "bytea"): try bindings.append(Data(text.utf8))
        case (.blob(let bytes), "bytea"): try bindings.append(Data(bytes))
        case (.blob(let bytes), "text"):
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw RPCError(.invalidArgument, "\(column): a blob that is not UTF-8 text")
            }
            bindings.append(text)
        default: throw RPCError(.invalidArgument, "\(column): cannot copy \(value) into a \(type) column")
        }
    }
}
