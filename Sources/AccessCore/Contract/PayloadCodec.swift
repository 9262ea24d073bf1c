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
}
