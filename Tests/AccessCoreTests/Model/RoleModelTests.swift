@testable import AccessCore
import Testing

@Suite struct RoleModelTests {
    @Test func noAccessKeepsOnlyUserActions() {
        for feature in Feature.allCases {
            #expect(BuiltinRole.noAccess.access(to: feature) == (feature == .userActions ? .readWrite : .none))
        }
    }

    @Test func onlyAdminMayAssignNoAccess() {
        for role in BuiltinRole.allCases {
            #expect(role.hierarchy.contains(.noAccess) == (role == .admin))
        }
    }

    @Test func everyRoleManagesItselfButNoAccess() {
        for role in BuiltinRole.allCases where role != .noAccess { #expect(role.hierarchy.contains(role)) }
    }

    @Test(arguments: ["admin", "Admin", "THREAT_VIEWER", "no_access"])
    func builtinNamesInAnyCase(name: String) { #expect(BuiltinRole.isBuiltinName(name)) }

    @Test func contextSourceDefaultsToAPIAcceptsOtherContextsAsNoScopeAndRefusesGarbage() throws {
        #expect(try Scope.fromContextSource(nil).scope == .api)
        #expect(try Scope.fromContextSource("dast").scope == .dast)
        // Akto's MCP and GEN_AI contexts are accepted and are no scope (NO_ACCESS).
        let mcp = try Scope.fromContextSource("MCP")
        #expect(mcp.scope == nil && mcp.name == "MCP")
        #expect(try Scope.fromContextSource("gen_ai").scope == nil)
        #expect(throws: RPCError.self) { try Scope.fromContextSource("MARS ROVER") }
        #expect(throws: RPCError.self) { try Scope.fromContextSource(String(repeating: "A", count: 33)) }
    }
}

@Suite struct ApiKeyFormatTests {
    @Test func crc32MatchesZlib() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([]) == 0)
    }

    @Test func generatedKeysAreWellFormedAndEveryCharacterMatters() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let key = ApiKeyFormat.generate(using: &generator)
            #expect(key.count == 51 && key.hasPrefix("akto_"))
            #expect(ApiKeyFormat.isWellFormed(key))
            var bytes = Array(key.utf8)
            let index = Int.random(in: 5..<bytes.count)
            bytes[index] = bytes[index] == UInt8(ascii: "a") ? UInt8(ascii: "b") : UInt8(ascii: "a")
            #expect(!ApiKeyFormat.isWellFormed(String(decoding: bytes, as: UTF8.self)))
        }
        #expect(!ApiKeyFormat.isWellFormed("akto_short"))
        #expect(!ApiKeyFormat.isWellFormed(String(repeating: "a", count: 51)))
        // A body character outside [A-Za-z0-9] is refused even with the checksum that matches it.
        for outsider in ["-", "_", "/", "@", "[", "`", "{", ":"] {
            let body = Array((outsider + String(repeating: "A", count: 39)).utf8)
            let forged = "akto_" + String(decoding: body, as: UTF8.self) + ApiKeyFormat.checksum(of: body)
            #expect(forged.utf8.count == 51 && !ApiKeyFormat.isWellFormed(forged), "\(outsider)")
        }
        // The right length in characters but not in bytes, and a key with another key's checksum.
        #expect(!ApiKeyFormat.isWellFormed("akto_" + String(repeating: "é", count: 40) + "AAAAAA"))
        let first = ApiKeyFormat.generate(using: &generator)
        let second = ApiKeyFormat.generate(using: &generator)
        #expect(
            !ApiKeyFormat.isWellFormed(String(first.prefix(45)) + String(second.suffix(6)))
                || first.suffix(6) == second.suffix(6))
    }
}
