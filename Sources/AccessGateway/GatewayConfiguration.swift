import AccessCore
import Foundation

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
    /// `GET /metrics` on this (browser-facing) listener: only with `Authorization: Bearer <this>`; nil answers
    /// 404 there (the metrics have their own loopback listener, `--metrics-address`).
    public var metricsBearerToken: String?
    /// Proxies (`--trusted-proxies`, CIDRs) whose `X-Forwarded-For` names the client: behind nginx every request
    /// comes from 127.0.0.1, so the peer of the rate limits and sign-in counters is the address the proxy saw.
    /// Empty (the default): the header is ignored and the peer is the TCP client.
    public var trustedProxies: [IPNetwork]
    /// Connections the gateway holds at most (beyond it, new ones wait in the kernel's backlog), and per client IP
    /// (beyond it, closed at once).
    public var maxConnections: Int
    public var maxConnectionsPerPeer: Int
    /// A new connection's first request head must be complete within this; a request's body within
    /// `bodyTimeout` of its head; an idle keep-alive connection is closed after `idleTimeout`.
    public var headerTimeout: Duration
    public var bodyTimeout: Duration
    public var idleTimeout: Duration
    /// A built Akto dashboard (`--dashboard-dir`): its `index.html` is served, with the `window.*` values of the
    /// signed-in user, for `GET /login`, `/signup` and `/dashboard/*`, and its other files as static assets. Nil:
    /// those paths answer 404.
    public var dashboardDirectory: String?
    /// `--forward-auth-routes`: what `/auth/check` requires per method and path; nil: no `/auth/check`.
    public var forwardAuthRoutes: ForwardAuthRoutes?

    public init(
        host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = 1 << 20, maxHeaderBytes: Int = 16 * 1024,
        allowedOrigins: Set<String> = [], publicBaseURL: String = "http://localhost:8080",
        sessionCookieMaxAge: Int64 = 7 * 24 * 3600, metricsBearerToken: String? = nil,
        trustedProxies: [IPNetwork] = [], maxConnections: Int = 1024, maxConnectionsPerPeer: Int = 64,
        headerTimeout: Duration = .seconds(10), bodyTimeout: Duration = .seconds(30),
        idleTimeout: Duration = .seconds(60),
        dashboardDirectory: String? = nil, forwardAuthRoutes: ForwardAuthRoutes? = nil
    ) {
        self.dashboardDirectory = dashboardDirectory
        self.forwardAuthRoutes = forwardAuthRoutes
        self.maxConnections = maxConnections
        self.maxConnectionsPerPeer = maxConnectionsPerPeer
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.trustedProxies = trustedProxies
        self.metricsBearerToken = metricsBearerToken
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

    /// The origin (`scheme://host[:port]`) of the public URL, as a browser sends it in `Origin`.
    public var publicOrigin: String {
        guard let url = URL(string: publicBaseURL), let scheme = url.scheme?.lowercased(),
            let host = url.host?.lowercased()
        else { return publicBaseURL }
        return url.port.map { "\(scheme)://\(host):\($0)" } ?? "\(scheme)://\(host)"
    }

    /// The session cookie's name.
    public var cookieName: String { isSecure ? "__Host-akto_session" : "akto_session" }

    /// The dashboard's refresh cookie (Akto's name; `Path=/dashboard`, so it cannot take the `__Host-` prefix).
    public var refreshCookieName: String { isSecure ? "__Secure-refreshToken" : "refreshToken" }
}

// The metrics bearer token never appears in a description (the gateway is a ServiceGroup service, whose
// description is logged at debug level).
extension GatewayConfiguration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        "GatewayConfiguration(\(host):\(port), allowedOrigins: \(allowedOrigins.sorted()), publicBaseURL: \(publicBaseURL), "
            + "metricsBearerToken: \(metricsBearerToken == nil ? "none" : "<redacted>"))"
    }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "host": host, "port": port, "allowedOrigins": allowedOrigins.sorted(), "publicBaseURL": publicBaseURL,
                "metricsBearerToken": metricsBearerToken == nil ? "none" : "<redacted>",
            ], displayStyle: .struct)
    }
}
