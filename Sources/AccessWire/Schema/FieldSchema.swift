import AccessProtoC

/// One field of a message: names, number, kind, cardinality and where protobuf-c stores it.
public struct FieldSchema: Sendable {
    /// The proto name, e.g. `new_account_name`.
    public let name: String
    /// The JSON (lowerCamelCase) name, e.g. `newAccountName`.
    public let jsonName: String
    public let number: UInt32
    public let kind: FieldKind
    public let isRepeated: Bool
    /// For `map<string, V>` fields: the entry message's value field.
    public let mapValue: MapValue?
    /// Set for oneof members (synthetic `_x` oneofs included): presence is tracked by the case field.
    public let isOneofMember: Bool
    /// The index of this field in its message's `fields`.
    public let index: Int
    let offset: Int
    let quantifierOffset: Int

    /// True when absence is distinguishable from the zero value (messages and oneof members).
    public var hasPresence: Bool {
        if isRepeated { return false }
        if isOneofMember { return true }
        if case .message = kind { return true }
        return false
    }

    /// The value field of a map entry.
    public struct MapValue: Sendable {
        public let kind: FieldKind
        let entry: MessageSchema
    }

    init(
        name: String, jsonName: String, number: UInt32, kind: FieldKind, isRepeated: Bool, mapValue: MapValue?,
        isOneofMember: Bool, index: Int, offset: Int, quantifierOffset: Int
    ) {
        self.name = name
        self.jsonName = jsonName
        self.number = number
        self.kind = kind
        self.isRepeated = isRepeated
        self.mapValue = mapValue
        self.isOneofMember = isOneofMember
        self.index = index
        self.offset = offset
        self.quantifierOffset = quantifierOffset
    }
}
