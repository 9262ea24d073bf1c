import AccessCore
import Foundation
import GRDB

extension SQLiteAccountStore: TableSource {
    /// A page of `table` in rowid order (every table here has one), for copying the store elsewhere.
    public func page(table: String, columns: [String], after cursor: Int64?, limit: Int) async throws
        -> (rows: [[CopiedValue]], cursor: Int64?)
    {
        let identifier = { (name: String) -> String in "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        let sql =
            "SELECT rowid, \(columns.map(identifier).joined(separator: ", ")) FROM \(identifier(table)) "
            + "WHERE rowid > ? ORDER BY rowid LIMIT ?"
        let page = try await read { db -> ([[CopiedValue]], Int64?) in
            var last: Int64?
            let rows = try Row.fetchAll(db, sql: sql, arguments: [cursor ?? Int64.min, limit]).map {
                row -> [CopiedValue] in
                last = row[0]
                return (1...columns.count).map { index in
                    switch (row[index] as DatabaseValue).storage {
                    case .null: .null
                    case .int64(let value): .integer(value)
                    case .double(let value): .real(value)
                    case .string(let value): .text(value)
                    case .blob(let value): .blob([UInt8](value))
                    }
                }
            }
            return (rows, last)
        }
        return (page.0, page.1)
    }
}
