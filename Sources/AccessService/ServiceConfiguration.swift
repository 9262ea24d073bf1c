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

    public init(
        publicBaseURL: String = "http://localhost:8080", logoutURL: String = "", redirectAllowList: Set<String> = [],
        sessionLifetime: Duration = .seconds(7 * 24 * 3600), maxApiTokensPerUser: Int = 50,
        passwordHashing: ScryptParameters = .standard
    ) {
        self.publicBaseURL = publicBaseURL
        self.logoutURL = logoutURL
        self.redirectAllowList = redirectAllowList
        self.sessionLifetime = sessionLifetime
        self.maxApiTokensPerUser = maxApiTokensPerUser
        self.passwordHashing = passwordHashing
    }
}
