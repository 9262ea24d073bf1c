import AccessProtoC

/// A protobuf enum, read once from its protobuf-c descriptor.
public final class EnumSchema: Sendable, Hashable {
    /// The full name, e.g. `akto.testing.v1.Color`.
    public let fullName: String
    /// Value names in declaration order with their numbers.
    public let values: [(name: String, number: Int32)]
    private let numberByName: [String: Int32]
    private let nameByNumber: [Int32: String]

    init(_ descriptor: UnsafePointer<ProtobufCEnumDescriptor>) {
        let d = descriptor.pointee
        fullName = String(cString: d.name)
        var values: [(String, Int32)] = []
        for i in 0..<Int(d.n_values) {
            let v = d.values[i]
            values.append((String(cString: v.name), v.value))
        }
        self.values = values
        numberByName = Dictionary(values.map { ($0.0, $0.1) }, uniquingKeysWith: { first, _ in first })
        nameByNumber = Dictionary(values.map { ($0.1, $0.0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The number of a value name, or nil when the enum has no such value.
    public func number(of name: String) -> Int32? { numberByName[name] }

    /// The name of a value number, or nil when the enum has no such value.
    public func name(of number: Int32) -> String? { nameByNumber[number] }

    public static func == (lhs: EnumSchema, rhs: EnumSchema) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
