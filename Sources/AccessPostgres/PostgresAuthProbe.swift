import AccessCore
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// <doc:Hardening>: before a password is handed to the driver for a TCP connection that may run without TLS
/// (`sslmode=disable`, or `prefer` against a server that declines TLS), ask the server how it wants to
/// authenticate, and refuse to start when it asks for a cleartext or MD5 password there — only SCRAM (which
/// never reveals the password) may run without TLS. The probe sends no password.
///
/// It is a start-up check: a server that answers the probe with SCRAM and a later pooled connection with a
/// cleartext request is not caught; `sslmode=require` (the default for every non-local host) is the protection
/// against that.
public enum PostgresAuthProbe {
    public enum Finding: Equatable, Sendable {
        /// TLS was accepted, SCRAM was asked for, no password was asked for, or the server answered an error.
        case safe
        case cleartextWithoutTLS
        case md5WithoutTLS
    }

    /// Probes `configuration`'s server when the password could travel without TLS; `.safe` otherwise.
    public static func check(_ configuration: PostgresConfiguration) throws -> Finding {
        guard configuration.password != nil, configuration.unixSocketPath == nil, configuration.tls != .require,
            let host = configuration.host
        else { return .safe }
        return try probe(
            host: host, port: configuration.port, user: configuration.username, database: configuration.database,
            offerTLS: configuration.tls == .prefer, timeout: configuration.connectTimeout)
    }

    static func probe(host: String, port: Int, user: String, database: String, offerTLS: Bool, timeout: Double) throws
        -> Finding
    {
        let descriptor = try connect(host: host, port: port, timeout: timeout)
        defer { close(descriptor) }
        if offerTLS {
            try send(descriptor, int32(8) + int32(80_877_103))
            let answer = try receive(descriptor, count: 1)
            if answer == [UInt8(ascii: "S")] { return .safe }  // TLS accepted: the driver will use it
            guard answer == [UInt8(ascii: "N")] else { return .safe }
        }
        var body = int32(196_608)
        for (key, value) in [("user", user), ("database", database)] {
            body += Array(key.utf8) + [0] + Array(value.utf8) + [0]
        }
        body += [0]
        try send(descriptor, int32(Int32(body.count + 4)) + body)
        let header = try receive(descriptor, count: 5)
        guard header[0] == UInt8(ascii: "R") else { return .safe }  // an error or anything else: the driver reports it
        let length = Int(UInt32(header[1]) << 24 | UInt32(header[2]) << 16 | UInt32(header[3]) << 8 | UInt32(header[4]))
        guard length >= 8, length < 1 << 16 else { return .safe }
        let rest = try receive(descriptor, count: length - 4)
        let code = Int32(
            bitPattern: UInt32(rest[0]) << 24 | UInt32(rest[1]) << 16 | UInt32(rest[2]) << 8 | UInt32(rest[3]))
        switch code {
        case 3: return .cleartextWithoutTLS
        case 5: return .md5WithoutTLS
        default: return .safe
        }
    }

    private static func int32(_ value: Int32) -> [UInt8] {
        let bits = UInt32(bitPattern: value)
        return [UInt8(bits >> 24), UInt8(bits >> 16 & 0xFF), UInt8(bits >> 8 & 0xFF), UInt8(bits & 0xFF)]
    }

    private static func connect(host: String, port: Int, timeout: Double) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
            hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        guard
            getaddrinfo(host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")), String(port), &hints, &list)
                == 0,
            let first = list
        else { throw RPCError(.unavailable, "cannot resolve the database host \(host)") }
        defer { freeaddrinfo(list) }
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            let descriptor = socket(current.pointee.ai_family, current.pointee.ai_socktype, current.pointee.ai_protocol)
            if descriptor >= 0 {
                var limit = timeval(tv_sec: Int(timeout), tv_usec: 0)
                setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
                if Glibc.connect(descriptor, current.pointee.ai_addr, current.pointee.ai_addrlen) == 0 {
                    return descriptor
                }
                close(descriptor)
            }
            entry = current.pointee.ai_next
        }
        throw RPCError(.unavailable, "cannot connect to the database at \(host):\(port)")
    }

    private static func send(_ descriptor: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard sent > 0 else { throw RPCError(.unavailable, "the database closed the connection during the probe") }
            offset += sent
        }
    }

    private static func receive(_ descriptor: Int32, count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let received = bytes[offset...].withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard received > 0 else {
                throw RPCError(.unavailable, "the database closed the connection during the probe")
            }
            offset += received
        }
        return bytes
    }
}
