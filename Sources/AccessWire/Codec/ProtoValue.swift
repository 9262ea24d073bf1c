/// A decoded protobuf value, independent of C memory: the hub between protobuf bytes, JSON and Swift types.
public enum ProtoValue: Sendable, Equatable {
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case bool(Bool)
    case string(String)
    case bytes([UInt8])
    case enumeration(Int32)
    case message(MessageValue)
    case list([ProtoValue])
    /// A `map<string, V>`; keys are unique.
    case map([String: ProtoValue])
}

/// A message's present fields, keyed by field number. Absent fields read as their proto3 default.
public struct MessageValue: Sendable, Equatable {
    public let schema: MessageSchema
    public var fields: [UInt32: ProtoValue]

    public init(schema: MessageSchema, fields: [UInt32: ProtoValue] = [:]) {
        self.schema = schema
        self.fields = fields
    }

    /// The value of a field by JSON or proto name, nil when absent.
    public subscript(name: String) -> ProtoValue? {
        guard let field = schema.field(named: name) else { return nil }
        return fields[field.number]
    }
}

extension ProtoValue {
    /// The proto3 default of a field that is absent: zero, empty, an empty list or map, or an empty message.
    static func defaultValue(for field: FieldSchema) -> ProtoValue {
        if field.mapValue != nil { return .map([:]) }
        if field.isRepeated { return .list([]) }
        return defaultValue(of: field.kind)
    }

    static func defaultValue(of kind: FieldKind) -> ProtoValue {
        switch kind {
        case .int32, .sint32, .sfixed32, .int64, .sint64, .sfixed64: .int(0)
        case .uint32, .fixed32, .uint64, .fixed64: .uint(0)
        case .float, .double: .double(0)
        case .bool: .bool(false)
        case .string: .string("")
        case .bytes: .bytes([])
        case .enumeration: .enumeration(0)
        case .message(let schema): .message(MessageValue(schema: schema))
        }
    }

    /// True for the value proto3 does not put on the wire for a field without presence.
    var isDefault: Bool {
        switch self {
        case .int(let v): v == 0
        case .uint(let v): v == 0
        case .double(let v): v == 0 && v.sign == .plus
        case .bool(let v): !v
        case .string(let v): v.isEmpty
        case .bytes(let v): v.isEmpty
        case .enumeration(let v): v == 0
        case .message: false
        case .list(let v): v.isEmpty
        case .map(let v): v.isEmpty
        }
    }
}
