import AccessCore

/// Encodes and decodes `akto.rpc.v1.Frame` bodies (without the 4-byte length) through protobuf-c.
public enum FrameCodec {
    private struct Schemas: Sendable {
        let frame, request, response, cancel, ping, pong, goAway, status, violation, metadata: MessageSchema

        init() {
            func load(_ name: String) -> MessageSchema {
                guard let schema = SchemaRegistry.shared.message("akto.rpc.v1.\(name)") else {
                    preconditionFailure("the generated descriptor table lacks akto.rpc.v1.\(name)")
                }
                return schema
            }
            frame = load("Frame")
            request = load("Request")
            response = load("Response")
            cancel = load("Cancel")
            ping = load("Ping")
            pong = load("Pong")
            goAway = load("GoAway")
            status = load("Status")
            violation = load("FieldViolation")
            metadata = load("Metadata")
        }
    }

    private static let schemas = Schemas()

    /// Decodes one frame body. Throws INVALID_ARGUMENT (or RESOURCE_EXHAUSTED past the budget) with a
    /// message saying what was wrong.
    public static func decode(_ body: UnsafeRawBufferPointer, limits: CodecLimits = .default) throws -> Frame {
        let s = schemas
        let frame = try CMessageCodec.decode(body, schema: s.frame, limits: limits)
        guard let (number, value) = frame.fields.first, case .message(let inner) = value else {
            throw RPCError(.invalidArgument, "the frame carries no request, response, cancel, ping, pong or go_away")
        }
        switch number {
        case 1:
            return .request(
                RequestFrame(
                    callID: inner.uint32(1), method: inner.string(2), timeoutMilliseconds: inner.uint32(3),
                    metadata: inner.messages(4).map(metadataEntry), payload: inner.bytes(5)))
        case 2:
            return .response(
                ResponseFrame(
                    callID: inner.uint32(1), status: status(inner.message(2)),
                    metadata: inner.messages(3).map(metadataEntry), payload: inner.bytes(4)))
        case 3: return .cancel(callID: inner.uint32(1))
        case 4: return .ping(nonce: inner.uint64(1))
        case 5: return .pong(nonce: inner.uint64(1))
        default: return .goAway(status: status(inner.message(1)), lastCallID: inner.uint32(2))
        }
    }

    /// Decodes one frame body.
    public static func decode(_ body: [UInt8], limits: CodecLimits = .default) throws -> Frame {
        try body.withUnsafeBytes { try decode($0, limits: limits) }
    }

    /// Encodes one frame body (without the length prefix), directly in the wire format (`EnvelopeWriter`).
    public static func encode(_ frame: Frame) throws -> [UInt8] {
        try EnvelopeWriter.frame(frame)
    }

    /// Encodes one frame body through protobuf-c's packer: the reference `EnvelopeWriter` is tested against.
    static func encodeWithProtobufC(_ frame: Frame) throws -> [UInt8] {
        let s = schemas
        let number: UInt32
        let inner: MessageValue
        switch frame {
        case .request(let r):
            number = 1
            inner = MessageValue(
                schema: s.request,
                fields: [
                    1: .uint(UInt64(r.callID)), 2: .string(r.method), 3: .uint(UInt64(r.timeoutMilliseconds)),
                    4: .list(r.metadata.map(metadataValue)), 5: .bytes(r.payload),
                ])
        case .response(let r):
            number = 2
            inner = MessageValue(
                schema: s.response,
                fields: [
                    1: .uint(UInt64(r.callID)), 2: .message(statusValue(r.status)),
                    3: .list(r.metadata.map(metadataValue)), 4: .bytes(r.payload),
                ])
        case .cancel(let callID):
            number = 3
            inner = MessageValue(schema: s.cancel, fields: [1: .uint(UInt64(callID))])
        case .ping(let nonce):
            number = 4
            inner = MessageValue(schema: s.ping, fields: [1: .uint(nonce)])
        case .pong(let nonce):
            number = 5
            inner = MessageValue(schema: s.pong, fields: [1: .uint(nonce)])
        case .goAway(let status, let lastCallID):
            number = 6
            inner = MessageValue(
                schema: s.goAway, fields: [1: .message(statusValue(status)), 2: .uint(UInt64(lastCallID))])
        }
        return try CMessageCodec.encode(MessageValue(schema: s.frame, fields: [number: .message(inner)]))
    }

    private static func metadataEntry(_ value: MessageValue) -> MetadataEntry {
        MetadataEntry(value.string(1), value.string(2))
    }

    private static func metadataValue(_ entry: MetadataEntry) -> ProtoValue {
        .message(MessageValue(schema: schemas.metadata, fields: [1: .string(entry.key), 2: .string(entry.value)]))
    }

    private static func status(_ value: MessageValue?) -> Status {
        guard let value else { return Status(code: .ok) }
        return Status(
            code: StatusCode(wireValue: value.uint32(1)), message: value.string(2),
            violations: value.messages(3).map { FieldViolation(field: $0.string(1), description: $0.string(2)) })
    }

    private static func statusValue(_ status: Status) -> MessageValue {
        let violations = status.violations.map { v -> ProtoValue in
            .message(MessageValue(schema: schemas.violation, fields: [1: .string(v.field), 2: .string(v.description)]))
        }
        return MessageValue(
            schema: schemas.status,
            fields: [1: .uint(UInt64(status.code.rawValue)), 2: .string(status.message), 3: .list(violations)])
    }
}

extension MessageValue {
    fileprivate func uint32(_ number: UInt32) -> UInt32 {
        if case .uint(let v)? = fields[number] { return UInt32(truncatingIfNeeded: v) }
        return 0
    }

    fileprivate func uint64(_ number: UInt32) -> UInt64 {
        if case .uint(let v)? = fields[number] { return v }
        return 0
    }

    fileprivate func string(_ number: UInt32) -> String {
        if case .string(let v)? = fields[number] { return v }
        return ""
    }

    fileprivate func bytes(_ number: UInt32) -> [UInt8] {
        if case .bytes(let v)? = fields[number] { return v }
        return []
    }

    fileprivate func message(_ number: UInt32) -> MessageValue? {
        if case .message(let v)? = fields[number] { return v }
        return nil
    }

    fileprivate func messages(_ number: UInt32) -> [MessageValue] {
        guard case .list(let items)? = fields[number] else { return [] }
        return items.compactMap {
            if case .message(let v) = $0 { return v }
            return nil
        }
    }
}
