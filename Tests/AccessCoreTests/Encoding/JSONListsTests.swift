import AccessCore
import Foundation
import Testing

/// The JSON lists the stores keep in text columns (a custom role's collection ids and feature names), written
/// and read without Foundation's coders: what Foundation wrote before still reads the same, what is written now
/// is JSON Foundation reads, and anything else is refused.
@Suite struct JSONListsTests {
    @Test(arguments: [[], [1], [Int32.min, -1, 0, 42, Int32.max]] as [[Int32]])
    func collectionIDsRoundTripAndMatchFoundation(ids: [Int32]) throws {
        let written = JSONValue.text(of: ids)
        #expect(JSONValue.int32List(written) == ids)
        #expect(try JSONDecoder().decode([Int32].self, from: Data(written.utf8)) == ids)
        let foundation = String(decoding: try JSONEncoder().encode(ids), as: UTF8.self)
        #expect(JSONValue.int32List(foundation) == ids)
    }

    @Test(arguments: [[], ["INVENTORY"], ["a/b", "quote \" and \\ backslash", "é ✓", "tab\t"]] as [[String]])
    func featureNamesRoundTripAndMatchFoundation(names: [String]) throws {
        let written = JSONValue.text(of: names)
        #expect(JSONValue.stringList(written) == names)
        #expect(try JSONDecoder().decode([String].self, from: Data(written.utf8)) == names)
        let foundation = String(decoding: try JSONEncoder().encode(names), as: UTF8.self)
        #expect(JSONValue.stringList(foundation) == names)
    }

    @Test func refusesWhatIsNotAListOfItsKind() {
        for text in ["", "[", "{}", "[1.5]", "[2147483648]", "[\"1\"]", "[null]", "1"] {
            #expect(JSONValue.int32List(text) == nil, "\(text)")
        }
        for text in ["", "[1]", "{\"a\":1}", "[null]", "\"a\""] {
            #expect(JSONValue.stringList(text) == nil, "\(text)")
        }
    }
}
