/// Turns a method's messages into payload bytes and back: what a transport's bytes mean.
///
/// The RPC core (`MethodRegistry` in AccessRPC) takes one as a parameter, as grpc-swift's router takes a
/// serializer and deserializer per method, so it never names a wire format; AccessWire's `ProtobufCodec`
/// (protobuf-c) is the socket transport's. A transport that already holds typed messages (the HTTP gateway
/// decodes JSON straight into the request type) hands them to the dispatcher and no codec runs.
public protocol PayloadCodec: Sendable {
    /// Decodes untrusted bytes within `limits`; INVALID_ARGUMENT (or RESOURCE_EXHAUSTED) when they are not a
    /// valid `Message`.
    func decode<Message: ProtoMessage>(_ type: Message.Type, from bytes: [UInt8], limits: CodecLimits) throws
        -> Message
    /// Encodes a message the service produced.
    func encode<Message: ProtoMessage>(_ message: Message) throws -> [UInt8]

    /// `decode` for one message type, resolved once: the registry asks at registration, so a codec can look up
    /// what it needs for the type (its generated code) then instead of on every call.
    func decoder<Message: ProtoMessage>(for type: Message.Type) -> @Sendable ([UInt8], CodecLimits) throws -> Message
    /// `encode` for one message type, resolved once (as `decoder(for:)`).
    func encoder<Message: ProtoMessage>(for type: Message.Type) -> @Sendable (Message) throws -> [UInt8]
}

extension PayloadCodec {
    public func decoder<Message: ProtoMessage>(for type: Message.Type)
        -> @Sendable ([UInt8], CodecLimits) throws -> Message
    {
        { bytes, limits in try self.decode(Message.self, from: bytes, limits: limits) }
    }

    public func encoder<Message: ProtoMessage>(for type: Message.Type) -> @Sendable (Message) throws -> [UInt8] {
        { message in try self.encode(message) }
    }
}
