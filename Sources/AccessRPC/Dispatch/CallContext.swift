import AccessCore
import Logging

/// The transport a call arrived on.
public enum Transport: String, Sendable {
    case socket
    case http
}

/// Who is at the other end of the connection, as the transport knows it.
public enum Peer: Sendable, Hashable, CustomStringConvertible {
    /// A Unix-socket peer with its kernel credentials (nil when unavailable).
    case unix(PeerCredentials?)
    /// An HTTP client address.
    case address(String)
    /// An in-process caller (tests, tools).
    case local

    public var description: String {
        switch self {
        case .unix(let credentials?): "unix:\(credentials)"
        case .unix(nil): "unix:unknown"
        case .address(let address): address
        case .local: "local"
        }
    }

    /// Who the rate limits and sign-in counters count against: the uid on the socket (a process may reconnect
    /// at will, its uid stays), the client IP on the gateway (the transport passes the address alone, resolved
    /// through trusted proxies).
    public var throttleKey: String {
        switch self {
        case .unix(let credentials?): "uid:\(credentials.uid)"
        case .unix(nil): "uid:unknown"
        case .address(let address): "ip:\(address)"
        case .local: "local"
        }
    }
}

/// Everything a handler knows about the call besides its request message.
public struct CallContext: Sendable {
    public let method: MethodDescriptor
    public let metadata: [MetadataEntry]
    /// When the caller stops waiting; handlers pass it to anything slow (billing, storage).
    public let deadline: ContinuousClock.Instant
    public let peer: Peer
    public let transport: Transport
    /// The caller's `x-request-id`, or one generated for the call; echoed in the response metadata.
    public let requestID: String
    /// The dispatcher's logger; `logger` adds the call's fields when a handler asks for it.
    let baseLogger: Logger
    /// A logger carrying the method and request id. Built on use: most calls never log, and copying the
    /// metadata into a logger per call showed up in the profile (`BENCHMARKS.md`).
    public var logger: Logger {
        var logger = baseLogger
        logger[metadataKey: "method"] = "\(method.path)"
        logger[metadataKey: "request-id"] = "\(requestID)"
        return logger
    }
    /// Bounds for decoding the request payload.
    public let codecLimits: CodecLimits
    /// The admitted caller (set by the dispatcher from the method's `CallAuthorizer`); nil for anonymous methods.
    public internal(set) var caller: Caller?

    /// The first value of a metadata key (keys are lower-case).
    public func metadata(_ key: String) -> String? {
        metadata.first { $0.key == key }?.value
    }
}
