import AccessProtoC

/// A protobuf message, read once from its protobuf-c descriptor: the fields with their JSON names and the
/// C layout the codec reads and writes.
public final class MessageSchema: @unchecked Sendable, Hashable {
    // @unchecked: every stored property is immutable after `SchemaRegistry` finishes building it; `fields`
    // is assigned exactly once during that build, before the schema is published.

    /// The full name, e.g. `akto.access.v1.CreateCustomRoleRequest`.
    public let fullName: String
    /// Fields in descriptor order.
    public private(set) var fields: [FieldSchema] = []
    /// True for the synthetic `XxxEntry` message of a map field.
    public let isMapEntry: Bool
    let descriptor: UnsafePointer<ProtobufCMessageDescriptor>
    private var indexByJSONName: [String: Int] = [:]
    private var indexByName: [String: Int] = [:]
    private var indexByNumber: [UInt32: Int] = [:]

    init(descriptor: UnsafePointer<ProtobufCMessageDescriptor>, isMapEntry: Bool) {
        self.descriptor = descriptor
        self.fullName = String(cString: descriptor.pointee.name)
        self.isMapEntry = isMapEntry
    }

    func setFields(_ fields: [FieldSchema]) {
        self.fields = fields
        for field in fields {
            indexByJSONName[field.jsonName] = field.index
            indexByName[field.name] = field.index
            indexByNumber[field.number] = field.index
        }
    }

    /// A list wrapper (`message FooList { repeated T values = 1; }`): its JSON form is the bare array, as proto3
    /// JSON writes `google.protobuf.ListValue` — how a map whose values are lists (Akto's `userId -> [ids]`) is
    /// spelt in proto.
    public var isListWrapper: Bool {
        fullName.hasSuffix("List") && fields.count == 1 && fields[0].name == "values" && fields[0].isRepeated
            && fields[0].mapValue == nil
    }

    /// The field with this JSON name or, failing that, this proto name (proto3 JSON accepts both).
    public func field(named name: String) -> FieldSchema? {
        if let index = indexByJSONName[name] ?? indexByName[name] { return fields[index] }
        return nil
    }

    /// The field with this number.
    public func field(number: UInt32) -> FieldSchema? {
        indexByNumber[number].map { fields[$0] }
    }

    public static func == (lhs: MessageSchema, rhs: MessageSchema) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
