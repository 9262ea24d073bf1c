/// Settings of the HTTP/JSON gateway. Every limit has a default and a CLI flag.
public struct GatewayConfiguration: Sendable {
    public var host: String
    /// 0 picks a free port (tests).
    public var port: Int
    /// Bodies larger than this are refused with 413 before they are parsed.
    public var maxBodyBytes: Int
    /// Total bytes of request header names and values; more gets 431.
    public var maxHeaderBytes: Int
    /// Browser origins (`https://app.example.com`) allowed to call with credentials (CORS) and to pass the CSRF
    /// check of cookie-authenticated requests.
    public var allowedOrigins: Set<String>
    /// The public URL: when https, the session cookie is `Secure` and named with the `__Host-` prefix.
    public var publicBaseURL: String
    /// Max-Age of the session cookie, in seconds (the session lifetime).
    public var sessionCookieMaxAge: Int64

    public init(
        host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = 1 << 20, maxHeaderBytes: Int = 16 * 1024,
        allowedOrigins: Set<String> = [], publicBaseURL: String = "http://localhost:8080",
        sessionCookieMaxAge: Int64 = 7 * 24 * 3600
    ) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.allowedOrigins = allowedOrigins
        self.publicBaseURL = publicBaseURL
        self.sessionCookieMaxAge = sessionCookieMaxAge
    }

    /// True when the public URL is https: cookies get `Secure` and the `__Host-` name.
    public var isSecure: Bool { publicBaseURL.lowercased().hasPrefix("https://") }

    /// The session cookie's name.
    public var cookieName: String { isSecure ? "__Host-akto_session" : "akto_session" }
}
