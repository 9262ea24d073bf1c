/// The storage the identity operations need. Every mutation is one transaction that also writes its audit
/// row, so an acknowledged change and its audit entry are durable together. Rules that must hold under
/// concurrency (caps, rate limits, single use) are checked inside that transaction, never read-then-write in
/// the caller. Implemented by `SQLiteAccountStore`; a PostgreSQL store implements the same protocol.
public protocol AccountStore: Sendable {
    /// True when no user exists yet (the first Signup creates the organization and account).
    /// The number every authority-changing write moves before it is acknowledged (`AuthorityVersion`); nil for
    /// a store that keeps none, whose principals are then never cached.
    var authorityVersion: (any AuthorityVersion)? { get }

    func hasUsers() async throws -> Bool

    /// Creates the first user, their organization, account 1000000 with its default collections, ADMIN in every
    /// scope, and a session when `sessionDigest` is given. FAILED_PRECONDITION if a user exists already (checked
    /// in the transaction).
    /// `setupTokenDigest`: when given, the install's one-time setup token must have this digest (PERMISSION_DENIED
    /// otherwise); the token is consumed by the first user however they were created.
    func createFirstUser(
        email: String, name: String, passwordHash: String, organizationName: String, sessionDigest: [UInt8]?,
        setupTokenDigest: [UInt8]?, now: Int64, sessionExpiresAt: Int64, audit: AuditEntry
    ) async throws -> (user: UserRecord, account: AccountRecord, session: SessionRecord?)

    /// The one-time setup token of an empty install (its digest only, shared by every process on the database):
    /// `.created` when this call stored `digest`, `.exists` when one was stored before, `.notNeeded` when the
    /// install has users (a leftover token is deleted).
    func installSetupToken(digest: [UInt8], now: Int64) async throws -> SetupTokenState

    func user(email: String) async throws -> UserRecord?
    func user(id: Int32) async throws -> UserRecord?

    /// Opens a session in `accountID` (the user's most recent account when nil; FAILED_PRECONDITION when the user
    /// belongs to none) and records the login.
    func createSession(
        userID: Int32, accountID: Int32?, digest: [UInt8], now: Int64, expiresAt: Int64, audit: AuditEntry
    )
        async throws -> SessionRecord

    func session(digest: [UInt8]) async throws -> SessionRecord?

    /// Revokes one session, or every session of its user when `allOfUser`.
    func revokeSessions(sessionID: Int64, allOfUser: Bool, audit: AuditEntry) async throws

    func account(id: Int32) async throws -> AccountRecord?
    func organization(id: String) async throws -> OrganizationRecord?
    func membership(userID: Int32, accountID: Int32) async throws -> MembershipRecord?
    /// Every account the user belongs to, with the user's roles there, by account id.
    func memberships(userID: Int32) async throws -> [(account: AccountRecord, membership: MembershipRecord)]
    func customRole(accountID: Int32, name: String) async throws -> CustomRoleRecord?
    /// What authenticating a credential needs, read together: the user, the account, the user's membership
    /// there (nil when not a member) and the custom role that membership holds in `scope` (nil when the role is
    /// built-in or unknown). Nil when the user or the account no longer exists.
    func principal(userID: Int32, accountID: Int32, scope: Scope) async throws -> PrincipalRecord?
    /// The API token with this digest and its owner's principal, read together; nil when no token matches.
    func apiKeyPrincipal(digest: [UInt8], scope: Scope) async throws -> (
        token: ApiTokenRecord, principal: PrincipalRecord?
    )?
    /// The session with this digest and its principal, read together; nil when no session matches.
    func sessionPrincipal(digest: [UInt8], scope: Scope) async throws -> (
        session: SessionRecord, principal: PrincipalRecord?
    )?

    // MARK: Dashboard sessions (<doc:DashboardSessions>)

    /// Stores credentials of a session (the pair `Login`/`Signup` issue to the dashboard).
    func addSessionTokens(_ tokens: [SessionTokenRecord]) async throws
    /// The access token with this digest, its session and principal, read together; nil when none matches.
    func accessTokenPrincipal(digest: [UInt8], scope: Scope) async throws -> (
        token: SessionTokenRecord, session: SessionRecord, principal: PrincipalRecord?
    )?
    /// The refresh token with this digest and its session, without spending it (the page renderer).
    func refreshTokenSession(digest: [UInt8]) async throws -> (token: SessionTokenRecord, session: SessionRecord)?
    /// Spends a refresh token and issues the pair derived from it: runs a `RefreshWalk` in one writing
    /// transaction (the rows it asks for read there; PostgreSQL locks each token row), then its plan (a reuse
    /// revokes the session and writes the plan's audit row).
    func rotateRefreshToken(_ presented: String, _ inputs: RefreshWalk.Inputs) async throws -> RefreshRotation.Outcome
    /// The members of an account whose role in `scope` is a custom role limited to collections: user id -> ids.
    func collectionLimitedMembers(accountID: Int32, scope: Scope) async throws -> [Int32: [Int32]]

    func apiToken(digest: [UInt8]) async throws -> ApiTokenRecord?
    /// Records a token's use; may be coarse (it is not audited).
    func touchApiToken(id: Int32, now: Int64) async throws
    /// Creates a token; FAILED_PRECONDITION when the user already has `maxLive` in the account (checked in the
    /// transaction).
    func createApiToken(
        accountID: Int32, userID: Int32, utility: TokenUtility, name: String, digest: [UInt8], now: Int64, maxLive: Int,
        audit: AuditEntry
    ) async throws -> ApiTokenRecord
    /// Deletes the token only when `userID` owns it in `accountID`; false otherwise.
    func deleteApiToken(id: Int32, userID: Int32, accountID: Int32, audit: AuditEntry) async throws -> Bool
    func apiTokens(userID: Int32, accountID: Int32) async throws -> [ApiTokenRecord]

    /// Creates an account in `organizationID` with its default collections, makes the user ADMIN in every
    /// scope and, when `sessionID` is given, switches that session to it. FAILED_PRECONDITION when the user
    /// already belongs to `maxAccountsPerUser` accounts (checked in the transaction).
    func createAccount(
        userID: Int32, organizationID: String, name: String, maxAccountsPerUser: Int, sessionID: Int64?, now: Int64,
        audit: AuditEntry
    ) async throws -> AccountRecord

    /// Switches a session to `accountID` if its user is a member there; false otherwise (nothing changes).
    func switchSession(sessionID: Int64, accountID: Int32, audit: AuditEntry) async throws -> Bool

    /// Renames the user (when `name` is given) and, when `organization` is given and differs from the organization's name, the
    /// organization (its owner only: `AccountRules.renameOrganization`), in one transaction. Returns the
    /// organization's name afterwards.
    func rename(userID: Int32, name: String?, organizationID: String, organization: String?, audit: AuditEntry)
        async throws -> String

    /// Hands the organization to the member (of one of its accounts) with this e-mail; the actor must own it.
    func transferOwnership(organizationID: String, actorID: Int32, email: String, audit: AuditEntry) async throws
        -> UserRecord

    /// Stores a password-reset token, issued in `accountID` by `actorID`, for the member with this e-mail, after
    /// `ResetTokenRules.issue` (identity-wide authority, the 2-hour rule) on facts read in the transaction.
    func issuePasswordResetToken(
        accountID: Int32, actorID: Int32, email: String, digest: [UInt8], now: Int64, expiresAt: Int64,
        minimumInterval: Int64, audit: AuditEntry
    ) async throws -> UserRecord

    /// The e-mail of the user a reset token is for (nil when no token has this digest), for the password rule.
    func resetTokenEmail(digest: [UInt8]) async throws -> String?

    /// Consumes a reset token once (`ResetTokenRules.consume`: its issuer's current authority included), sets
    /// the new password and revokes the user's sessions and API tokens. Returns the user id; PERMISSION_DENIED
    /// for any unusable token.
    func consumePasswordResetToken(digest: [UInt8], passwordHash: String, now: Int64, audit: AuditEntry) async throws
        -> Int32

    /// Inserts or updates the user's web-push subscription for `endpoint`, keeping the `maxPerUser` newest.
    func saveSubscription(
        userID: Int32, endpoint: String, p256dh: [UInt8], auth: [UInt8], expirationTime: Int64?, now: Int64,
        maxPerUser: Int, audit: AuditEntry
    ) async throws

    // MARK: Team and roles

    /// Creates (or, for an e-mail already invited, replaces) the invitation of `email` to `accountID` by
    /// `actorID`, after `InvitationRules.create` on facts read in the transaction.
    func createInvitation(
        accountID: Int32, actorID: Int32, email: String, requested: InvitationRules.Requested, codeDigest: [UInt8],
        now: Int64, expiresAt: Int64, maxPending: Int, maxPendingPerInviter: Int, audit: AuditEntry
    ) async throws -> InvitationRecord

    func invitation(accountID: Int32, email: String) async throws -> InvitationRecord?
    func invitations(accountID: Int32) async throws -> [InvitationRecord]
    /// Deletes the pending invitation of `email` in `accountID` (`InvitationRules.remove`).
    func deleteInvitation(accountID: Int32, actorID: Int32, email: String, audit: AuditEntry) async throws

    /// Uses an invitation: the one with this code digest must pass `InvitationRules.accept` (its inviter's
    /// current authority included); creates the user (or takes the existing one), makes them a member with the
    /// invitation's roles, deletes the invitation and opens a session when `sessionDigest` is given, in one
    /// transaction. PERMISSION_DENIED for any unusable code.
    func acceptInvitation(
        codeDigest: [UInt8], joiner: Joiner, sessionDigest: [UInt8]?, now: Int64, sessionExpiresAt: Int64,
        audit: AuditEntry
    ) async throws -> (user: UserRecord, accountID: Int32, session: SessionRecord?)

    func teamMembers(accountID: Int32) async throws -> [TeamMemberRecord]

    /// Sets the requested roles of the member with this e-mail (other scopes unchanged; `NO_ACCESS` is stored
    /// like any role) after `MembershipRules.changeRoles` on facts read in the transaction (so concurrent
    /// demotions and role deletions cannot slip past it). Returns the member and the roles written.
    func setMemberRoles(accountID: Int32, actorID: Int32, email: String, requests: [RoleRequest], audit: AuditEntry)
        async throws -> (user: UserRecord, roles: [Scope: String])

    /// Removes the member with this e-mail after `MembershipRules.remove`, with their API tokens in the account,
    /// the invitations they issued there, the reset tokens they issued there (revoked) and their sessions whose
    /// active account it is.
    func removeMember(accountID: Int32, actorID: Int32, email: String, now: Int64, audit: AuditEntry) async throws
        -> UserRecord

    func customRoles(accountID: Int32) async throws -> [CustomRoleRecord]
    /// Creates a role after `CustomRoleRules.create` (the actor's role in `scope` read in the transaction).
    func createCustomRole(_ role: CustomRoleRecord, actorID: Int32, scope: Scope, audit: AuditEntry) async throws
    /// Applies the patch to the stored role after `CustomRoleRules.update`; returns the role as stored.
    func updateCustomRole(_ patch: CustomRolePatch, actorID: Int32, scope: Scope, audit: AuditEntry) async throws
        -> CustomRoleRecord
    /// Deletes a role after `CustomRoleRules.delete` (in use by a member or pending invitation: refused).
    func deleteCustomRole(accountID: Int32, name: String, actorID: Int32, scope: Scope, audit: AuditEntry) async throws

    /// The endpoints of the user's web-push subscriptions, newest first.
    func pushSubscriptionEndpoints(userID: Int32) async throws -> [String]

    /// Writes an audit row on its own (for mutations whose effect lives outside the database, e.g. billing).
    func appendAudit(_ entry: AuditEntry) async throws

    /// Replaces a user's password hash with one at the configured cost if it is still `old` (a concurrent
    /// password change wins). Returns whether it was replaced.
    func replacePasswordHash(userID: Int32, old: String, new: String) async throws -> Bool

    /// Starts a sign-in attempt on `email` (known or not) from `peer` under `LoginThrottleRules.begin`, in one
    /// transaction: counts it as a failure (peer and across peers) unless the peer is locked out, and deletes
    /// counters quiet for a whole window and the quietest beyond `policy.maxCounters`.
    func beginLoginAttempt(email: String, peer: String, now: Int64, policy: LoginThrottlePolicy) async throws
        -> LoginAttempt

    /// Ends an allowed attempt. Success takes its failure back (the peer's counter is deleted, the one across
    /// peers decremented); a failure that locks the peer out writes `lockoutAudit` (lockouts are audited, not
    /// every failure). Returns true when the peer is now locked out.
    @discardableResult
    func finishLoginAttempt(
        email: String, peer: String, succeeded: Bool, policy: LoginThrottlePolicy, lockoutAudit: AuditEntry
    ) async throws -> Bool

    /// Clears every sign-in counter of `email` after `LoginThrottleRules.clear` (a member of the account, the
    /// actor holding identity-wide authority over them). Returns how many counters were cleared.
    func clearLoginLockout(accountID: Int32, actorID: Int32, email: String, audit: AuditEntry) async throws -> Int

    /// The newest audit rows of an account, newest first, with ids below `beforeID` (0 = from the newest).
    func auditLog(accountID: Int32, beforeID: Int64, limit: Int) async throws -> [(id: Int64, entry: AuditEntry)]
}

/// What `installSetupToken` found.
public enum SetupTokenState: Sendable, Hashable {
    case created
    case exists(createdAt: Int64)
    case notNeeded
}

extension AccountStore {
    public var authorityVersion: (any AuthorityVersion)? { nil }

    /// Composed from the single lookups; a backend overrides it with one round trip.
    public func principal(userID: Int32, accountID: Int32, scope: Scope) async throws -> PrincipalRecord? {
        guard let user = try await user(id: userID), let account = try await account(id: accountID) else { return nil }
        let membership = try await membership(userID: userID, accountID: accountID)
        var custom: CustomRoleRecord?
        if let name = membership?.roles[scope], BuiltinRole(rawValue: name) == nil {
            custom = try await customRole(accountID: accountID, name: name)
        }
        return PrincipalRecord(user: user, account: account, membership: membership, customRole: custom)
    }

    public func apiKeyPrincipal(digest: [UInt8], scope: Scope) async throws
        -> (token: ApiTokenRecord, principal: PrincipalRecord?)?
    {
        guard let token = try await apiToken(digest: digest) else { return nil }
        return (token, try await principal(userID: token.userID, accountID: token.accountID, scope: scope))
    }

    public func sessionPrincipal(digest: [UInt8], scope: Scope) async throws
        -> (session: SessionRecord, principal: PrincipalRecord?)?
    {
        guard let session = try await session(digest: digest) else { return nil }
        return (session, try await principal(userID: session.userID, accountID: session.accountID, scope: scope))
    }
}
