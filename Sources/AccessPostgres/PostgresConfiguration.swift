import AccessCore
import Foundation
import NIOSSL
import PostgresNIO

/// Settings of the PostgreSQL store, parsed from a `postgres://` URL plus the named limits.
public struct PostgresConfiguration: Sendable {
    public enum TLSMode: String, Sendable {
        /// Plain TCP (loopback, a Unix socket, or a network you trust).
        case disable
        /// TLS when the server offers it (libpq's default).
        case prefer
        /// TLS required, the certificate and host name verified (against `rootCertificatePath`, else the system's
        /// roots) — stricter than libpq's `require`, which does not verify.
        case require
    }

    /// TCP host, or nil when `unixSocketPath` is set.
    public var host: String?
    public var port: Int
    /// The server's Unix socket (`?host=/run/postgresql` in the URL), e.g. `/run/postgresql/.s.PGSQL.5432`.
    public var unixSocketPath: String?
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    /// PEM file of the CA(s) that sign the server's certificate (`?sslrootcert=/path`), for a private CA.
    public var rootCertificatePath: String?
    /// Pooled connections this process opens at most.
    public var maxConnections: Int
    /// Tries of a transaction that hit a serialization failure, a deadlock or a concurrent unique insert before
    /// the call fails with ABORTED.
    public var maxTransactionAttempts: Int
    /// Seconds to wait for a connection: the TCP connect, and a call's wait for a pooled connection before
    /// UNAVAILABLE (`?connect_timeout=` in the URL; default 10).
    public var connectTimeout: Double
    /// Longest wait for a row lock held by another transaction before ABORTED ("try again"), within the call's
    /// deadline (`--database-lock-timeout`).
    public var lockTimeout: Duration = .seconds(5)

    public static let defaultMaxConnections = 10
    public static let defaultMaxTransactionAttempts = 10

    /// Parses `postgres://user:password@host:port/database?sslmode=disable|prefer|require` (also `postgresql://`;
    /// `?host=/path/to/socket/dir` for a Unix socket, `?connect_timeout=SECONDS`). Errors name what is wrong and never echo the password.
    public init(
        url text: String, maxConnections: Int = PostgresConfiguration.defaultMaxConnections,
        maxTransactionAttempts: Int = PostgresConfiguration.defaultMaxTransactionAttempts, connectTimeout: Double = 10,
        password separatePassword: String? = nil
    ) throws {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "postgres" || scheme == "postgresql"
        else {
            throw RPCError(
                .invalidArgument, "the database URL must look like postgres://user:password@host:5432/database")
        }
        // Decoded once, as libpq does (URLComponents' `user`/`password`/`path` are decoded already; decoding
        // those again turned `pct%2541x` into `pctAx`). A malformed escape is an error, as in libpq.
        // URLComponents mends malformed escapes, so the user and password are read from the URL's own text.
        func decoded(_ text: String?, _ part: String) throws -> String? {
            guard let text else { return nil }
            guard let value = Self.percentDecoded(text) else {
                throw RPCError(.invalidArgument, "the database URL's \(part) has an invalid percent-encoding (use %XX)")
            }
            return value
        }
        let userInfo = Self.rawUserInfo(text)
        guard let user = try decoded(userInfo.user, "user"), !user.isEmpty else {
            throw RPCError(.invalidArgument, "the database URL names no user (postgres://USER@host/database)")
        }
        var password = try decoded(userInfo.password, "password")
        if let separatePassword {
            guard password == nil else {
                throw RPCError(.invalidArgument, "the password is given twice: in the database URL and separately")
            }
            password = separatePassword
        }
        let name = try decoded(String(components.percentEncodedPath.drop(while: { $0 == "/" })), "database name") ?? ""
        guard !name.isEmpty, !name.contains("/") else {
            throw RPCError(.invalidArgument, "the database URL names no database (postgres://user@host/DATABASE)")
        }
        var tls: TLSMode?
        var socketDirectory: String?
        var timeout = connectTimeout
        var rootCertificate: String?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                switch item.value ?? "" {
                case "disable": tls = .disable
                case "allow", "prefer": tls = .prefer
                case "require", "verify-ca", "verify-full": tls = .require
                default:
                    throw RPCError(
                        .invalidArgument, "sslmode must be disable, prefer or require, got \(item.value ?? "")")
                }
            case "sslrootcert":
                guard let path = item.value, path.hasPrefix("/"), FileManager.default.isReadableFile(atPath: path)
                else {
                    throw RPCError(.invalidArgument, "sslrootcert must be the absolute path of a readable PEM file")
                }
                rootCertificate = path
            case "connect_timeout":
                guard let value = item.value.flatMap(Double.init), value >= 1, value <= 300 else {
                    throw RPCError(.invalidArgument, "connect_timeout must be 1-300 seconds")
                }
                timeout = value
            case "host":
                guard let value = item.value, value.hasPrefix("/") else {
                    throw RPCError(
                        .invalidArgument, "the host parameter must be a socket directory such as /run/postgresql")
                }
                socketDirectory = value
            default:
                throw RPCError(
                    .invalidArgument,
                    "unknown database URL parameter \(item.name) (known: sslmode, sslrootcert, host, connect_timeout)")
            }
        }
        guard (1...1000).contains(maxConnections) else {
            throw RPCError(.invalidArgument, "the database pool size must be 1-1000, got \(maxConnections)")
        }
        guard (1...100).contains(maxTransactionAttempts) else {
            throw RPCError(.invalidArgument, "transaction attempts must be 1-100, got \(maxTransactionAttempts)")
        }
        self.port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw RPCError(.invalidArgument, "the database port must be 1-65535") }
        if let socketDirectory {
            host = nil
            unixSocketPath = socketDirectory + "/.s.PGSQL.\(port)"
            self.tls = .disable
        } else {
            guard let host = components.host, !host.isEmpty else {
                throw RPCError(.invalidArgument, "the database URL names no host (postgres://user@HOST/database)")
            }
            self.host = host
            unixSocketPath = nil
            // libpq defaults to `prefer`, which sends the password to a server that declines TLS: only a local
            // host keeps that default; any other host requires (and verifies) TLS unless the URL says otherwise.
            let local = Self.isLocal(host)
            self.tls = tls ?? (local ? .prefer : .require)
            if password != nil, self.tls != .require, !local {
                throw RPCError(
                    .invalidArgument,
                    "sslmode=\(self.tls.rawValue) would let the password cross the network in clear (a server that declines TLS can ask for it): use sslmode=require for \(host)"
                )
            }
        }
        username = user
        self.password = password
        database = name
        self.maxConnections = maxConnections
        self.maxTransactionAttempts = maxTransactionAttempts
        self.connectTimeout = timeout
        self.rootCertificatePath = rootCertificate
        if rootCertificate != nil && self.tls == .disable {
            throw RPCError(.invalidArgument, "sslrootcert needs sslmode=require (TLS is off)")
        }
    }

    /// The connection pool's settings: this database, TLS as configured, at most `maxConnections`.
    func clientConfiguration() -> PostgresClient.Configuration {
        var client: PostgresClient.Configuration
        if let unixSocketPath {
            client = .init(unixSocketPath: unixSocketPath, username: username, password: password, database: database)
        } else {
            let mode: PostgresClient.Configuration.TLS =
                switch tls {
                case .disable: .disable
                case .prefer: .prefer(clientTLS())
                case .require: .require(clientTLS())
                }
            client = .init(
                host: host ?? "localhost", port: port, username: username, password: password, database: database,
                tls: mode)
        }
        client.options.maximumConnections = maxConnections
        client.options.minimumConnections = 0
        client.options.connectTimeout = connectTimeoutDuration
        return client
    }

    var connectTimeoutDuration: Duration { .milliseconds(Int64(connectTimeout * 1000)) }

    /// The TLS settings of a client connection: full verification, against `rootCertificatePath` when given.
    func clientTLS() -> NIOSSL.TLSConfiguration {
        var configuration = NIOSSL.TLSConfiguration.makeClientConfiguration()
        if let rootCertificatePath { configuration.trustRoots = .file(rootCertificatePath) }
        return configuration
    }

    /// The URL without its password, for logs.
    /// The user and password of `scheme://user:password@host/…` as written (still percent-encoded).
    public static func rawUserInfo(_ text: String) -> (user: String?, password: String?) {
        guard let start = text.range(of: "://")?.upperBound else { return (nil, nil) }
        let rest = text[start...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard let at = authority.lastIndex(of: "@") else { return (nil, nil) }
        let info = authority[..<at]
        guard let colon = info.firstIndex(of: ":") else { return (String(info), nil) }
        return (String(info[..<colon]), String(info[info.index(after: colon)...]))
    }

    /// Percent-decoding done once and strictly, as libpq does: every `%` starts two hex digits; nil otherwise (or
    /// when the bytes are not UTF-8).
    static func percentDecoded(_ text: String) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        func hex(_ byte: UInt8?) -> UInt8? {
            switch byte {
            case let b? where b >= 48 && b <= 57: b - 48
            case let b? where b >= 65 && b <= 70: b - 55
            case let b? where b >= 97 && b <= 102: b - 87
            default: nil
            }
        }
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = hex(iterator.next()), let low = hex(iterator.next()) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// A loopback host: the password never leaves the machine.
    static func isLocal(_ host: String) -> Bool {
        let name = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return name == "localhost" || name == "::1" || name.hasPrefix("127.")
    }

    public var redacted: String {
        let place = unixSocketPath.map { "[\($0)]" } ?? "\(host ?? ""):\(port)"
        return "postgres://\(username)@\(place)/\(database)"
    }
}

// Descriptions never carry the password (a ServiceGroup logs what its services hold at debug level).
extension PostgresConfiguration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        let target = unixSocketPath ?? "\(host ?? "localhost"):\(port)"
        return
            "PostgresConfiguration(\(username)@\(target)/\(database), password: \(password == nil ? "none" : "<redacted>"), "
            + "tls: \(tls.rawValue), maxConnections: \(maxConnections))"
    }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "host": host as Any, "port": port, "unixSocketPath": unixSocketPath as Any, "username": username,
                "password": password == nil ? "none" : "<redacted>", "database": database, "tls": tls.rawValue,
            ], displayStyle: .struct)
    }
}
