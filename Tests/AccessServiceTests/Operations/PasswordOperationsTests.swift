import AccessCore
import AccessRPC
import AccessWire
import Synchronization
import Testing

@testable import AccessService

@Suite struct PasswordOperationsTests {
    @Test func anAdminResetsAMembersPasswordOnce() async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        let member = try await h.addMember(email: "m@example.com", role: "MEMBER", password: "OldPass123-horse")
        let reset = try await h.call(
            Methods.TeamService.resetUserPassword, ResetUserPasswordRequest(userEmail: "M@example.com"), admin)
        #expect(reset.passwordResetToken.count == 43)
        #expect(reset.passwordResetUrl == "https://app.example.com/login?token=" + reset.passwordResetToken)
        #expect(!(try h.databaseBytes()).contains(reset.passwordResetToken))

        _ = try await h.call(
            Methods.SessionService.resetPassword,
            ResetPasswordRequest(token: reset.passwordResetToken, newPassword: "NewPass456-horse"))
        // The member's sessions are revoked and the new password works.
        #expect(try await h.code(Methods.SessionService.me, MeRequest(), member) == .unauthenticated)
        #expect(
            try await h.code(
                Methods.SessionService.login, LoginRequest(email: "m@example.com", password: "OldPass123-horse"))
                == .unauthenticated)
        #expect(
            try await h.code(
                Methods.SessionService.login, LoginRequest(email: "m@example.com", password: "NewPass456-horse")) == .ok
        )
        // Second use fails.
        #expect(
            try await h.code(
                Methods.SessionService.resetPassword,
                ResetPasswordRequest(token: reset.passwordResetToken, newPassword: "Other789x-horse"))
                == .permissionDenied)
    }

    @Test func twentyConcurrentUsesGiveExactlyOneSuccess() async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        _ = try await h.addMember(email: "m@example.com", role: "MEMBER")
        let token = try await h.call(
            Methods.TeamService.resetUserPassword, ResetUserPasswordRequest(userEmail: "m@example.com"), admin
        ).passwordResetToken
        let codes = try await withThrowingTaskGroup(of: StatusCode.self) { group in
            for i in 0..<20 {
                group.addTask {
                    try await h.code(
                        Methods.SessionService.resetPassword,
                        ResetPasswordRequest(token: token, newPassword: "Racer\(i)pass-horse"))
                }
            }
            return try await group.reduce(into: [StatusCode]()) { $0.append($1) }
        }
        #expect(codes.filter { $0 == .ok }.count == 1)
        #expect(codes.filter { $0 == .permissionDenied }.count == 19)
        #expect(try await h.auditCount("ResetPassword") == 1)
    }

    @Test func oneTokenPerTargetPerTwoHoursAndTokensExpire() async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        _ = try await h.addMember(email: "m@example.com", role: "MEMBER")
        let first = try await h.call(
            Methods.TeamService.resetUserPassword, ResetUserPasswordRequest(userEmail: "m@example.com"), admin)
        h.clock.advance(30 * 60)
        let tooSoon = try await #require(throws: RPCError.self) {
            try await h.call(
                Methods.TeamService.resetUserPassword, ResetUserPasswordRequest(userEmail: "m@example.com"), admin)
        }
        #expect(tooSoon.code == .resourceExhausted)
        #expect(tooSoon.message.contains("90 minutes"))
        h.clock.advance(90 * 60 + 1)
        // The first token has expired; a new one may be issued.
        #expect(
            try await h.code(
                Methods.SessionService.resetPassword,
                ResetPasswordRequest(token: first.passwordResetToken, newPassword: "Late1234x-horse"))
                == .permissionDenied)
        #expect(
            try await h.code(
                Methods.TeamService.resetUserPassword, ResetUserPasswordRequest(userEmail: "m@example.com"), admin)
                == .ok)
    }

    @Test func targetsMustBeOtherMembersOfTheActiveAccount() async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        let other = try await h.call(
            Methods.AccountService.createNewAccount, CreateNewAccountRequest(newAccountName: "Other"), admin)
        _ = try await h.addMember(email: "elsewhere@example.com", role: "MEMBER", accountID: other.newAccountId)
        _ = try await h.call(Methods.AccountService.goToAccount, GoToAccountRequest(newAccountId: 1_000_000), admin)
        let elsewhere = try await #require(throws: RPCError.self) {
            try await h.call(
                Methods.TeamService.resetUserPassword, ResetUserPasswordRequest(userEmail: "elsewhere@example.com"),
                admin)
        }
        let unknown = try await #require(throws: RPCError.self) {
            try await h.call(
                Methods.TeamService.resetUserPassword, ResetUserPasswordRequest(userEmail: "ghost@example.com"), admin)
        }
        #expect(elsewhere == unknown)
        #expect(elsewhere.code == .notFound)
        #expect(
            try await h.code(
                Methods.TeamService.resetUserPassword, ResetUserPasswordRequest(userEmail: "admin@example.com"), admin)
                == .failedPrecondition)
    }

    @Test func onlyAdminsIssueResetTokens() async throws {
        let h = try Harness()
        _ = try await h.signupAdmin()
        let member = try await h.addMember(email: "m@example.com", role: "MEMBER")
        #expect(
            try await h.code(
                Methods.TeamService.resetUserPassword, ResetUserPasswordRequest(userEmail: "admin@example.com"), member)
                == .permissionDenied)
    }

    @Test func theNewPasswordFollowsThePolicyAndARefusedOneLeavesTheTokenUsable() async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        _ = try await h.addMember(email: "jonathan@example.com", role: "MEMBER")
        let token = try await h.call(
            Methods.TeamService.resetUserPassword, ResetUserPasswordRequest(userEmail: "jonathan@example.com"), admin
        ).passwordResetToken
        for bad in ["short", "QWERTY123456", "my-JONATHAN-2026", String(repeating: "p", count: 129)] {
            let error = try await #require(throws: RPCError.self) {
                try await h.call(
                    Methods.SessionService.resetPassword, ResetPasswordRequest(token: token, newPassword: bad))
            }
            #expect(error.code == .invalidArgument && error.violations.first?.field == "newPassword", "\(bad)")
        }
        #expect(
            try await h.code(
                Methods.SessionService.resetPassword,
                ResetPasswordRequest(token: token, newPassword: "a long fine phrase")) == .ok)
        #expect(
            try await h.code(
                Methods.SessionService.resetPassword, ResetPasswordRequest(token: "x", newPassword: "short"))
                == .permissionDenied)
    }
}
