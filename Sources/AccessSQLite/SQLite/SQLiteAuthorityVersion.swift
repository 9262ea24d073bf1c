import AccessCore
import CSharedCounter
import Foundation
import GRDB

/// The SQLite store's `AuthorityVersion`: two counters in the file `<database>-authority`, mapped shared by every
/// process serving the database, moved by the writer connection's transaction observer when a transaction
/// changed an authority table — once before the commit and once after it, both before the write is
/// acknowledged. Reading it is one atomic load (<doc:Storage>, "The principal cache").
///
/// Why twice: the bump after the commit is the one that makes entries read before it stale; the bump before
/// it covers a process that dies between its commit and its second bump (entries read before the first bump are
/// stale at once; only an entry read in the microseconds between the two survives, until its maximum age).
final class SQLiteAuthorityVersion: AuthorityVersion, TransactionObserver, @unchecked Sendable {
    // @unchecked: `counter` points at a mapped page only touched atomically; `touched` is read and written only on
    // the writer connection's queue (GRDB calls the observer there).
    private let counter: UnsafeMutablePointer<UInt64>
    /// Which counters the open transaction moves: 0 principals, 1 custom roles.
    private var touched: (principals: Bool, customRoles: Bool) = (false, false)

    /// What a credential's principal is read from; a change to any of them can change what a credential stands
    /// for. New sessions, tokens and API keys are not changes to any existing principal (nothing unknown is
    /// cached), and last-use and last-sign-in times are not authority. A column added to one of these tables
    /// later counts as authority unless it is named in `bookkeeping`.
    static let tables: Set<String> = [
        "users", "accounts", "organizations", "members", "member_roles", "custom_roles", "sessions", "session_tokens",
        "api_tokens",
    ]
    static let insertsThatChangeNoPrincipal: Set<String> = ["sessions", "session_tokens", "api_tokens"]
    /// Columns that are bookkeeping, not authority: an UPDATE that sets only these leaves the version alone.
    static let bookkeeping: [String: Set<String>] = ["api_tokens": ["last_used_at"], "users": ["last_login_at"]]

    /// Maps the counter of the database at `path` (anonymous memory for an in-memory database) and moves it
    /// once, so entries another process read before this one changed anything offline are not trusted.
    init(databasePath path: String) throws {
        let shared = !(path.isEmpty || path == ":memory:" || path.hasPrefix("file:"))
        let mapped = shared ? akto_shared_counter_open(path + "-authority") : akto_shared_counter_open(nil)
        guard let mapped else {
            throw RPCError(
                .unavailable, "cannot map the authority version \(path)-authority: \(String(cString: strerror(errno)))")
        }
        counter = UnsafeMutablePointer(mutating: mapped)
        akto_shared_counter_increment(counter, 0)
        akto_shared_counter_increment(counter, 1)
    }

    deinit { akto_shared_counter_close(counter) }

    func currentNow() -> AuthorityStamp? {
        AuthorityStamp(
            principals: akto_shared_counter_load(counter, 0), customRoles: akto_shared_counter_load(counter, 1))
    }

    func current() async throws -> AuthorityStamp { currentNow()! }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
        switch eventKind {
        case .insert(let table):
            return Self.tables.contains(table) && !Self.insertsThatChangeNoPrincipal.contains(table)
        case .delete(let table): return Self.tables.contains(table)
        case .update(let table, let columns):
            return Self.tables.contains(table) && !columns.isSubset(of: Self.bookkeeping[table] ?? [])
        }
    }

    func databaseDidChange(with event: DatabaseEvent) {
        if event.tableName == "custom_roles" { touched.customRoles = true } else { touched.principals = true }
    }

    func databaseDidChange() { touched = (true, true) }

    private func bump() {
        if touched.principals { akto_shared_counter_increment(counter, 0) }
        if touched.customRoles { akto_shared_counter_increment(counter, 1) }
    }

    func databaseWillCommit() throws { bump() }

    func databaseDidCommit(_ db: Database) {
        bump()
        touched = (false, false)
    }

    func databaseDidRollback(_ db: Database) {
        bump()
        touched = (false, false)
    }
}
