/// The value type of a protobuf field, as protobuf-c's `ProtobufCType` names it.
public enum FieldKind: Sendable, Hashable {
    case int32, sint32, sfixed32
    case int64, sint64, sfixed64
    case uint32, fixed32
    case uint64, fixed64
    case float, double, bool
    case string, bytes
    case enumeration(EnumSchema)
    case message(MessageSchema)

    /// True for the kinds whose JSON form is a number.
    var isNumeric: Bool {
        switch self {
        case .int32, .sint32, .sfixed32, .int64, .sint64, .sfixed64, .uint32, .fixed32, .uint64, .fixed64,
            .float, .double:
            true
        default: false
        }
    }
}
