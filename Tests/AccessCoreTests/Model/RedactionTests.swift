import AccessCore
import Testing

/// <doc:Hardening>: no description of a type that holds a secret carries it — generated messages (passwords,
/// tokens, keys, codes) and store records alike, in `description`, `debugDescription` and `dump`.
@Suite struct RedactionTests {
    static func renderings(_ value: Any) -> [String] {
        var dumped = ""
        dump(value, to: &dumped)
        return ["\(value)", String(reflecting: value), dumped]
    }

    @Test func generatedMessagesRedactTheirSecrets() {
        let secret = "hunter2-Secret-value"
        let values: [Any] = [
            LoginRequest(email: "a@example.com", password: secret),
            SignupRequest(email: "a@example.com", password: secret, inviteCode: secret, setupToken: secret),
            ResetPasswordRequest(token: secret, newPassword: secret),
            LoginResponse(sessionToken: secret),
            AddApiTokenResponse(apiTokenList: [ApiToken(id: 1, name: "ci", key: secret)]),
            InviteUsersResponse(finalInviteCode: secret),
            ResetUserPasswordResponse(passwordResetToken: secret, passwordResetUrl: "https://x/login?token=" + secret),
            AcceptInvitationRequest(inviteCode: secret),
        ]
        for value in values {
            for text in Self.renderings(value) {
                #expect(!text.contains(secret), "\(type(of: value)): \(text)")
                #expect(text.contains("<redacted>"), "\(type(of: value)): \(text)")
            }
        }
        // Fields that are not secrets still show.
        #expect("\(LoginRequest(email: "a@example.com", password: secret))".contains("a@example.com"))
    }

    @Test func userRecordsRedactTheirHash() {
        let user = UserRecord(
            id: 1, email: "a@example.com", name: "A", passwordHash: "scrypt$15$8$1$salt$hash", createdAt: 0)
        for text in Self.renderings(user) { #expect(!text.contains("scrypt$15")) }
    }
}
