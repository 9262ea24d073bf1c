import AccessCore
import AccessProtoC

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
    ///
    /// protobuf-c unpacks the envelope (through the budgeted allocator) and the fields are read straight from
    /// its C structs, with the descriptor walker's checks and field paths (every string NUL-free UTF-8, the
    /// metadata and violation lists within `CodecLimits.maxListLength`): the direct envelope reader, tested
    /// against `decodeThroughValueTree` on fixtures, random frames and their mutations.
    public static func decode(_ body: UnsafeRawBufferPointer, limits: CodecLimits = .default) throws -> Frame {
        let s = schemas
        return try CMessageCodec.unpack(body, descriptor: s.frame.descriptor, name: s.frame.fullName, limits: limits) {
            message in
            let frame = UnsafeRawPointer(message).assumingMemoryBound(to: Akto__Rpc__V1__Frame.self)
            do {
                return try read(frame, DirectReader(limits: limits))
            } catch let error as DirectFieldError {
                throw RPCError.invalidField(error.path, error.reason)
            }
        }
    }

    private static func read(_ frame: UnsafePointer<Akto__Rpc__V1__Frame>, _ r: DirectReader) throws -> Frame {
        switch frame.pointee.kind_case.rawValue {
        case 1:
            guard let m = frame.pointee.request else { return .request(RequestFrame(callID: 0, method: "")) }
            return .request(
                RequestFrame(
                    callID: m.pointee.call_id, method: try r.string(m.pointee.method, "request.method"),
                    timeoutMilliseconds: m.pointee.timeout_ms,
                    metadata: try metadata(m.pointee.metadata, m.pointee.n_metadata, "request.metadata", r),
                    payload: r.bytes(m.pointee.payload)))
        case 2:
            guard let m = frame.pointee.response else { return .response(ResponseFrame(callID: 0, status: .ok)) }
            return .response(
                ResponseFrame(
                    callID: m.pointee.call_id, status: try status(m.pointee.status, "response.status", r),
                    metadata: try metadata(m.pointee.metadata, m.pointee.n_metadata, "response.metadata", r),
                    payload: r.bytes(m.pointee.payload)))
        case 3: return .cancel(callID: frame.pointee.cancel?.pointee.call_id ?? 0)
        case 4: return .ping(nonce: frame.pointee.ping?.pointee.nonce ?? 0)
        case 5: return .pong(nonce: frame.pointee.pong?.pointee.nonce ?? 0)
        case 6:
            let m = frame.pointee.go_away
            return .goAway(
                status: try status(m?.pointee.status, "goAway.status", r), lastCallID: m?.pointee.last_call_id ?? 0)
        default:
            throw RPCError(.invalidArgument, "the frame carries no request, response, cancel, ping, pong or go_away")
        }
    }

    private static func metadata(
        _ entries: UnsafeMutablePointer<UnsafeMutablePointer<Akto__Rpc__V1__Metadata>?>?, _ count: Int,
        _ path: String, _ r: DirectReader
    ) throws -> [MetadataEntry] {
        guard count > 0, let entries else { return [] }
        var out: [MetadataEntry] = []
        out.reserveCapacity(try r.count(count, path))
        for i in 0..<count {
            guard let entry = entries[i] else {
                out.append(MetadataEntry("", ""))
                continue
            }
            out.append(
                MetadataEntry(
                    try r.string(entry.pointee.key, "\(path)[\(i)].key"),
                    try r.string(entry.pointee.value, "\(path)[\(i)].value")))
        }
        return out
    }

    private static func status(
        _ status: UnsafeMutablePointer<Akto__Rpc__V1__Status>?, _ path: String, _ r: DirectReader
    )
        throws -> Status
    {
        guard let status else { return Status(code: .ok) }
        let message = try r.string(status.pointee.message, "\(path).message")
        var violations: [FieldViolation] = []
        let count = status.pointee.n_violations
        if count > 0, let array = status.pointee.violations {
            violations.reserveCapacity(try r.count(count, "\(path).violations"))
            for i in 0..<count {
                guard let v = array[i] else {
                    violations.append(FieldViolation(field: "", description: ""))
                    continue
                }
                violations.append(
                    FieldViolation(
                        field: try r.string(v.pointee.field, "\(path).violations[\(i)].field"),
                        description: try r.string(v.pointee.description, "\(path).violations[\(i)].description")))
            }
        }
        return Status(code: StatusCode(wireValue: status.pointee.code), message: message, violations: violations)
    }

    /// Decodes one frame body through the descriptor walker and the value tree: the reference the direct
    /// envelope reader is tested against.
    public static func decodeThroughValueTree(_ body: UnsafeRawBufferPointer, limits: CodecLimits = .default) throws
        -> Frame
    {
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
