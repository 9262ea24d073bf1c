import AccessCore

/// Writes a generated Swift message type into a `MessageValue`, guided by the descriptor: coding keys are
/// matched to JSON names, enum names become numbers, `[UInt8]` becomes bytes.
enum ProtoValueEncoding {
    static func encode<T: Encodable>(_ value: T, schema: MessageSchema) throws -> MessageValue {
        let box = Box(kind: .message(schema))
        do {
            try value.encode(to: ValueEncoder(box: box, codingPath: []))
            guard case .message(let message)? = try box.finish(path: "") else {
                return MessageValue(schema: schema)
            }
            return message
        } catch let error as RPCError {
            throw error
        } catch {
            throw RPCError(.internal, "cannot encode \(schema.fullName)", cause: "\(error)")
        }
    }
}

/// One value under construction. Containers write into boxes; `finish` turns the tree into a `ProtoValue`.
private final class Box {
    enum State {
        case empty
        case value(ProtoValue)
        case message([UInt32: Box])
        case list([Box])
        case map([String: Box])
    }

    let kind: FieldKind
    /// Set for a field's box: repeated fields take a list, map fields a keyed container.
    let field: FieldSchema?
    var state: State = .empty

    init(kind: FieldKind, field: FieldSchema? = nil) {
        self.kind = kind
        self.field = field
    }

    func finish(path: String) throws -> ProtoValue? {
        switch state {
        case .empty:
            return nil
        case .value(let value):
            return value
        case .message(let boxes):
            guard case .message(let schema) = kind else { throw RPCError(.internal, "\(path) is not a message") }
            var fields: [UInt32: ProtoValue] = [:]
            for (number, box) in boxes {
                if let value = try box.finish(path: path) { fields[number] = value }
            }
            return .message(MessageValue(schema: schema, fields: fields))
        case .list(let boxes):
            return .list(try boxes.map { try $0.finish(path: path) ?? ProtoValue.defaultValue(of: kind) })
        case .map(let boxes):
            var map: [String: ProtoValue] = [:]
            for (key, box) in boxes { map[key] = try box.finish(path: path) ?? ProtoValue.defaultValue(of: kind) }
            return .map(map)
        }
    }
}

private struct ValueEncoder: Encoder {
    let box: Box
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if box.field?.mapValue != nil {
            if case .map = box.state {} else { box.state = .map([:]) }
            return KeyedEncodingContainer(MapContainer<Key>(box: box, codingPath: codingPath))
        }
        if case .message = box.state {} else { box.state = .message([:]) }
        return KeyedEncodingContainer(MessageContainer<Key>(box: box, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .list = box.state {} else { box.state = .list([]) }
        return ListContainer(box: box, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleContainer(box: box, codingPath: codingPath)
    }

    /// Encodes a child value into `box`, writing `[UInt8]` straight as bytes.
    static func encode<T: Encodable>(_ value: T, into box: Box, path: [any CodingKey]) throws {
        if let bytes = value as? [UInt8], case .bytes = box.kind, box.field?.isRepeated != true {
            box.state = .value(.bytes(bytes))
            return
        }
        try value.encode(to: ValueEncoder(box: box, codingPath: path))
    }
}

private func unknownField(_ name: String, _ path: [any CodingKey]) -> EncodingError {
    .invalidValue(name, .init(codingPath: path, debugDescription: "the message has no field \(name)"))
}

private struct MessageContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let box: Box
    let codingPath: [any CodingKey]

    private var schema: MessageSchema? {
        if case .message(let schema) = box.kind { return schema }
        return nil
    }

    private func child(for key: Key) throws -> Box {
        guard let field = schema?.field(named: key.stringValue) else { throw unknownField(key.stringValue, codingPath) }
        let child = Box(kind: field.mapValue?.kind ?? field.kind, field: field)
        guard case .message(var boxes) = box.state else { throw unknownField(key.stringValue, codingPath) }
        boxes[field.number] = child
        box.state = .message(boxes)
        return child
    }

    mutating func encodeNil(forKey key: Key) throws {}

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        let child = try child(for: key)
        try ValueEncoder.encode(value, into: child, path: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        let child = (try? child(for: key)) ?? Box(kind: box.kind)
        return ValueEncoder(box: child, codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = (try? child(for: key)) ?? Box(kind: box.kind)
        return ValueEncoder(box: child, codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { ValueEncoder(box: box, codingPath: codingPath) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { ValueEncoder(box: box, codingPath: codingPath) }
}

private struct MapContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let box: Box
    let codingPath: [any CodingKey]

    private func child(for key: Key) -> Box {
        let child = Box(kind: box.kind)
        if case .map(var boxes) = box.state {
            boxes[key.stringValue] = child
            box.state = .map(boxes)
        }
        return child
    }

    mutating func encodeNil(forKey key: Key) throws {}

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try ValueEncoder.encode(value, into: child(for: key), path: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        ValueEncoder(box: child(for: key), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        ValueEncoder(box: child(for: key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { ValueEncoder(box: box, codingPath: codingPath) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { ValueEncoder(box: box, codingPath: codingPath) }
}

private struct ListContainer: UnkeyedEncodingContainer {
    let box: Box
    let codingPath: [any CodingKey]

    var count: Int {
        if case .list(let boxes) = box.state { return boxes.count }
        return 0
    }

    private func append() -> Box {
        let child = Box(kind: box.kind)
        if case .list(var boxes) = box.state {
            boxes.append(child)
            box.state = .list(boxes)
        }
        return child
    }

    mutating func encodeNil() throws {}

    mutating func encode<T: Encodable>(_ value: T) throws {
        try ValueEncoder.encode(value, into: append(), path: codingPath)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
        -> KeyedEncodingContainer<NestedKey>
    {
        ValueEncoder(box: append(), codingPath: codingPath).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        ValueEncoder(box: append(), codingPath: codingPath).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { ValueEncoder(box: append(), codingPath: codingPath) }
}

private struct SingleContainer: SingleValueEncodingContainer {
    let box: Box
    let codingPath: [any CodingKey]

    private func set(_ value: ProtoValue) { box.state = .value(value) }

    private func path() -> String {
        codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }

    mutating func encodeNil() throws {}
    mutating func encode(_ value: Bool) throws { set(.bool(value)) }

    mutating func encode(_ value: String) throws {
        if case .enumeration(let schema) = box.kind {
            guard let number = schema.number(of: value) else {
                throw RPCError(.internal, "\(value) is not a value of \(schema.fullName) at \(path())")
            }
            set(.enumeration(number))
        } else {
            set(.string(value))
        }
    }

    mutating func encode(_ value: Double) throws { set(.double(value)) }
    mutating func encode(_ value: Float) throws { set(.double(Double(value))) }

    private func integer<I: BinaryInteger>(_ value: I) {
        switch box.kind {
        case .uint32, .fixed32, .uint64, .fixed64: set(.uint(UInt64(truncatingIfNeeded: value)))
        case .enumeration: set(.enumeration(Int32(truncatingIfNeeded: value)))
        default: set(.int(Int64(truncatingIfNeeded: value)))
        }
    }

    mutating func encode(_ value: Int) throws { integer(value) }
    mutating func encode(_ value: Int8) throws { integer(value) }
    mutating func encode(_ value: Int16) throws { integer(value) }
    mutating func encode(_ value: Int32) throws { integer(value) }
    mutating func encode(_ value: Int64) throws { integer(value) }
    mutating func encode(_ value: UInt) throws { integer(value) }
    mutating func encode(_ value: UInt8) throws { integer(value) }
    mutating func encode(_ value: UInt16) throws { integer(value) }
    mutating func encode(_ value: UInt32) throws { integer(value) }
    mutating func encode(_ value: UInt64) throws { integer(value) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try ValueEncoder.encode(value, into: box, path: codingPath)
    }
}
