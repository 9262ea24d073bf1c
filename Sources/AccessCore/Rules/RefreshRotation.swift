/// Refresh-token rotation with reuse detection (OAuth 2.0 Security BCP, RFC 9700 §4.14.2), as pure decisions over
/// the rows a store reads in its writing transaction.
///
/// Each refresh token is spent by its first use, which issues a new pair. The pair is *derived* — HMAC of the
/// presented token under the random key stored with it — so that presenting the just-spent token again within
/// `grace` (two tabs refreshing at once) recomputes and returns the very same pair without any plaintext being
/// stored. Presenting a spent token after the grace window is reuse: someone else holds a copy, and the whole
/// session is revoked.
public enum RefreshRotation {
    /// What the store does with the row found for a presented token.
    public enum Decision: Equatable, Sendable {
        /// The token is the session's current one: spend it and issue the derived pair.
        case rotate
        /// The token was spent within the grace window: its derived successor is the one to look at next.
        case follow
        /// A token spent longer ago than the grace window (or a chain longer than `maxHops`): revoke the session.
        case reuse
        /// No such refresh token, or its session has ended: UNAUTHENTICATED, nothing changes.
        case invalid
    }

    /// How many spent tokens a grace-window replay may walk through to reach the current one.
    public static let maxHops = 8

    public static func decide(
        token: SessionTokenRecord?, session: SessionRecord?, now: Int64, grace: Int64, hops: Int
    ) -> Decision {
        guard let token, token.kind == .refresh, let session, token.sessionID == session.id else { return .invalid }
        guard !session.isRevoked, session.expiresAt > now, token.expiresAt > now else { return .invalid }
        guard let rotatedAt = token.rotatedAt else { return .rotate }
        guard now - rotatedAt <= grace, hops < maxHops else { return .reuse }
        return .follow
    }

    /// What a rotation produced: the pair's texts (shown once) and expiries.
    public struct Issued: Sendable, Equatable {
        public var session: SessionRecord
        public var accessToken: String
        public var accessExpiresAt: Int64
        public var refreshToken: String
        public var refreshExpiresAt: Int64

        public init(
            session: SessionRecord, accessToken: String, accessExpiresAt: Int64, refreshToken: String,
            refreshExpiresAt: Int64
        ) {
            self.session = session
            self.accessToken = accessToken
            self.accessExpiresAt = accessExpiresAt
            self.refreshToken = refreshToken
            self.refreshExpiresAt = refreshExpiresAt
        }
    }

    public enum Outcome: Sendable, Equatable {
        case issued(Issued)
        /// Reuse detected: the session was revoked in the same transaction.
        case reused(sessionID: Int64)
        case invalid
    }

    /// The pair derived from a refresh token and its row's key: (refresh, access) texts.
    public typealias Derive = @Sendable (_ key: [UInt8], _ token: String) -> (refresh: String, access: String)

    /// The rows a rotation stores: the successor refresh token (keyed by `newKey`, living as long as the session)
    /// and the access token (`accessLifetime`, never past the session), in that order.
    public static func successorRows(
        session: SessionRecord, refresh: String, access: String, now: Int64, accessLifetime: Int64, newKey: [UInt8],
        digest: @Sendable (String) -> [UInt8]
    ) -> [SessionTokenRecord] {
        [
            SessionTokenRecord(
                digest: digest(refresh), sessionID: session.id, kind: .refresh, issuedAt: now,
                expiresAt: session.expiresAt,
                rotationKey: newKey),
            SessionTokenRecord(
                digest: digest(access), sessionID: session.id, kind: .access, issuedAt: now,
                expiresAt: min(now + accessLifetime, session.expiresAt)),
        ]
    }

    /// The audit row of a detected reuse, on the session's user and account.
    public static func reuseEntry(_ entry: AuditEntry, session: SessionRecord) -> AuditEntry {
        var entry = entry
        entry.actorUserID = session.userID
        entry.accountID = session.accountID
        entry.target = "session:\(session.id)"
        return entry
    }

    /// Access tokens a session keeps at most (older ones are deleted when a new one is issued): tabs refreshing
    /// one after another each keep a working token, and a refresh flood cannot grow the table.
    public static let maxAccessTokensPerSession = 16
}

/// The walk a store makes through the rows of a presented refresh token, one read at a time, ending in what to
/// write and answer: the same for every store (they only read the rows it asks for and run its plan's SQL).
public struct RefreshWalk {
    /// What the store writes (or answers) at the end of the walk.
    public enum Plan {
        case invalid
        /// Reuse: revoke the session, delete its tokens, write the audit row.
        case reuse(SessionRecord, audit: AuditEntry)
        /// Set `spend`'s `rotatedAt` to now, insert `insert`, prune the session's access tokens, answer `answer`.
        case rotate(spend: SessionTokenRecord, insert: [SessionTokenRecord], answer: RefreshRotation.Issued)
        /// A grace-window replay: nothing to write, answer the pair the predecessor's rotation issued.
        case answer(RefreshRotation.Issued)
    }

    public enum Step {
        /// Read the session-token row with this digest (and its session) and `observe` it.
        case fetch([UInt8])
        case done(Plan)
    }

    public struct Inputs: Sendable {
        public var now: Int64
        public var grace: Int64
        public var accessLifetime: Int64
        /// The successor refresh token's rotation key.
        public var newKey: [UInt8]
        public var reuseAudit: AuditEntry
        public var derive: RefreshRotation.Derive
        public var digest: @Sendable (String) -> [UInt8]

        public init(
            now: Int64, grace: Int64, accessLifetime: Int64, newKey: [UInt8], reuseAudit: AuditEntry,
            derive: @escaping RefreshRotation.Derive, digest: @escaping @Sendable (String) -> [UInt8]
        ) {
            self.now = now
            self.grace = grace
            self.accessLifetime = accessLifetime
            self.newKey = newKey
            self.reuseAudit = reuseAudit
            self.derive = derive
            self.digest = digest
        }
    }

    public private(set) var step: Step
    private let inputs: Inputs
    private var text: String
    private var previous: (key: [UInt8], text: String)?
    private var hops = 0
    /// A replay reached the current token and asked for the access row of the pair it answers.
    private var replay: (session: SessionRecord, token: SessionTokenRecord, access: String)?

    public init(presented: String, _ inputs: Inputs) {
        self.inputs = inputs
        self.text = presented
        self.step = .fetch(inputs.digest(presented))
    }

    /// The row read for the last `.fetch` (nil when none), and its session.
    public mutating func observe(token: SessionTokenRecord?, session: SessionRecord?) {
        if let replay {
            // The access row of the replayed pair: the answer stands while it does.
            guard let token, token.kind == .access, token.sessionID == replay.session.id, token.expiresAt > inputs.now
            else {
                step = .done(.invalid)
                return
            }
            step = .done(
                .answer(
                    RefreshRotation.Issued(
                        session: replay.session, accessToken: replay.access, accessExpiresAt: token.expiresAt,
                        refreshToken: text, refreshExpiresAt: replay.token.expiresAt)))
            return
        }
        let decision = RefreshRotation.decide(
            token: token, session: session, now: inputs.now, grace: inputs.grace, hops: hops)
        switch decision {
        case .invalid:
            step = .done(.invalid)
        case .reuse:
            step =
                session.map { .done(.reuse($0, audit: RefreshRotation.reuseEntry(inputs.reuseAudit, session: $0))) }
                ?? .done(.invalid)
        case .follow:
            guard let token else {
                step = .done(.invalid)
                return
            }
            previous = (token.rotationKey, text)
            text = inputs.derive(token.rotationKey, text).refresh
            hops += 1
            step = .fetch(inputs.digest(text))
        case .rotate:
            guard let token, let session else {
                step = .done(.invalid)
                return
            }
            if let previous {
                let access = inputs.derive(previous.key, previous.text).access
                replay = (session, token, access)
                step = .fetch(inputs.digest(access))
                return
            }
            let pair = inputs.derive(token.rotationKey, text)
            let rows = RefreshRotation.successorRows(
                session: session, refresh: pair.refresh, access: pair.access, now: inputs.now,
                accessLifetime: inputs.accessLifetime, newKey: inputs.newKey, digest: inputs.digest)
            step = .done(
                .rotate(
                    spend: token, insert: rows,
                    answer: RefreshRotation.Issued(
                        session: session, accessToken: pair.access, accessExpiresAt: rows[1].expiresAt,
                        refreshToken: pair.refresh, refreshExpiresAt: session.expiresAt)))
        }
    }
}
