import AccessCore
import AccessWireTesting
import Testing

@testable import AccessWire

/// The Swift value of `Fixtures/everything.txtpb`.
let everything = Everything(
    fInt32: -42, fInt64: -9_007_199_254_740_993, fUint32: 4_294_967_295, fUint64: 18_446_744_073_709_551_615,
    fSint32: -7, fSint64: .min, fFixed32: 7, fFixed64: 8, fSfixed32: -9, fSfixed64: -10, fBool: true, fFloat: 1.5,
    fDouble: -2.25, fString: "héllo ✓", fBytes: [0, 1, 255], fEnum: .blue, fInner: Inner(label: "in", weight: 3),
    rInt32: [1, -2, 300], rString: ["a", "", "ccc"], rInner: [Inner(label: "x", weight: 1), Inner()],
    rEnum: [.red, .green], rBytes: [[], [255]], rBool: [true, false], rDouble: [0.5, -1],
    mString: ["alpha": "1", "beta": "2"], mInner: ["k": Inner(label: "v", weight: 9)], cText: "chosen", maybe: 0)

@Suite struct MessageCodecTests {
    init() { TestingSchemas.install() }

    @Test func encodesExactlyWhatProtocEncodes() throws {
        let ours = try MessageCodec.encode(everything)
        let golden = try Fixture.bytes("everything")
        #expect(ours == golden, "ours \(hex(ours))\ngolden \(hex(golden))")
    }

    @Test func decodesWhatProtocEncodes() throws {
        #expect(try MessageCodec.decode(Everything.self, from: Fixture.bytes("everything")) == everything)
    }

    @Test func readsMapEntriesWhoseEmptyValueIsWrittenOut() throws {
        // protoc writes `value: ""` of a map entry explicitly (12 00); protobuf-c leaves it out. Both decode alike.
        let explicit: [UInt8] = [0xCA, 0x01, 0x08, 0x0A, 0x04, 0x62, 0x65, 0x74, 0x61, 0x12, 0x00]
        #expect(try MessageCodec.decode(Everything.self, from: explicit).mString == ["beta": ""])
        let ours = try MessageCodec.encode(Everything(mString: ["beta": ""]))
        #expect(try MessageCodec.decode(Everything.self, from: ours).mString == ["beta": ""])
    }

    @Test func absentFieldsDecodeAsDefaultsAndPresenceIsKept() throws {
        let decoded = try MessageCodec.decode(Everything.self, from: [])
        #expect(decoded == Everything())
        #expect(decoded.maybe == nil && decoded.fInner == nil && decoded.cText == nil)
        let zeroButPresent = try MessageCodec.decode(Everything.self, from: MessageCodec.encode(Everything(maybe: 0)))
        #expect(zeroButPresent.maybe == 0)
    }

    @Test func everyGeneratedTypeRoundTripsItsDefault() throws {
        func check<T: ProtoMessage>(_ type: T.Type) throws {
            let bytes = try MessageCodec.encode(T())
            #expect(try MessageCodec.decode(T.self, from: bytes) == T(), "\(T.protoName)")
            let schema = try MessageCodec.schema(for: T.self)
            let json = ProtoJSON.encode(try MessageCodec.decodeValue(bytes, schema: schema))
            #expect(try MessageCodec.typed(T.self, from: ProtoJSON.decode(json, schema: schema)) == T())
        }
        #expect(ProtoCatalog.messageTypes.count >= 100)
        for type in ProtoCatalog.messageTypes + TestingCatalog.messageTypes { try check(type) }
    }

    @Test func rejectsInvalidUTF8NamingTheField() throws {
        // Field 14 (f_string), length 2, bytes FF 01.
        let error = try #require(throws: RPCError.self) {
            try MessageCodec.decode(Everything.self, from: [0x72, 0x02, 0xFF, 0x01])
        }
        #expect(error.code == .invalidArgument)
        #expect(error.violations == [FieldViolation(field: "fString", description: "is not valid UTF-8")])
    }

    @Test func rejectsAnEmbeddedNULThatProtobufCWouldTruncate() throws {
        let error = try #require(throws: RPCError.self) {
            try MessageCodec.decode(Everything.self, from: [0x72, 0x03, 0x61, 0x00, 0x62])
        }
        #expect(error.violations.first?.field == "fString")
        #expect(error.violations.first?.description == "contains a NUL character")
        // Nested and repeated strings are checked too: r_string (19) = ["ok", "a\0"].
        let nested = try #require(throws: RPCError.self) {
            try MessageCodec.decode(
                Everything.self, from: [0x9A, 0x01, 0x02, 0x6F, 0x6B, 0x9A, 0x01, 0x02, 0x61, 0x00])
        }
        #expect(nested.violations.first?.field == "rString[1]")
    }

    @Test(arguments: [
        [0xFF] as [UInt8],  // truncated tag
        [0x72, 0x05, 0x61],  // length beyond the end
        [0x0B],  // group wire type
        [0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],  // 11-byte varint
    ])
    func rejectsMalformedBytes(bytes: [UInt8]) throws {
        let error = try #require(throws: RPCError.self) { try MessageCodec.decode(Everything.self, from: bytes) }
        #expect(error.code == .invalidArgument)
    }

    @Test func aMessageBeyondTheBudgetIsRefusedNotAllocated() throws {
        let big = Everything(rString: Array(repeating: String(repeating: "x", count: 100), count: 200))
        let bytes = try MessageCodec.encode(big)
        let error = try #require(throws: RPCError.self) {
            try MessageCodec.decode(Everything.self, from: bytes, limits: CodecLimits(unpackBudget: 4096))
        }
        #expect(error.code == .resourceExhausted)
        #expect(try MessageCodec.decode(Everything.self, from: bytes) == big)
    }

    @Test func listsLongerThanTheLimitAreRefused() throws {
        let bytes = try MessageCodec.encode(Everything(rInt32: Array(repeating: 1, count: 50)))
        let error = try #require(throws: RPCError.self) {
            try MessageCodec.decode(Everything.self, from: bytes, limits: CodecLimits(maxListLength: 10))
        }
        #expect(error.violations.first?.field == "rInt32")
    }

    @Test func unknownFieldsAreSkipped() throws {
        // Field 99 (varint) followed by f_int32 = 5.
        #expect(
            try MessageCodec.decode(Everything.self, from: [0x98, 0x06, 0x01, 0x08, 0x05]) == Everything(fInt32: 5))
    }

    @Test func twoMembersOfOneOneofAreRefusedWhenEncoding() throws {
        let error = try #require(throws: RPCError.self) { try MessageCodec.encode(Everything(cText: "a", cNumber: 2)) }
        #expect(error.code == .invalidArgument)
    }

    @Test func stringsWithNULCannotBeEncoded() throws {
        #expect(throws: RPCError.self) { try MessageCodec.encode(Everything(fString: "a\u{0}b")) }
    }
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}
