import AccessCore

/// The codec every transport uses: protobuf bytes, JSON and generated Swift types. Typed protobuf calls go
/// through each message's generated direct code (`DirectCodec`); JSON and schema-driven conversions through the
/// message descriptors (the value tree).
public enum MessageCodec {
    /// The schema of a generated Swift type; an INTERNAL error when the descriptor table lacks it.
    public static func schema<T: ProtoMessage>(for type: T.Type) throws -> MessageSchema {
        guard let schema = SchemaRegistry.shared.message(T.protoName) else {
            throw RPCError(.internal, "no descriptor for \(T.protoName)")
        }
        return schema
    }

    /// Decodes protobuf bytes into a generated Swift type: through its generated direct code (`DirectMessage`,
    /// every contract type), else through the value tree.
    public static func decode<T: ProtoMessage>(
        _ type: T.Type, from bytes: UnsafeRawBufferPointer, limits: CodecLimits = .default
    ) throws -> T {
        if let direct = T.self as? any DirectMessage.Type {
            return try decodeDirect(direct, as: T.self, from: bytes, limits: limits)
        }
        return try decodeThroughValueTree(type, from: bytes, limits: limits)
    }

    private static func decodeDirect<D: DirectMessage, T>(
        _ direct: D.Type, as type: T.Type, from bytes: UnsafeRawBufferPointer, limits: CodecLimits
    ) throws -> T {
        try DirectCodec.decode(D.self, from: bytes, limits: limits) as! T
    }

    /// Decodes protobuf bytes into a generated Swift type through the schema-driven value tree (the descriptor
    /// walker and `Codable`): the reference the direct code is tested against.
    public static func decodeThroughValueTree<T: ProtoMessage>(
        _ type: T.Type, from bytes: UnsafeRawBufferPointer, limits: CodecLimits = .default
    ) throws -> T {
        let value = try CMessageCodec.decode(bytes, schema: try schema(for: type), limits: limits)
        return try ProtoValueDecoding.decode(type, from: value)
    }

    /// Decodes protobuf bytes into a generated Swift type.
    public static func decode<T: ProtoMessage>(_ type: T.Type, from bytes: [UInt8], limits: CodecLimits = .default)
        throws -> T
    {
        try bytes.withUnsafeBytes { try decode(type, from: $0, limits: limits) }
    }

    /// Encodes a generated Swift value as protobuf bytes: through its generated direct code (`DirectMessage`,
    /// every contract type), else through the value tree.
    public static func encode<T: ProtoMessage>(_ value: T) throws -> [UInt8] {
        if let direct = T.self as? any DirectMessage.Type {
            return try encodeDirect(value, as: direct)
        }
        return try encodeThroughValueTree(value)
    }

    private static func encodeDirect<T, D: DirectMessage>(_ value: T, as direct: D.Type) throws -> [UInt8] {
        try DirectCodec.encode(value as! D)
    }

    /// Encodes a generated Swift value through the schema-driven value tree (`Codable` and the descriptor
    /// walker): the reference the direct code is tested against.
    public static func encodeThroughValueTree<T: ProtoMessage>(_ value: T) throws -> [UInt8] {
        try CMessageCodec.encode(try messageValue(value))
    }

    /// Decodes protobuf bytes into a schema-driven value tree.
    public static func decodeValue(
        _ bytes: UnsafeRawBufferPointer, schema: MessageSchema, limits: CodecLimits = .default
    )
        throws -> MessageValue
    {
        try CMessageCodec.decode(bytes, schema: schema, limits: limits)
    }

    /// Decodes protobuf bytes into a schema-driven value tree.
    public static func decodeValue(_ bytes: [UInt8], schema: MessageSchema, limits: CodecLimits = .default) throws
        -> MessageValue
    {
        try bytes.withUnsafeBytes { try CMessageCodec.decode($0, schema: schema, limits: limits) }
    }

    /// Encodes a value tree as protobuf bytes.
    public static func encodeValue(_ value: MessageValue) throws -> [UInt8] {
        try CMessageCodec.encode(value)
    }

    /// The value tree of a generated Swift value.
    public static func messageValue<T: ProtoMessage>(_ value: T) throws -> MessageValue {
        try ProtoValueEncoding.encode(value, schema: try schema(for: T.self))
    }

    /// The generated Swift value of a value tree.
    public static func typed<T: ProtoMessage>(_ type: T.Type, from value: MessageValue) throws -> T {
        try ProtoValueDecoding.decode(type, from: value)
    }

    /// A JSON document -> a generated Swift value, by proto3's JSON rules checked against the message's
    /// descriptor (names, kinds, ranges, `CodecLimits`); pure Swift, no protobuf-c. The gateway's request path.
    public static func decodeJSON<T: ProtoMessage>(_ type: T.Type, from document: JSONValue, limits: CodecLimits)
        throws -> T
    {
        try ProtoValueDecoding.decode(
            type, from: try ProtoJSON.decode(document, schema: try schema(for: type), limits: limits))
    }

    /// A generated Swift value -> its proto3 JSON; pure Swift, no protobuf-c. The gateway's response path.
    public static func encodeJSON<T: ProtoMessage>(_ value: T) throws -> JSONValue {
        ProtoJSON.encode(try messageValue(value))
    }

    /// JSON text -> protobuf bytes of `schema` (what the gateway and `akto-access call` send).
    public static func jsonToWire(_ json: some Collection<UInt8>, schema: MessageSchema, limits: CodecLimits = .default)
        throws -> [UInt8]
    {
        let document = try JSONValue.parse(json, maxDepth: limits.maxJSONDepth)
        return try CMessageCodec.encode(try ProtoJSON.decode(document, schema: schema, limits: limits))
    }

    /// Protobuf bytes of `schema` -> JSON.
    public static func wireToJSON(_ bytes: [UInt8], schema: MessageSchema, limits: CodecLimits = .default) throws
        -> JSONValue
    {
        ProtoJSON.encode(try decodeValue(bytes, schema: schema, limits: limits))
    }
}

/// The protobuf-c codec as the RPC core's `PayloadCodec`: what the socket transport's payload bytes mean.
public struct ProtobufCodec: PayloadCodec {
    public init() {}

    public func decode<Message: ProtoMessage>(_ type: Message.Type, from bytes: [UInt8], limits: CodecLimits) throws
        -> Message
    {
        try MessageCodec.decode(type, from: bytes, limits: limits)
    }

    public func encode<Message: ProtoMessage>(_ message: Message) throws -> [UInt8] {
        try MessageCodec.encode(message)
    }

    /// The generated direct code of `Message`, looked up once; the value tree for a type without it.
    public func decoder<Message: ProtoMessage>(for type: Message.Type)
        -> @Sendable ([UInt8], CodecLimits) throws -> Message
    {
        if let direct = Message.self as? any DirectMessage.Type { return Self.directDecoder(direct, Message.self) }
        return { bytes, limits in try MessageCodec.decode(Message.self, from: bytes, limits: limits) }
    }

    /// The generated direct code of `Message`, looked up once; the value tree for a type without it.
    public func encoder<Message: ProtoMessage>(for type: Message.Type) -> @Sendable (Message) throws -> [UInt8] {
        if let direct = Message.self as? any DirectMessage.Type { return Self.directEncoder(direct, Message.self) }
        return { message in try MessageCodec.encode(message) }
    }

    // `Direct` is `Message` itself (opened from `Message.self`), so the bit casts below change no type.
    private static func directDecoder<Direct: DirectMessage, Message>(_: Direct.Type, _: Message.Type)
        -> @Sendable ([UInt8], CodecLimits) throws -> Message
    {
        precondition(Direct.self == Message.self)
        return { bytes, limits in
            unsafeBitCast(
                try bytes.withUnsafeBytes { try DirectCodec.decode(Direct.self, from: $0, limits: limits) },
                to: Message.self)
        }
    }

    private static func directEncoder<Direct: DirectMessage, Message>(_: Direct.Type, _: Message.Type)
        -> @Sendable (Message) throws -> [UInt8]
    {
        precondition(Direct.self == Message.self)
        return { message in try DirectCodec.encode(unsafeBitCast(message, to: Direct.self)) }
    }
}
