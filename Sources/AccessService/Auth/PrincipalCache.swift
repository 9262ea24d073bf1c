import AccessCore

/// What a credential stood for when last read, kept in memory so an authenticated call needs no store read
/// (<doc:Storage>, "The principal cache").
///
/// Never stale: every entry carries the store's `AuthorityVersion` read *before* its data, and is used only while
/// the version is still that number. Every write that can change what a credential stands for moves the version
/// before it is acknowledged, so the call after an acknowledged revocation — on this process or another —
/// misses and reads the store. Entries also die after `maxAge` seconds, which bounds what a change made outside
/// the service (an operator editing the database by hand) can leave behind. Only what the store found is kept:
/// an unknown credential is read again each time (and refused), so a flood of made-up keys cannot fill memory.
///
/// An entry whose principal holds a custom role is also tied to the custom-role half of the version
/// (`AuthorityStamp`): editing a custom role invalidates only the principals that could hold it.
///
/// Bounded by `capacity` entries: at capacity, entries no longer current are dropped first, then everything.
/// From 4,096 entries up, they are split over 16 shards by key, each with its own lock and its share of the capacity, so
/// the event loops answering calls at once seldom wait for each other (one lock made Me by API key at 4×16
/// spend 5 % of its CPU waiting).
final class PrincipalCache: Sendable {
    enum Key: Hashable, Sendable {
        case apiKey(digest: Digest, scope: Scope)
        case session(digest: Digest, scope: Scope)
        case accessToken(digest: Digest, scope: Scope)
        case user(id: Int32)
        case memberships(userID: Int32)
        case organization(id: String)
        /// Me's whole answer for a caller (user, account, organization, context and role): what Me shows is the
        /// user, their memberships and the organization, all principal data under the same version.
        case me(userID: Int32, accountID: Int32, organizationID: String, context: String, role: String)
    }

    /// A credential's SHA-256 digest as four words: hashed in four steps instead of thirty-two.
    struct Digest: Hashable, Sendable {
        let words: (UInt64, UInt64, UInt64, UInt64)

        init(_ bytes: [UInt8]) {
            var padded = [UInt8](repeating: 0, count: 32)
            for (i, byte) in bytes.prefix(32).enumerated() { padded[i] = byte }
            words = padded.withUnsafeBytes {
                (
                    $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
                    $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                    $0.loadUnaligned(fromByteOffset: 16, as: UInt64.self),
                    $0.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
                )
            }
            precondition(bytes.count == 32, "a credential digest is a SHA-256 digest")
        }

        static func == (a: Digest, b: Digest) -> Bool { a.words == b.words }

        func hash(into hasher: inout Hasher) {
            hasher.combine(words.0)
            hasher.combine(words.1)
            hasher.combine(words.2)
            hasher.combine(words.3)
        }
    }

    private struct Entry {
        let value: any Sendable
        let stamp: AuthorityStamp
        /// Whether the value depends on a custom role's definition (then `stamp.customRoles` counts too).
        let involvesCustomRoles: Bool
        let storedAt: Double
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var hits = 0
        var misses = 0
    }

    let version: any AuthorityVersion
    let capacity: Int
    let maxAge: Double
    private let clock: any WallClock
    private let shards: [Locked<State>]
    /// Entries one shard may hold: `capacity` split evenly, so all shards together hold at most `capacity`.
    private let shardCapacity: Int

    static let maximumShards = 16

    init(version: any AuthorityVersion, capacity: Int, maxAge: Double, clock: any WallClock) {
        self.version = version
        self.capacity = capacity
        self.maxAge = maxAge
        self.clock = clock
        // A small cache (tests, tiny deployments) stays one shard, so its bound is exact for any key set.
        let count = capacity >= Self.maximumShards * 256 ? Self.maximumShards : 1
        shards = (0..<count).map { _ in Locked(State()) }
        shardCapacity = capacity / count
    }

    private func shard(_ key: Key) -> Locked<State> {
        shards[Int(UInt(bitPattern: key.hashValue) % UInt(shards.count))]
    }

    /// The version to tag or check entries with now, reading the store when it must (PostgreSQL).
    func stamp() async throws -> AuthorityStamp {
        if let now = version.currentNow() { return now }
        return try await version.current()
    }

    /// The entry for `key` if it is still current at `stamp`, without waiting.
    func peek<Value: Sendable>(_ key: Key, as type: Value.Type, at stamp: AuthorityStamp) -> Value? {
        let now = clock.now()
        return shard(key).withLock { state in
            guard let entry = state.entries[key],
                entry.stamp.holds(at: stamp, involvingCustomRoles: entry.involvesCustomRoles),
                now - entry.storedAt < maxAge,
                now >= entry.storedAt, let value = entry.value as? Value
            else {
                state.misses += 1
                return nil
            }
            state.hits += 1
            return value
        }
    }

    /// The entry for `key` when the version can be read without waiting and the entry is current.
    func peekNow<Value: Sendable>(_ key: Key, as type: Value.Type) -> Value? {
        guard let stamp = version.currentNow() else { return nil }
        return peek(key, as: type, at: stamp)
    }

    /// The value for `key`: from memory when current, else `load`ed (off the calling thread where the store
    /// does that) and kept, tagged with the version read before it. A nil `load` result is not kept.
    /// `involvesCustomRoles` says whether a loaded value depends on custom roles' definitions.
    func value<Value: Sendable>(
        _ key: Key, involvesCustomRoles: (Value) -> Bool, load: () async throws -> Value?
    ) async throws -> Value? {
        let stamp = try await stamp()
        if let found = peek(key, as: Value.self, at: stamp) { return found }
        guard let loaded = try await load() else { return nil }
        store(key, loaded, at: stamp, involvesCustomRoles: involvesCustomRoles(loaded))
        return loaded
    }

    /// The value for `key` at `stamp` (read by the caller before any of its lookups): from memory when current,
    /// else `load`ed and kept, whatever it is (an absent organization too: creating one moves the version).
    /// Such values (a user, their memberships, an organization) never depend on custom roles' definitions.
    func value<Value: Sendable>(_ key: Key, at stamp: AuthorityStamp, load: () async throws -> Value) async throws
        -> Value
    {
        if let found = peek(key, as: Value.self, at: stamp) { return found }
        let loaded = try await load()
        store(key, loaded, at: stamp, involvesCustomRoles: false)
        return loaded
    }

    /// Keeps `value` for `key`, read after the version was `stamp`.
    func store(_ key: Key, _ value: some Sendable, at stamp: AuthorityStamp, involvesCustomRoles: Bool) {
        guard capacity > 0 else { return }
        let entry = Entry(
            value: value, stamp: stamp, involvesCustomRoles: involvesCustomRoles, storedAt: clock.now())
        shard(key).withLock { state in
            if state.entries.count >= shardCapacity, state.entries[key] == nil {
                state.entries = state.entries.filter {
                    $0.value.stamp.holds(at: stamp, involvingCustomRoles: $0.value.involvesCustomRoles)
                }
                if state.entries.count >= shardCapacity { state.entries.removeAll(keepingCapacity: true) }
            }
            state.entries[key] = entry
        }
    }

    /// Replaces the value of a current entry, keeping its version (an API key's last-use time after the
    /// service itself moved it: that write changes no authority).
    func refresh<Value: Sendable>(_ key: Key, as type: Value.Type, _ update: (Value) -> Value) {
        shard(key).withLock { state in
            guard let entry = state.entries[key], let value = entry.value as? Value else { return }
            state.entries[key] = Entry(
                value: update(value), stamp: entry.stamp, involvesCustomRoles: entry.involvesCustomRoles,
                storedAt: entry.storedAt)
        }
    }

    /// Entries held, hits and misses since start (for the metrics page and tests).
    var statistics: (entries: Int, hits: Int, misses: Int) {
        shards.reduce((0, 0, 0)) { total, shard in
            shard.withLock { (total.0 + $0.entries.count, total.1 + $0.hits, total.2 + $0.misses) }
        }
    }
}

/// The version of a store that has none: caching is off (every lookup reads the store).
struct NoAuthorityVersion: AuthorityVersion {
    func current() async throws -> AuthorityStamp { AuthorityStamp(principals: 0, customRoles: 0) }
}
