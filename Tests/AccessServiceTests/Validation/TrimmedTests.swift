import Testing

@testable import AccessService

/// `String.trimmed` (every validated name goes through it) keeps the meaning of the plain definition — drop
/// leading and trailing `Character.isWhitespace` — with its fast path for strings that need no trimming.
@Suite struct TrimmedTests {
    static func reference(_ text: String) -> String {
        String(text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }

    @Test(arguments: [
        "", " ", "   ", "a", " a", "a ", " a b ", "\t\nBENCH\r\n", "\u{3000}全角\u{3000}", "e\u{301} ", " \u{301}x",
        "\u{200B}zero-width\u{200B}", "x\u{85}", "\r\n",
    ])
    func trimmingMatchesThePlainDefinition(text: String) {
        #expect(text.trimmed == Self.reference(text))
    }
}
