import Testing

@testable import AccessCore

@Suite struct JSONValueTests {
    @Test(arguments: [
        "", "{", "{\"a\":}", "{\"a\" 1}", "[1,]", "01", "1.", "-", "\"\\x\"", "\"\u{01}\"", "{\"a\":1,\"a\":2}",
        "nul", "\"\\ud800\"", "[] []",
    ])
    func rejectsMalformedJSON(text: String) {
        #expect(throws: RPCError.self) { try JSONValue.parse(text) }
    }

    @Test func enforcesTheDepthLimit() throws {
        let deep = String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
        #expect(throws: RPCError.self) { try JSONValue.parse(deep, maxDepth: 32) }
        #expect(try JSONValue.parse(deep, maxDepth: 40) != .null)
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: RPCError.self) { try JSONValue.parse([0x22, 0xFF, 0x22]) }
    }

    @Test func parsesAndWritesEscapes() throws {
        let value = try JSONValue.parse(
            #"{"s": "a\"b\\c\n\u00e9\ud83d\ude00</script>", "n": -1.5e3, "t": [true, false, null]}"#)
        #expect(value["s"] == .string("a\"b\\c\né😀</script>"))
        #expect(value["n"] == .number("-1.5e3"))
        let text = value.serialized()
        #expect(text.contains(#"\u003c/script\u003e"#))  // safe to embed in HTML
        #expect(try JSONValue.parse(text) == value)
        #expect(value.serialized(pretty: true).contains("\n  \"n\": -1.5e3"))
    }
}

@Suite struct Base64Tests {
    @Test(arguments: 0..<20)
    func roundTripsBothAlphabets(length: Int) {
        let bytes = (0..<length).map { UInt8(($0 * 37 + 11) & 0xFF) }
        #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        #expect(Base64.decode(Base64.encode(bytes, url: true)) == bytes)
    }

    @Test(arguments: ["a", "ab=c", "a===", "ab c", "abcde"])
    func rejectsImpossibleInput(text: String) {
        #expect(Base64.decode(text) == nil)
    }
}
