import AccessCore
import AccessWireTesting
import Testing

@testable import AccessWire

@Suite struct ProtoJSONTests {
    let schema: MessageSchema

    init() {
        TestingSchemas.install()
        schema = SchemaRegistry.shared.message("akto.testing.v1.Everything")!
    }

    private func decode(_ text: String) throws -> Everything {
        try MessageCodec.typed(Everything.self, from: ProtoJSON.decode(JSONValue.parse(text), schema: schema))
    }

    private func violation(_ text: String) throws -> FieldViolation? {
        let error = try #require(throws: RPCError.self) { try decode(text) }
        #expect(error.code == .invalidArgument)
        return error.violations.first
    }

    @Test func writesAktoStyleJSON() throws {
        let json = ProtoJSON.encode(try MessageCodec.messageValue(everything))
        #expect(json["fInt64"] == .number("-9007199254740993"))  // a number, never a lossy double or a string
        #expect(json["fUint64"] == .number("18446744073709551615"))
        #expect(json["fEnum"] == .string("COLOR_BLUE"))
        #expect(json["fBytes"] == .string("AAH/"))
        #expect(json["mString"] == .object([("alpha", .string("1")), ("beta", .string("2"))]))
        #expect(json["maybe"] == .number("0"))
        #expect(json["cNumber"] == nil)  // absent oneof members are left out
        let empty = ProtoJSON.encode(try MessageCodec.messageValue(Everything()))
        #expect(empty["rString"] == .array([]))  // lists are always present for browser code
        #expect(empty["fInt32"] == .number("0"))
        #expect(empty["fInner"] == nil)
    }

    @Test func aListWrapperIsABareArrayBothWays() throws {
        // GetAllUsersCollections: map<string, CollectionIdList> is Akto's `{"<userId>": [ids]}`.
        let schema = try #require(SchemaRegistry.shared.message("akto.access.v1.GetAllUsersCollectionsResponse"))
        #expect(try #require(SchemaRegistry.shared.message("akto.access.v1.CollectionIdList")).isListWrapper)
        #expect(!schema.isListWrapper)
        let response = GetAllUsersCollectionsResponse(usersCollectionList: ["12": CollectionIdList(values: [3, 4])])
        let json = try MessageCodec.wireToJSON(try MessageCodec.encode(response), schema: schema)
        #expect(json == .object([("usersCollectionList", .object([("12", .array([.number("3"), .number("4")]))]))]))
        let bytes = try MessageCodec.jsonToWire(Array(json.serialized().utf8), schema: schema)
        #expect(try MessageCodec.decode(GetAllUsersCollectionsResponse.self, from: bytes) == response)
    }

    @Test func jsonRoundTripsThroughProtobufBytes() throws {
        let json = ProtoJSON.encode(try MessageCodec.messageValue(everything)).serialized()
        let bytes = try MessageCodec.jsonToWire(Array(json.utf8), schema: schema)
        #expect(try MessageCodec.decode(Everything.self, from: bytes) == everything)
        #expect(try MessageCodec.wireToJSON(bytes, schema: schema).serialized() == json)
    }

    @Test func acceptsWhatAktoClientsSend() throws {
        let value = try decode(
            #"{"f_int32": "12", "fInt64": 9007199254740993, "fUint32": 1e3, "fEnum": 2, "rEnum": ["COLOR_RED"],"#
                + #" "fBytes": "AAH_", "fString": null, "someUnknownField": {"x": [1, 2]}, "fDouble": "NaN"}"#)
        #expect(value.fInt32 == 12)
        #expect(value.fInt64 == 9_007_199_254_740_993)
        #expect(value.fUint32 == 1000)
        #expect(value.fEnum == .green)
        #expect(value.rEnum == [.red])
        #expect(value.fBytes == [0, 1, 255])
        #expect(value.fString == "")
        #expect(value.fDouble.isNaN)
    }

    @Test(arguments: [
        (#"{"fInt32": 2147483648}"#, "fInt32", "is out of range (-2147483648...2147483647)"),
        (#"{"fUint32": -1}"#, "fUint32", "is out of range (0...4294967295)"),
        (#"{"fInt32": 1.5}"#, "fInt32", "must be an integer"),
        (#"{"fInt32": true}"#, "fInt32", "must be an integer"),
        (#"{"fBool": "true"}"#, "fBool", "must be true or false"),
        (#"{"fString": 5}"#, "fString", "must be a string"),
        (#"{"fString": "a\u0000b"}"#, "fString", "contains a NUL character"),
        (#"{"fBytes": "***"}"#, "fBytes", "must be a base64 string"),
        (#"{"fEnum": "PURPLE"}"#, "fEnum", "must be one of COLOR_UNSPECIFIED, COLOR_RED, COLOR_GREEN, COLOR_BLUE"),
        (#"{"rInt32": 5}"#, "rInt32", "must be an array"),
        (#"{"rInt32": [1, "x"]}"#, "rInt32[1]", "must be an integer"),
        (#"{"fInner": {"weight": "heavy"}}"#, "fInner.weight", "must be an integer"),
        (#"{"mString": {"a": 1}}"#, "mString.a", "must be a string"),
        (#"{"cText": "a", "cNumber": 1}"#, "cNumber", "cannot be set together with cText"),
    ])
    func namesTheOffendingField(text: String, field: String, description: String) throws {
        #expect(try violation(text) == FieldViolation(field: field, description: description))
    }

    @Test func aBodyThatIsNotAnObjectIsRefused() throws {
        #expect(try violation("[1]")?.field == "(body)")
    }
}
