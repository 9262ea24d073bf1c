/// One stored value on its way from one store to another (`admin copy-to-postgres`).
public enum CopiedValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// Reads a table page by page, in primary-key order: `afterRow` is the cursor the previous page returned
/// (nil for the first page); an empty page ends the table.
public protocol TableSource: Sendable {
    func page(table: String, columns: [String], after cursor: Int64?, limit: Int) async throws
        -> (rows: [[CopiedValue]], cursor: Int64?)
}
