import AccessCore
import AccessProtoC

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Converts between protobuf bytes and `MessageValue` through protobuf-c and the message descriptors.
///
/// Decoding unpacks with a per-call budgeted allocator (bounded memory whatever the input), validates every
/// string as UTF-8 without NUL, copies the values out and frees the C message before returning. Encoding
/// builds a C message with `malloc`/`strdup`, packs it and frees it with `free_unpacked`.
enum CMessageCodec {
    /// Decodes `bytes` as a message of `schema`.
    static func decode(_ bytes: UnsafeRawBufferPointer, schema: MessageSchema, limits: CodecLimits) throws
        -> MessageValue
    {
        try unpack(bytes, descriptor: schema.descriptor, name: schema.fullName, limits: limits) { message in
            try Reader(limits: limits).message(UnsafeRawPointer(message), schema: schema, path: "")
        }
    }

    /// Unpacks `bytes` with protobuf-c into a message of `descriptor` held by a per-call budgeted allocator,
    /// hands it to `body` and frees it when `body` returns.
    static func unpack<T>(
        _ bytes: UnsafeRawBufferPointer, descriptor: UnsafePointer<ProtobufCMessageDescriptor>, name: String,
        limits: CodecLimits, _ body: (UnsafeMutablePointer<ProtobufCMessage>) throws -> T
    ) throws -> T {
        var budget = akto_budget()
        return try withUnsafeMutablePointer(to: &budget) { budget in
            akto_budget_init(budget, limits.unpackBudget)
            let data = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
            var empty: UInt8 = 0
            guard
                let message = withUnsafePointer(
                    to: &empty,
                    { emptyPointer in
                        protobuf_c_message_unpack(
                            descriptor, &budget.pointee.allocator, bytes.count, data ?? emptyPointer)
                    })
            else {
                if budget.pointee.exhausted != 0 {
                    throw RPCError(
                        .resourceExhausted, "\(name) needs more than the \(limits.unpackBudget)-byte decoding budget")
                }
                throw RPCError(.invalidArgument, "payload is not a valid \(name)")
            }
            defer { protobuf_c_message_free_unpacked(message, &budget.pointee.allocator) }
            return try body(message)
        }
    }

    /// Encodes `value` to protobuf bytes.
    static func encode(_ value: MessageValue) throws -> [UInt8] {
        let message = try Writer().build(value, path: "")
        defer { protobuf_c_message_free_unpacked(message, nil) }
        let size = protobuf_c_message_get_packed_size(message)
        return [UInt8](unsafeUninitializedCapacity: max(size, 1)) { buffer, count in
            count = size == 0 ? 0 : protobuf_c_message_pack(message, buffer.baseAddress)
        }
    }
}

private func join(_ path: String, _ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

/// Reads an unpacked C message into Swift values.
private struct Reader {
    let limits: CodecLimits

    func message(_ base: UnsafeRawPointer, schema: MessageSchema, path: String) throws -> MessageValue {
        var out = MessageValue(schema: schema)
        for field in schema.fields {
            let fieldPath = join(path, field.jsonName)
            if field.isRepeated {
                let count = base.load(fromByteOffset: field.quantifierOffset, as: Int.self)
                guard count > 0, let array = base.load(fromByteOffset: field.offset, as: UnsafeRawPointer?.self)
                else { continue }
                guard count <= limits.maxListLength else {
                    throw RPCError.invalidField(fieldPath, "has \(count) elements; at most \(limits.maxListLength)")
                }
                if let mapValue = field.mapValue {
                    var map: [String: ProtoValue] = [:]
                    for i in 0..<count {
                        let entryPointer = array.load(fromByteOffset: i * 8, as: UnsafeRawPointer.self)
                        let entry = try message(entryPointer, schema: mapValue.entry, path: fieldPath)
                        guard case .string(let key) = entry.fields[1] ?? .string("") else { continue }
                        map[key] = entry.fields[2] ?? ProtoValue.defaultValue(of: mapValue.kind)
                    }
                    out.fields[field.number] = .map(map)
                } else {
                    var list: [ProtoValue] = []
                    list.reserveCapacity(count)
                    let stride = Self.elementSize(field.kind)
                    for i in 0..<count {
                        list.append(try scalar(array + i * stride, kind: field.kind, path: "\(fieldPath)[\(i)]"))
                    }
                    out.fields[field.number] = .list(list)
                }
                continue
            }
            if field.isOneofMember {
                let selected = base.load(fromByteOffset: field.quantifierOffset, as: UInt32.self)
                guard selected == field.number else { continue }
                out.fields[field.number] = try scalar(base + field.offset, kind: field.kind, path: fieldPath)
                continue
            }
            let value = try scalar(base + field.offset, kind: field.kind, path: fieldPath)
            if case .message = field.kind {
                if base.load(fromByteOffset: field.offset, as: UnsafeRawPointer?.self) != nil {
                    out.fields[field.number] = value
                }
            } else if !value.isDefault {
                out.fields[field.number] = value
            }
        }
        return out
    }

    /// Reads one value of `kind` stored at `slot`.
    func scalar(_ slot: UnsafeRawPointer, kind: FieldKind, path: String) throws -> ProtoValue {
        switch kind {
        case .int32, .sint32, .sfixed32: return .int(Int64(slot.load(as: Int32.self)))
        case .int64, .sint64, .sfixed64: return .int(slot.load(as: Int64.self))
        case .uint32, .fixed32: return .uint(UInt64(slot.load(as: UInt32.self)))
        case .uint64, .fixed64: return .uint(slot.load(as: UInt64.self))
        case .float: return .double(Double(slot.load(as: Float.self)))
        case .double: return .double(slot.load(as: Double.self))
        case .bool: return .bool(slot.load(as: Int32.self) != 0)
        case .enumeration: return .enumeration(slot.load(as: Int32.self))
        case .string:
            guard let pointer = slot.load(as: UnsafePointer<CChar>?.self) else { return .string("") }
            return .string(try Self.validatedString(pointer, path: path))
        case .bytes:
            let data = slot.load(as: ProtobufCBinaryData.self)
            guard data.len > 0, let bytes = data.data else { return .bytes([]) }
            return .bytes(Array(UnsafeBufferPointer(start: bytes, count: data.len)))
        case .message(let schema):
            guard let pointer = slot.load(as: UnsafeRawPointer?.self) else {
                return .message(MessageValue(schema: schema))
            }
            return .message(try message(pointer, schema: schema, path: path))
        }
    }

    /// A string protobuf-c unpacked, checked to be the whole wire value (no NUL) and valid UTF-8.
    static func validatedString(_ pointer: UnsafePointer<CChar>, path: String) throws -> String {
        guard akto_string_is_exact(pointer) != 0 else {
            throw RPCError.invalidField(path, "contains a NUL character")
        }
        let length = strlen(pointer)
        let bytes = UnsafeBufferPointer(
            start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: length)
        guard let string = String(validating: bytes, as: UTF8.self) else {
            throw RPCError.invalidField(path, "is not valid UTF-8")
        }
        return string
    }

    /// Bytes one element of a repeated field takes in protobuf-c's array.
    static func elementSize(_ kind: FieldKind) -> Int {
        switch kind {
        case .int32, .sint32, .sfixed32, .uint32, .fixed32, .float, .bool, .enumeration: 4
        case .int64, .sint64, .sfixed64, .uint64, .fixed64, .double: 8
        case .string, .message: MemoryLayout<UnsafeRawPointer>.size
        case .bytes: MemoryLayout<ProtobufCBinaryData>.size
        }
    }
}

/// Builds a C message from Swift values. Every block comes from `malloc`, so `free_unpacked(msg, NULL)`
/// releases a whole tree, also a partly built one: arrays are zeroed and counted before they are filled.
private struct Writer {
    func build(_ value: MessageValue, path: String) throws -> UnsafeMutablePointer<ProtobufCMessage> {
        let schema = value.schema
        let descriptor = schema.descriptor
        guard let raw = calloc(1, descriptor.pointee.sizeof_message) else {
            throw RPCError(.resourceExhausted, "out of memory while encoding \(schema.fullName)")
        }
        let message = raw.assumingMemoryBound(to: ProtobufCMessage.self)
        descriptor.pointee.message_init?(message)
        do {
            try fill(message, value: value, path: path)
        } catch {
            protobuf_c_message_free_unpacked(message, nil)
            throw error
        }
        return message
    }

    private func fill(_ message: UnsafeMutablePointer<ProtobufCMessage>, value: MessageValue, path: String) throws {
        let base = UnsafeMutableRawPointer(message)
        var oneofCases: Set<Int> = []
        for field in value.schema.fields {
            guard let fieldValue = value.fields[field.number] else { continue }
            let fieldPath = join(path, field.jsonName)
            if field.isRepeated {
                let elements: [ProtoValue]
                if let mapValue = field.mapValue {
                    guard case .map(let map) = fieldValue else { throw mismatch(fieldPath, "a map") }
                    elements = map.keys.sorted().map { key in
                        .message(MessageValue(schema: mapValue.entry, fields: [1: .string(key), 2: map[key]!]))
                    }
                } else {
                    guard case .list(let list) = fieldValue else { throw mismatch(fieldPath, "a list") }
                    elements = list
                }
                if elements.isEmpty { continue }
                let stride = Reader.elementSize(field.mapValue == nil ? field.kind : .message(field.mapValue!.entry))
                guard let array = calloc(elements.count, stride) else {
                    throw RPCError(.resourceExhausted, "out of memory while encoding \(fieldPath)")
                }
                base.storeBytes(of: array, toByteOffset: field.offset, as: UnsafeMutableRawPointer.self)
                base.storeBytes(of: elements.count, toByteOffset: field.quantifierOffset, as: Int.self)
                let kind = field.mapValue == nil ? field.kind : .message(field.mapValue!.entry)
                for (i, element) in elements.enumerated() {
                    try store(element, kind: kind, at: array + i * stride, path: "\(fieldPath)[\(i)]")
                }
                continue
            }
            if field.isOneofMember {
                guard oneofCases.insert(field.quantifierOffset).inserted else {
                    throw RPCError.invalidField(fieldPath, "is set together with another member of its oneof")
                }
                base.storeBytes(of: field.number, toByteOffset: field.quantifierOffset, as: UInt32.self)
            } else if case .message = field.kind {
                // Present: written below.
            } else if fieldValue.isDefault {
                continue
            }
            try store(fieldValue, kind: field.kind, at: base + field.offset, path: fieldPath)
        }
    }

    private func store(_ value: ProtoValue, kind: FieldKind, at slot: UnsafeMutableRawPointer, path: String) throws {
        switch (kind, value) {
        case (.int32, .int(let v)), (.sint32, .int(let v)), (.sfixed32, .int(let v)):
            guard let narrow = Int32(exactly: v) else { throw outOfRange(path, "a 32-bit integer") }
            slot.storeBytes(of: narrow, as: Int32.self)
        case (.int64, .int(let v)), (.sint64, .int(let v)), (.sfixed64, .int(let v)):
            slot.storeBytes(of: v, as: Int64.self)
        case (.uint32, .uint(let v)), (.fixed32, .uint(let v)):
            guard let narrow = UInt32(exactly: v) else { throw outOfRange(path, "an unsigned 32-bit integer") }
            slot.storeBytes(of: narrow, as: UInt32.self)
        case (.uint64, .uint(let v)), (.fixed64, .uint(let v)):
            slot.storeBytes(of: v, as: UInt64.self)
        case (.float, .double(let v)):
            slot.storeBytes(of: Float(v), as: Float.self)
        case (.double, .double(let v)):
            slot.storeBytes(of: v, as: Double.self)
        case (.bool, .bool(let v)):
            slot.storeBytes(of: v ? 1 : 0, as: Int32.self)
        case (.enumeration, .enumeration(let v)):
            slot.storeBytes(of: v, as: Int32.self)
        case (.string, .string(let v)):
            guard !v.utf8.contains(0) else { throw RPCError.invalidField(path, "contains a NUL character") }
            guard let copy = strdup(v) else { throw RPCError(.resourceExhausted, "out of memory encoding \(path)") }
            slot.storeBytes(of: copy, as: UnsafeMutablePointer<CChar>.self)
        case (.bytes, .bytes(let v)):
            var data = ProtobufCBinaryData(len: 0, data: nil)
            if !v.isEmpty {
                guard let copy = malloc(v.count) else {
                    throw RPCError(.resourceExhausted, "out of memory encoding \(path)")
                }
                v.withUnsafeBytes { copy.copyMemory(from: $0.baseAddress!, byteCount: v.count) }
                data = ProtobufCBinaryData(len: v.count, data: copy.assumingMemoryBound(to: UInt8.self))
            }
            slot.storeBytes(of: data, as: ProtobufCBinaryData.self)
        case (.message(let schema), .message(let v)):
            guard v.schema === schema else { throw mismatch(path, "a \(schema.fullName)") }
            let child = try build(v, path: path)
            slot.storeBytes(of: child, as: UnsafeMutablePointer<ProtobufCMessage>.self)
        default:
            throw mismatch(path, "a value of kind \(kind)")
        }
    }

    private func mismatch(_ path: String, _ expected: String) -> RPCError {
        RPCError.invalidField(path, "must be \(expected)")
    }

    private func outOfRange(_ path: String, _ expected: String) -> RPCError {
        RPCError.invalidField(path, "is out of range for \(expected)")
    }
}
