/// Bounds applied while decoding untrusted protobuf bytes or JSON.
public struct CodecLimits: Sendable, Hashable {
    /// Bytes protobuf-c may allocate while unpacking one message (the per-request budget).
    public var unpackBudget: Int
    /// Deepest JSON nesting accepted (objects and arrays).
    public var maxJSONDepth: Int
    /// Most elements accepted in one repeated or map field.
    public var maxListLength: Int

    public init(unpackBudget: Int = 4 << 20, maxJSONDepth: Int = 32, maxListLength: Int = 10_000) {
        self.unpackBudget = unpackBudget
        self.maxJSONDepth = maxJSONDepth
        self.maxListLength = maxListLength
    }

    public static let `default` = CodecLimits()
}
