import AccessCore

/// Reads a generated Swift message type out of a `MessageValue` by matching its coding keys to the
/// descriptor's JSON names. Absent fields decode as their proto3 defaults.
enum ProtoValueDecoding {
    static func decode<T: Decodable>(_ type: T.Type, from value: MessageValue) throws -> T {
        do {
            return try T(from: ValueDecoder(value: .message(value), kind: .message(value.schema), codingPath: []))
        } catch let error as RPCError {
            throw error
        } catch {
            throw RPCError(.invalidArgument, "cannot read \(value.schema.fullName): \(error)")
        }
    }
}

private struct ValueDecoder: Decoder {
    let value: ProtoValue
    let kind: FieldKind
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        switch value {
        case .message(let message):
            return KeyedDecodingContainer(MessageContainer<Key>(message: message, codingPath: codingPath))
        case .map(let map):
            return KeyedDecodingContainer(MapContainer<Key>(map: map, kind: kind, codingPath: codingPath))
        default: throw mismatch("a message or map")
        }
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .list(let items) = value else { throw mismatch("a list") }
        return ListContainer(items: items, kind: kind, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleContainer(decoder: self) }

    func mismatch(_ expected: String) -> DecodingError {
        .typeMismatch(Any.self, .init(codingPath: codingPath, debugDescription: "expected \(expected), found \(value)"))
    }

    /// Decodes a child value, reading `[UInt8]` straight from bytes.
    static func decode<T: Decodable>(_ type: T.Type, value: ProtoValue, kind: FieldKind, path: [any CodingKey])
        throws -> T
    {
        if T.self == [UInt8].self, case .bytes(let bytes) = value { return bytes as! T }
        return try T(from: ValueDecoder(value: value, kind: kind, codingPath: path))
    }
}

private struct MessageContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let message: MessageValue
    let codingPath: [any CodingKey]

    var allKeys: [Key] { message.schema.fields.compactMap { Key(stringValue: $0.jsonName) } }

    func contains(_ key: Key) -> Bool { message.schema.field(named: key.stringValue) != nil }

    private func field(_ key: Key) throws -> FieldSchema {
        guard let field = message.schema.field(named: key.stringValue) else {
            throw DecodingError.keyNotFound(
                key, .init(codingPath: codingPath, debugDescription: "\(message.schema.fullName) has no such field"))
        }
        return field
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        let field = try field(key)
        return message.fields[field.number] == nil && field.hasPresence
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let field = try field(key)
        let value = message.fields[field.number] ?? ProtoValue.defaultValue(for: field)
        return try ValueDecoder.decode(
            type, value: value, kind: field.mapValue?.kind ?? field.kind, path: codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        let field = try field(key)
        let value = message.fields[field.number] ?? ProtoValue.defaultValue(for: field)
        return try ValueDecoder(value: value, kind: field.mapValue?.kind ?? field.kind, codingPath: codingPath + [key])
            .container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        let field = try field(key)
        let value = message.fields[field.number] ?? ProtoValue.defaultValue(for: field)
        return try ValueDecoder(value: value, kind: field.kind, codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        ValueDecoder(value: .message(message), kind: .message(message.schema), codingPath: codingPath)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder { try superDecoder() }
}

private struct MapContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let map: [String: ProtoValue]
    let kind: FieldKind
    let codingPath: [any CodingKey]

    var allKeys: [Key] { map.keys.sorted().compactMap { Key(stringValue: $0) } }
    func contains(_ key: Key) -> Bool { map[key.stringValue] != nil }
    func decodeNil(forKey key: Key) throws -> Bool { map[key.stringValue] == nil }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        guard let value = map[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no such map key"))
        }
        return try ValueDecoder.decode(type, value: value, kind: kind, path: codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try ValueDecoder(value: map[key.stringValue] ?? .map([:]), kind: kind, codingPath: codingPath + [key])
            .container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try ValueDecoder(value: map[key.stringValue] ?? .list([]), kind: kind, codingPath: codingPath + [key])
            .unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { ValueDecoder(value: .map(map), kind: kind, codingPath: codingPath) }
    func superDecoder(forKey key: Key) throws -> any Decoder { try superDecoder() }
}

private struct IndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "\(intValue ?? 0)" }
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { return nil }
    init?(intValue: Int) { self.intValue = intValue }
}

private struct ListContainer: UnkeyedDecodingContainer {
    let items: [ProtoValue]
    let kind: FieldKind
    let codingPath: [any CodingKey]
    var currentIndex = 0

    init(items: [ProtoValue], kind: FieldKind, codingPath: [any CodingKey]) {
        self.items = items
        self.kind = kind
        self.codingPath = codingPath
    }

    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    mutating func next() throws -> ProtoValue {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                Any.self, .init(codingPath: codingPath, debugDescription: "past the end of the list"))
        }
        defer { currentIndex += 1 }
        return items[currentIndex]
    }

    mutating func decodeNil() throws -> Bool { false }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let index = currentIndex
        return try ValueDecoder.decode(type, value: try next(), kind: kind, path: codingPath + [IndexKey(index)])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try ValueDecoder(value: try next(), kind: kind, codingPath: codingPath).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try ValueDecoder(value: try next(), kind: kind, codingPath: codingPath).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        ValueDecoder(value: try next(), kind: kind, codingPath: codingPath)
    }
}

private struct SingleContainer: SingleValueDecodingContainer {
    let decoder: ValueDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }

    func decodeNil() -> Bool { false }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard case .bool(let v) = decoder.value else { throw decoder.mismatch("a bool") }
        return v
    }

    func decode(_ type: String.Type) throws -> String {
        switch decoder.value {
        case .string(let v): return v
        case .enumeration(let number):
            guard case .enumeration(let schema) = decoder.kind, let name = schema.name(of: number) else {
                throw RPCError.invalidField(path, "has the unknown enum value \(number)")
            }
            return name
        default: throw decoder.mismatch("a string")
        }
    }

    private var path: String {
        codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingPrefixDot
    }

    func decode(_ type: Double.Type) throws -> Double {
        guard case .double(let v) = decoder.value else { throw decoder.mismatch("a number") }
        return v
    }

    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

    private func integer<I: FixedWidthInteger>(_ type: I.Type) throws -> I {
        let result: I?
        switch decoder.value {
        case .int(let v): result = I(exactly: v)
        case .uint(let v): result = I(exactly: v)
        case .enumeration(let v): result = I(exactly: v)
        default: throw decoder.mismatch("an integer")
        }
        guard let result else { throw RPCError.invalidField(path, "is out of range for \(I.self)") }
        return result
    }

    func decode(_ type: Int.Type) throws -> Int { try integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try ValueDecoder.decode(type, value: decoder.value, kind: decoder.kind, path: codingPath)
    }
}

extension String {
    fileprivate var trimmingPrefixDot: String { hasPrefix(".") ? String(dropFirst()) : self }
}
