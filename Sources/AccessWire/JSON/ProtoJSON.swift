import AccessCore

/// Converts between JSON and `MessageValue` with proto3 JSON rules, as Akto's clients expect them:
/// lowerCamelCase names (snake_case accepted on input), enums by name (numbers accepted), bytes as base64,
/// 32- and 64-bit integers written as JSON numbers (strings accepted on input), unknown fields ignored,
/// `null` meaning the default. Every problem is an INVALID_ARGUMENT naming the field's JSON path.
public enum ProtoJSON {
    /// Reads a JSON object as a message of `schema`.
    public static func decode(_ json: JSONValue, schema: MessageSchema, limits: CodecLimits = .default) throws
        -> MessageValue
    {
        try JSONReader(limits: limits).message(json, schema: schema, path: "")
    }

    /// Writes a message as JSON. Fields without presence are always written (zero values included), so
    /// browser code can rely on every list and number being there; absent messages and oneof members are
    /// left out.
    public static func encode(_ value: MessageValue) -> JSONValue {
        if value.schema.isListWrapper, let field = value.schema.fields.first {
            return encode(value.fields[field.number] ?? .list([]), kind: field.kind)
        }
        var members: [(key: String, value: JSONValue)] = []
        for field in value.schema.fields {
            if let present = value.fields[field.number] {
                members.append((field.jsonName, encode(present, kind: field.mapValue?.kind ?? field.kind)))
            } else if !field.hasPresence {
                members.append((field.jsonName, encode(ProtoValue.defaultValue(for: field), kind: field.kind)))
            }
        }
        return .object(members)
    }

    static func encode(_ value: ProtoValue, kind: FieldKind) -> JSONValue {
        switch value {
        case .int(let v): return .number(String(v))
        case .uint(let v): return .number(String(v))
        case .double(let v):
            if v.isNaN { return .string("NaN") }
            if v.isInfinite { return .string(v < 0 ? "-Infinity" : "Infinity") }
            if case .float = kind { return .number(String(describing: Float(v))) }
            return .number(String(describing: v))
        case .bool(let v): return .bool(v)
        case .string(let v): return .string(v)
        case .bytes(let v): return .string(Base64.encode(v))
        case .enumeration(let v):
            if case .enumeration(let schema) = kind, let name = schema.name(of: v) { return .string(name) }
            return .number(String(v))
        case .message(let v): return encode(v)
        case .list(let items): return .array(items.map { encode($0, kind: kind) })
        case .map(let map):
            return .object(map.keys.sorted().map { ($0, encode(map[$0]!, kind: kind)) })
        }
    }
}

private struct JSONReader {
    let limits: CodecLimits

    func message(_ json: JSONValue, schema: MessageSchema, path: String) throws -> MessageValue {
        if schema.isListWrapper, case .array = json, let field = schema.fields.first {
            return try message(.object([(field.jsonName, json)]), schema: schema, path: path)
        }
        guard case .object(let members) = json else {
            throw violation(path.isEmpty ? "(body)" : path, "must be a JSON object")
        }
        var out = MessageValue(schema: schema)
        var oneofOwners: [Int: String] = [:]
        for member in members {
            guard let field = schema.field(named: member.key) else { continue }  // unknown fields are ignored
            if case .null = member.value { continue }
            let fieldPath = path.isEmpty ? field.jsonName : "\(path).\(field.jsonName)"
            if field.isOneofMember {
                if let other = oneofOwners[field.quantifierOffset] {
                    throw violation(fieldPath, "cannot be set together with \(other)")
                }
                oneofOwners[field.quantifierOffset] = field.jsonName
            }
            let value: ProtoValue
            if let mapValue = field.mapValue {
                guard case .object(let entries) = member.value else { throw violation(fieldPath, "must be an object") }
                guard entries.count <= limits.maxListLength else {
                    throw violation(fieldPath, "has more than \(limits.maxListLength) entries")
                }
                var map: [String: ProtoValue] = [:]
                for entry in entries {
                    try checkString(entry.key, path: fieldPath)
                    map[entry.key] = try single(entry.value, kind: mapValue.kind, path: "\(fieldPath).\(entry.key)")
                }
                value = .map(map)
            } else if field.isRepeated {
                guard case .array(let items) = member.value else { throw violation(fieldPath, "must be an array") }
                guard items.count <= limits.maxListLength else {
                    throw violation(fieldPath, "has more than \(limits.maxListLength) elements")
                }
                value = .list(
                    try items.enumerated().map { i, item in
                        try single(item, kind: field.kind, path: "\(fieldPath)[\(i)]")
                    })
            } else {
                value = try single(member.value, kind: field.kind, path: fieldPath)
            }
            out.fields[field.number] = value
        }
        return out
    }

    private func single(_ json: JSONValue, kind: FieldKind, path: String) throws -> ProtoValue {
        switch kind {
        case .int32, .sint32, .sfixed32:
            return .int(Int64(try integer(json, path: path, as: Int32.self)))
        case .int64, .sint64, .sfixed64:
            return .int(try integer(json, path: path, as: Int64.self))
        case .uint32, .fixed32:
            return .uint(UInt64(try integer(json, path: path, as: UInt32.self)))
        case .uint64, .fixed64:
            return .uint(try integer(json, path: path, as: UInt64.self))
        case .float, .double:
            return .double(try floating(json, path: path))
        case .bool:
            guard case .bool(let v) = json else { throw violation(path, "must be true or false") }
            return .bool(v)
        case .string:
            guard case .string(let v) = json else { throw violation(path, "must be a string") }
            try checkString(v, path: path)
            return .string(v)
        case .bytes:
            guard case .string(let v) = json, let bytes = Base64.decode(v) else {
                throw violation(path, "must be a base64 string")
            }
            return .bytes(bytes)
        case .enumeration(let schema):
            switch json {
            case .string(let name):
                guard let number = schema.number(of: name) else {
                    let names = schema.values.map(\.name).joined(separator: ", ")
                    throw violation(path, "must be one of \(names)")
                }
                return .enumeration(number)
            case .number:
                return .enumeration(try integer(json, path: path, as: Int32.self))
            default:
                throw violation(path, "must be an enum name")
            }
        case .message(let schema):
            return .message(try message(json, schema: schema, path: path))
        }
    }

    private func checkString(_ value: String, path: String) throws {
        if value.utf8.contains(0) { throw violation(path, "contains a NUL character") }
    }

    private func integer<I: FixedWidthInteger>(_ json: JSONValue, path: String, as: I.Type) throws -> I {
        let text: String
        switch json {
        case .number(let v): text = v
        case .string(let v): text = v.trimmingSpaces
        default: throw violation(path, "must be an integer")
        }
        if let exact = I(text) { return exact }
        let digits = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
        if !digits.isEmpty, digits.allSatisfy({ $0 >= "0" && $0 <= "9" }) {
            throw violation(path, "is out of range (\(I.min)...\(I.max))")
        }
        // Exponent or fraction forms ("1e3", "5.0") are accepted when they denote an integer in range.
        if let double = Double(text), double.isFinite {
            guard double == double.rounded(.towardZero) else { throw violation(path, "must be an integer") }
            guard let exact = I(exactly: double) else {
                throw violation(path, "is out of range (\(I.min)...\(I.max))")
            }
            return exact
        }
        throw violation(path, "must be an integer")
    }

    private func floating(_ json: JSONValue, path: String) throws -> Double {
        switch json {
        case .number(let v):
            if let d = Double(v) { return d }
        case .string(let v):
            switch v {
            case "NaN": return .nan
            case "Infinity": return .infinity
            case "-Infinity": return -.infinity
            default: if let d = Double(v.trimmingSpaces), d.isFinite { return d }
            }
        default: break
        }
        throw violation(path, "must be a number")
    }

    private func violation(_ path: String, _ description: String) -> RPCError {
        RPCError.invalidField(path, description)
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(self.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
