import AccessCore

/// Bounds the dispatcher applies to every call, whatever the transport.
public struct DispatchLimits: Sendable {
    /// Total bytes of metadata keys and values one request may carry.
    public var maxMetadataBytes: Int
    /// The deadline of a call whose caller gave none.
    public var defaultTimeout: Duration
    /// The longest deadline a caller may ask for; longer ones are shortened to this.
    public var maxTimeout: Duration
    /// Bounds for decoding request payloads.
    public var codec: CodecLimits

    public init(
        maxMetadataBytes: Int = 8 * 1024, defaultTimeout: Duration = .seconds(30), maxTimeout: Duration = .seconds(300),
        codec: CodecLimits = .default
    ) {
        self.maxMetadataBytes = maxMetadataBytes
        self.defaultTimeout = defaultTimeout
        self.maxTimeout = maxTimeout
        self.codec = codec
    }
}
