import AccessCore

/// Settings of the operations: URLs, lifetimes and policies. Every value has a default and a CLI flag.
public struct ServiceConfiguration: Sendable {
    /// The public base URL of the dashboard (reset links are `<base>/login?token=…`).
    public var publicBaseURL: String
    /// SSO/Auth0 logout URL; Logout answers it with `returnTo`. Empty: the login page of `publicBaseURL`.
    public var logoutURL: String
    /// Origins (`https://host[:port]`) an absolute `redirectUrl` may point to.
    public var redirectAllowList: Set<String>
    /// How long a session lasts.
    public var sessionLifetime: Duration
    /// Live API tokens one user may hold in one account.
    public var maxApiTokensPerUser: Int
    public var passwordHashing: ScryptParameters
    /// Accounts one user may belong to (Akto's check lets an 11th through; ours does not).
    public var maxAccountsPerUser: Int
    /// How long a password-reset token stays valid, and the least time between two for one user.
    public var resetTokenLifetime: Duration
    /// Web-push subscriptions kept per user (the oldest are dropped).
    public var maxPushSubscriptionsPerUser: Int
    /// Seconds a queued background job (ApplyAccessType, ResetCollectionAccessTypes, usage refresh) waits
    /// before it may run; requests arriving meanwhile fold into it. 0 runs it as soon as a worker is free.
    public var jobCoalesceSeconds: Int64
    /// Unexpired invitations one account may have pending (a flood of invitations is refused past it).
    public var maxPendingInvitations: Int
    /// Unexpired invitations one member may have pending in one account.
    public var maxPendingInvitationsPerInviter: Int
    /// Brute-force detection of sign-in (per address and peer, and per address across peers).
    public var loginThrottle: LoginThrottlePolicy
    /// Bounds of the password-hashing queue, per peer and in all.
    public var hashAdmission: HashAdmissionLimits
    /// Anonymous calls (Login, Signup, ResetPassword) one peer may make per second, and in a burst.
    public var anonymousRate: Double
    public var anonymousBurst: Int
    /// The dashboard's access tokens live this long (then the UI trades its refresh cookie for a new pair).
    public var accessTokenLifetime: Duration
    /// A just-spent refresh token presented again within this yields the same new pair (two tabs refreshing at
    /// once); later it is reuse and ends the session.
    public var refreshGrace: Duration
    /// Stigg's signing key (hardened mode): GetCustomerStiggDetails signs the customer token with it. Nil: empty.
    public var stiggSigningKey: [UInt8]?
    /// Socket peers (uids) that may ask DecisionService about any credential (`--decision-allowed-uid`); others
    /// need a DECISIONS API key for that, or may ask only about the credential they call with.
    public var decisionAllowedUIDs: Set<UInt32>
    /// Credentials whose principal is kept in memory (`--principal-cache-entries`; 0 turns the cache off).
    public var principalCacheEntries: Int
    /// The longest a cached principal is used, in seconds (`--principal-cache-seconds`): a bound for changes
    /// made outside the service; the service's own writes invalidate at once.
    public var principalCacheSeconds: Double

    public init(
        publicBaseURL: String = "http://localhost:8080", logoutURL: String = "", redirectAllowList: Set<String> = [],
        sessionLifetime: Duration = .seconds(7 * 24 * 3600), maxApiTokensPerUser: Int = 50,
        passwordHashing: ScryptParameters = .standard, maxAccountsPerUser: Int = 10,
        resetTokenLifetime: Duration = .seconds(2 * 3600), maxPushSubscriptionsPerUser: Int = 10,
        jobCoalesceSeconds: Int64 = 0, maxPendingInvitations: Int = 1000,
        loginThrottle: LoginThrottlePolicy = LoginThrottlePolicy(),
        hashAdmission: HashAdmissionLimits = HashAdmissionLimits(), anonymousRate: Double = 10,
        anonymousBurst: Int = 60,
        maxPendingInvitationsPerInviter: Int = 100, accessTokenLifetime: Duration = .seconds(15 * 60),
        refreshGrace: Duration = .seconds(30), stiggSigningKey: [UInt8]? = nil, decisionAllowedUIDs: Set<UInt32> = [],
        principalCacheEntries: Int = 100_000, principalCacheSeconds: Double = 30
    ) {
        self.principalCacheEntries = principalCacheEntries
        self.principalCacheSeconds = principalCacheSeconds
        self.decisionAllowedUIDs = decisionAllowedUIDs
        self.accessTokenLifetime = accessTokenLifetime
        self.refreshGrace = refreshGrace
        self.stiggSigningKey = stiggSigningKey
        self.maxPendingInvitationsPerInviter = maxPendingInvitationsPerInviter
        self.hashAdmission = hashAdmission
        self.anonymousRate = anonymousRate
        self.anonymousBurst = anonymousBurst
        self.loginThrottle = loginThrottle
        self.maxPendingInvitations = maxPendingInvitations
        self.jobCoalesceSeconds = jobCoalesceSeconds
        self.publicBaseURL = publicBaseURL
        self.logoutURL = logoutURL
        self.redirectAllowList = redirectAllowList
        self.sessionLifetime = sessionLifetime
        self.maxApiTokensPerUser = maxApiTokensPerUser
        self.passwordHashing = passwordHashing
        self.maxAccountsPerUser = maxAccountsPerUser
        self.resetTokenLifetime = resetTokenLifetime
        self.maxPushSubscriptionsPerUser = maxPushSubscriptionsPerUser
    }
}
