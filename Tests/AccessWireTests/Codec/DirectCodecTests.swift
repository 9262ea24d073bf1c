import AccessCore
import AccessWireTesting
import Testing

@testable import AccessWire

/// The generated direct code (Swift struct ⇄ protobuf-c C struct) against the value tree it replaces on typed
/// calls: the same bytes, the same values, the same refusals with the same messages.
@Suite struct DirectCodecTests {
    init() { TestingSchemas.install() }

    static let allTypes: [any ProtoMessage.Type] = ProtoCatalog.messageTypes + TestingCatalog.messageTypes

    @Test func everyGeneratedTypeHasDirectCode() {
        let missing = Self.allTypes.filter { !($0 is any DirectMessage.Type) }.map { $0.protoName }
        #expect(missing.isEmpty, "no direct code for \(missing)")
    }

    @Test func directDescriptorIsTheRegistryOne() throws {
        for type in Self.allTypes {
            guard let direct = type as? any DirectMessage.Type else { continue }
            let schema = try #require(SchemaRegistry.shared.message(type.protoName))
            #expect(direct.directDescriptor == schema.descriptor, "\(type.protoName)")
        }
    }

    @Test func randomValuesOfEveryTypeAgreeWithTheValueTree() throws {
        var random = SplitMix(seed: 0x5EED_D1EC)
        var compared = 0
        for type in Self.allTypes {
            let schema = try #require(SchemaRegistry.shared.message(type.protoName))
            for _ in 0..<60 {
                let value = randomMessage(schema, &random)
                let bytes = try MessageCodec.encodeValue(value)
                try FuzzHarness.compareCodecs(type, bytes)
                for _ in 0..<4 {
                    try FuzzHarness.compareCodecs(type, mutate(bytes, &random))
                }
                compared += 5
            }
        }
        #expect(compared > 1000)
    }

    @Test func encodesTheGoldenFixtureLikeTheValueTree() throws {
        #expect(try DirectCodec.encode(everything) == MessageCodec.encodeThroughValueTree(everything))
        let golden = try Fixture.bytes("everything")
        let direct = try golden.withUnsafeBytes { try DirectCodec.decode(Everything.self, from: $0) }
        #expect(direct == everything)
    }

    /// Each fault alone, read both ways: the same code, the same message, the same field path.
    @Test(
        arguments: [
            // f_string (14) = "a\0b"
            ("a NUL in a string", [0x72, 0x03, 0x61, 0x00, 0x62]),
            // r_string (19) = ["ok", "\xff"]
            ("invalid UTF-8 in a list element", [0x9A, 0x01, 0x02, 0x6F, 0x6B, 0x9A, 0x01, 0x01, 0xFF]),
            // f_inner (17) { label = "\0" }
            ("a NUL in a nested message", [0x8A, 0x01, 0x03, 0x0A, 0x01, 0x00]),
            // r_inner (20) [{}, { label = "\xfe" }]
            ("invalid UTF-8 in a message list element", [0xA2, 0x01, 0x00, 0xA2, 0x01, 0x03, 0x0A, 0x01, 0xFE]),
            // m_string (25) { key "\xff" : "v" }
            ("invalid UTF-8 in a map key", [0xCA, 0x01, 0x06, 0x0A, 0x01, 0xFF, 0x12, 0x01, 0x76]),
            // m_inner (26) { "k": { label = "\0" } }
            ("a NUL in a map's message value", [0xD2, 0x01, 0x08, 0x0A, 0x01, 0x6B, 0x12, 0x03, 0x0A, 0x01, 0x00]),
            // f_enum (16) = 9
            ("an unknown enum number", [0x80, 0x01, 0x09]),
            // r_enum (21) [1, 7]
            ("an unknown enum number in a list", [0xAA, 0x01, 0x02, 0x01, 0x07]),
            // c_text (27) = "\xc3"
            ("invalid UTF-8 in a oneof member", [0xDA, 0x01, 0x01, 0xC3]),
            // not a message at all
            ("a truncated field", [0x72, 0x05, 0x61]),
        ] as [(String, [UInt8])])
    func refusesEachFaultAsTheValueTreeDoes(_ fault: String, _ bytes: [UInt8]) throws {
        let direct = try #require(refusal { try MessageCodec.decode(Everything.self, from: bytes) }, "\(fault)")
        let tree = try #require(
            refusal {
                try bytes.withUnsafeBytes { try MessageCodec.decodeThroughValueTree(Everything.self, from: $0) }
            },
            "\(fault)")
        #expect(direct.code == .invalidArgument, "\(fault)")
        #expect(direct.code == tree.code && direct.message == tree.message, "\(fault): \(direct) / \(tree)")
        #expect(direct.violations.map(\.field) == tree.violations.map(\.field), "\(fault)")
    }

    @Test func refusesAListLongerThanTheLimitAsTheValueTreeDoes() throws {
        var limits = CodecLimits.default
        limits.maxListLength = 2
        let bytes = try MessageCodec.encode(Everything(rInt32: [1, 2, 3]))
        let direct = try #require(refusal { try MessageCodec.decode(Everything.self, from: bytes, limits: limits) })
        let tree = try #require(
            refusal {
                try bytes.withUnsafeBytes {
                    try MessageCodec.decodeThroughValueTree(Everything.self, from: $0, limits: limits)
                }
            })
        #expect(direct.message == tree.message)
        #expect(direct.message.contains("rInt32"))
    }

    @Test func refusesOnEncodingAsTheValueTreeDoes() throws {
        let values: [Everything] = [
            Everything(fString: "a\u{0}b"),
            Everything(fInner: Inner(label: "\u{0}")),
            Everything(rString: ["ok", "x\u{0}"]),
            Everything(mInner: ["a": Inner(), "b": Inner(label: "\u{0}")]),
            Everything(mString: ["k\u{0}": "v"]),
            Everything(cText: "one", cNumber: 2),
        ]
        for value in values {
            let direct = try #require(refusal { try DirectCodec.encode(value) }, "\(value)")
            let tree = try #require(refusal { try MessageCodec.encodeThroughValueTree(value) }, "\(value)")
            #expect(direct.message == tree.message, "\(direct) / \(tree)")
        }
    }

    @Test func largeMessagesOutgrowTheStackBuffer() throws {
        let big = Everything(
            fString: String(repeating: "é", count: 10_000), rString: (0..<500).map { "element \($0)" },
            rInner: (0..<300).map { Inner(label: "inner \($0)", weight: Int32($0)) },
            mString: Dictionary(uniqueKeysWithValues: (0..<200).map { ("key \($0)", "value \($0)") }))
        let bytes = try DirectCodec.encode(big)
        #expect(bytes == (try MessageCodec.encodeThroughValueTree(big)))
        #expect(try bytes.withUnsafeBytes { try DirectCodec.decode(Everything.self, from: $0) } == big)
    }
}

private func refusal(_ body: () throws -> some Any) -> RPCError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error as? RPCError
    }
}

/// A small deterministic generator (SplitMix64), so a failure names the value it found.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

/// A random value of `schema`: about two fields in three set, one member per oneof, lists and maps of up to
/// three, strings from a pool with non-ASCII text, enum numbers that are sometimes unknown.
func randomMessage(_ schema: MessageSchema, _ random: inout SplitMix) -> MessageValue {
    var value = MessageValue(schema: schema)
    var oneofs: Set<Int> = []
    for field in schema.fields where random.below(3) != 0 {
        if field.isOneofMember {
            guard oneofs.insert(field.quantifierOffset).inserted else { continue }
        }
        if let map = field.mapValue {
            var entries: [String: ProtoValue] = [:]
            for _ in 0..<random.below(4) { entries[randomString(&random)] = randomScalar(map.kind, &random) }
            value.fields[field.number] = .map(entries)
        } else if field.isRepeated {
            value.fields[field.number] = .list((0..<random.below(4)).map { _ in randomScalar(field.kind, &random) })
        } else {
            value.fields[field.number] = randomScalar(field.kind, &random)
        }
    }
    return value
}

private func randomScalar(_ kind: FieldKind, _ random: inout SplitMix) -> ProtoValue {
    let bits = random.next()
    switch kind {
    case .int32, .sint32, .sfixed32: return .int(Int64(Int32(truncatingIfNeeded: bits)) >> random.below(32))
    case .int64, .sint64, .sfixed64: return .int(Int64(bitPattern: bits) >> random.below(64))
    case .uint32, .fixed32: return .uint(UInt64(UInt32(truncatingIfNeeded: bits)) >> random.below(32))
    case .uint64, .fixed64: return .uint(bits >> random.below(64))
    case .float:
        let pool: [Float] = [0, -0.0, 1.5, -3.25e-8, .infinity, -.infinity, .nan, .greatestFiniteMagnitude]
        return .double(Double(pool[random.below(pool.count)]))
    case .double:
        let pool: [Double] = [0, -0.0, 2.5, .infinity, .nan, .leastNonzeroMagnitude, Double(bitPattern: bits)]
        return .double(pool[random.below(pool.count)])
    case .bool: return .bool(bits & 1 == 1)
    case .string: return .string(randomString(&random))
    case .bytes: return .bytes((0..<random.below(6)).map { _ in UInt8(truncatingIfNeeded: random.next()) })
    case .enumeration(let schema):
        if random.below(8) == 0 { return .enumeration(Int32(truncatingIfNeeded: bits)) }
        return .enumeration(schema.values[random.below(schema.values.count)].number)
    case .message(let nested): return .message(randomMessage(nested, &random))
    }
}

private func randomString(_ random: inout SplitMix) -> String {
    let pool = ["", "a", "API", "héllo ✓", "admin@example.com", "日本語", "x y z", "🙂", String(repeating: "k", count: 40)]
    return pool[random.below(pool.count)]
}

/// `bytes` with one random change: a byte replaced, one inserted, or the tail cut off.
private func mutate(_ bytes: [UInt8], _ random: inout SplitMix) -> [UInt8] {
    var out = bytes
    switch random.below(3) {
    case 0 where !out.isEmpty: out[random.below(out.count)] = UInt8(truncatingIfNeeded: random.next())
    case 1: out.insert(UInt8(truncatingIfNeeded: random.next()), at: random.below(out.count + 1))
    default: if !out.isEmpty { out.removeLast(1 + random.below(out.count)) }
    }
    return out
}

extension DirectCodecTests {
    /// A message map's Swift values are optional; a nil one goes out as an entry with an empty message, the
    /// value tree's way, and comes back as that empty message.
    @Test func aNilMessageMapValueIsWrittenAsAnEmptyMessage() throws {
        let value = GetAllUsersCollectionsResponse(usersCollectionList: ["a": nil, "b": CollectionIdList()])
        let bytes = try DirectCodec.encode(value)
        #expect(bytes == (try MessageCodec.encodeThroughValueTree(value)))
        let decoded = try bytes.withUnsafeBytes {
            try DirectCodec.decode(GetAllUsersCollectionsResponse.self, from: $0)
        }
        #expect(decoded.usersCollectionList == ["a": CollectionIdList(), "b": CollectionIdList()])
    }
}
