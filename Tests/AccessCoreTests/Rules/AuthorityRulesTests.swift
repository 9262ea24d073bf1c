import AccessCore
import Testing

/// The authority rules as pure functions: argument tables, no database.
@Suite struct AuthorityRulesTests {
    static let limited = CustomRoleRecord(
        accountID: 1, name: "C1-ADMIN", baseRole: .admin, apiCollectionIDs: [1], isDefaultInviteRole: false,
        allowedFeatures: [], lastModifiedAt: 0)
    static let limitedMember = CustomRoleRecord(
        accountID: 1, name: "C12-MEMBER", baseRole: .member, apiCollectionIDs: [1, 2], isDefaultInviteRole: false,
        allowedFeatures: [], lastModifiedAt: 0)
    static let free = CustomRoleRecord(
        accountID: 1, name: "FREE-ADMIN", baseRole: .admin, apiCollectionIDs: [], isDefaultInviteRole: false,
        allowedFeatures: [], lastModifiedAt: 0)
    static let customRoles = [limited.name: limited, limitedMember.name: limitedMember, free.name: free]

    static func role(_ name: String) -> EffectiveRole { EffectiveRole.stored(name, customRoles: customRoles) }

    /// (actor's role, role granted or managed, allowed)
    @Test(arguments: [
        ("ADMIN", "ADMIN", true), ("ADMIN", "NO_ACCESS", true), ("ADMIN", "C1-ADMIN", true),
        ("MEMBER", "GUEST", true), ("MEMBER", "ADMIN", false), ("MEMBER", "NO_ACCESS", false),
        ("GUEST", "MEMBER", false), ("THREAT_VIEWER", "MEMBER", true), ("NO_ACCESS", "GUEST", false),
        // Limited to collection 1: only NO_ACCESS or roles limited to a subset of {1}.
        ("C1-ADMIN", "NO_ACCESS", true), ("C1-ADMIN", "C1-ADMIN", true), ("C1-ADMIN", "MEMBER", false),
        ("C1-ADMIN", "ADMIN", false), ("C1-ADMIN", "C12-MEMBER", false), ("C1-ADMIN", "FREE-ADMIN", false),
        ("C12-MEMBER", "C1-ADMIN", false), ("C12-MEMBER", "GUEST", false), ("C12-MEMBER", "NO_ACCESS", false),
        ("FREE-ADMIN", "MEMBER", true), ("UNKNOWN", "GUEST", false),
    ])
    func mayGrant(actor: String, role: String, allowed: Bool) {
        #expect(Authority.mayGrant(Self.role(actor), Self.role(role)) == allowed)
    }

    static func facts(
        _ members: [Int32: [Scope: String]], owner: Int32? = 1, apiRoles: [Int32: String]? = nil, account: Int32 = 1
    ) -> AccountFacts {
        AccountFacts(
            accountID: account, organizationID: "org", ownerUserID: owner, customRoles: customRoles, members: members,
            apiRoles: apiRoles ?? members.compactMapValues { $0[.api] })
    }

    static func everywhere(_ role: String) -> [Scope: String] {
        Dictionary(uniqueKeysWithValues: Scope.allCases.map { ($0, role) })
    }

    /// (actor, target, patch, expected code): owner 1 and admins 2, 3 everywhere; 4 ADMIN only in DAST; 5 MEMBER.
    @Test(arguments: [
        (Int32(2), Int32(5), [Scope.api: "ADMIN"], StatusCode.ok),
        (2, 1, [.api: "GUEST"], .permissionDenied),  // the owner
        (2, 2, [.api: "GUEST"], .failedPrecondition),  // oneself
        (2, 99, [.api: "GUEST"], .notFound),
        (4, 5, [.api: "ADMIN"], .permissionDenied),  // DAST's admin in the API scope
        (4, 5, [.dast: "GUEST"], .ok),
        (4, 5, [.dast: "GUEST", .api: "GUEST"], .permissionDenied),  // one refused scope refuses all
        (5, 4, [.dast: "GUEST"], .permissionDenied),  // a MEMBER manages no ADMIN
        (2, 5, [.api: "KING"], .invalidArgument),
        (1, 3, [.api: "C1-ADMIN"], .ok),
    ])
    func roleChanges(actor: Int32, target: Int32, patch: [Scope: String], expected: StatusCode) {
        let facts = Self.facts([
            1: Self.everywhere("ADMIN"), 2: Self.everywhere("ADMIN"), 3: Self.everywhere("ADMIN"),
            4: [.api: "GUEST", .agentic: "GUEST", .endpoint: "GUEST", .dast: "ADMIN"], 5: Self.everywhere("MEMBER"),
        ])
        let requests = patch.map { RoleRequest(scope: $0.key, name: $0.value, field: "f") }
        let code: StatusCode
        do {
            _ = try MembershipRules.changeRoles(actor: actor, target: target, requests: requests, facts: facts)
            code = .ok
        } catch let error as RPCError {
            code = error.code
        } catch {
            code = .unknown
        }
        #expect(code == expected)
    }

    @Test func theLastAPIAdminStays() throws {
        let facts = Self.facts([1: Self.everywhere("ADMIN"), 2: Self.everywhere("MEMBER")], owner: nil)
        // 2 cannot demote 1 (MEMBER), and 1 cannot leave through a custom role that is not ADMIN-based.
        #expect(throws: RPCError.self) {
            try MembershipRules.requireAnAdmin(apiRoles: [1: "C12-MEMBER", 2: "MEMBER"], facts: facts)
        }
        try MembershipRules.requireAnAdmin(apiRoles: [1: "FREE-ADMIN"], facts: facts)
        #expect(throws: MembershipRules.lastAdmin) {
            try MembershipRules.remove(
                actor: 3, target: 1,
                facts: Self.facts(
                    [1: Self.everywhere("ADMIN"), 3: Self.everywhere("ADMIN")], owner: nil,
                    apiRoles: [1: "ADMIN", 3: "GUEST"]))
        }
    }

    /// Identity-wide: ADMIN, unrestricted, in every scope of every account of the target; never over the owner.
    @Test(arguments: [
        ([[Int32(2): everywhere("ADMIN"), 5: everywhere("MEMBER")]], true),
        ([[2: everywhere("ADMIN"), 5: everywhere("MEMBER")], [5: everywhere("MEMBER")]], false),  // not in the other
        ([[2: everywhere("ADMIN"), 5: everywhere("MEMBER")], [2: [.api: "ADMIN"], 5: everywhere("MEMBER")]], false),
        ([[2: everywhere("C1-ADMIN"), 5: everywhere("MEMBER")]], false),
        ([[2: everywhere("FREE-ADMIN"), 5: everywhere("MEMBER")]], true),
    ])
    func identityWide(accounts: [[Int32: [Scope: String]]], allowed: Bool) {
        let facts = accounts.enumerated().map { Self.facts($0.element, owner: 1, account: Int32($0.offset + 1)) }
        let granted = (try? Authority.requireIdentityWide(actor: 2, over: 5, accounts: facts)) != nil
        #expect(granted == allowed)
    }

    @Test func theOwnersPasswordIsTheirsAlone() {
        let facts = [Self.facts([1: Self.everywhere("ADMIN"), 2: Self.everywhere("ADMIN")], owner: 1)]
        #expect(throws: RPCError.self) { try Authority.requireIdentityWide(actor: 2, over: 1, accounts: facts) }
    }

    @Test func resetTokensAreJudgedByTheirIssuerWhenUsed() throws {
        let token = ResetTokenRules.Token(
            userID: 5, issuedBy: 2, accountID: 1, expiresAt: 100, isUsed: false, isRevoked: false)
        let live = [Self.facts([2: Self.everywhere("ADMIN"), 5: Self.everywhere("MEMBER")])]
        try ResetTokenRules.consume(token, now: 50, accounts: live)
        let issuerGone = [Self.facts([5: Self.everywhere("MEMBER")])]
        let issuerDemoted = [Self.facts([2: Self.everywhere("MEMBER"), 5: Self.everywhere("MEMBER")])]
        var revoked = token
        revoked.isRevoked = true
        var legacy = token
        legacy.accountID = nil
        for (candidate, accounts, now) in [
            (token, issuerGone, Int64(50)), (token, issuerDemoted, 50), (token, live, 100), (revoked, live, 50),
            (legacy, live, 50),
        ] {
            #expect(throws: ResetTokenRules.unusable) {
                try ResetTokenRules.consume(candidate, now: now, accounts: accounts)
            }
        }
    }

    @Test func invitationsAreJudgedByTheirInviterWhenUsed() throws {
        let invitation = InvitationRecord(
            id: 1, accountID: 1, email: "p@example.com", inviterUserID: 2, inviterEmail: "",
            roles: Self.everywhere("ADMIN"),
            createdAt: 0, expiresAt: 100)
        try InvitationRules.accept(
            invitation: invitation, email: "p@example.com", now: 50, facts: Self.facts([2: Self.everywhere("ADMIN")]))
        for (email, now, facts) in [
            ("p@example.com", Int64(50), Self.facts([:])),  // inviter removed
            ("p@example.com", 50, Self.facts([2: Self.everywhere("MEMBER")])),  // inviter demoted
            ("q@example.com", 50, Self.facts([2: Self.everywhere("ADMIN")])),  // someone else's code
            ("p@example.com", 100, Self.facts([2: Self.everywhere("ADMIN")])),  // expired
        ] {
            #expect(throws: InvitationRules.badCode) {
                try InvitationRules.accept(invitation: invitation, email: email, now: now, facts: facts)
            }
        }
        // Scopes the invitation leaves NO_ACCESS grant nothing, so a MEMBER may invite into its scope only.
        let roles = try InvitationRules.create(
            inviter: 5, inviteeIsMember: false, email: "n@example.com",
            requested: .mapping([RoleRequest(scope: .api, name: "GUEST", field: "f")]), pending: 0, maxPending: 10,
            facts: Self.facts([5: [.api: "MEMBER"]]))
        #expect(roles[.api] == "GUEST" && roles[.dast] == "NO_ACCESS")
        #expect(throws: RPCError.self) {
            try InvitationRules.create(
                inviter: 5, inviteeIsMember: false, email: "n@example.com", requested: .everyScope(nil), pending: 0,
                maxPending: 10, facts: Self.facts([5: [.api: "MEMBER"]]))
        }
        #expect(throws: InvitationRules.tooManyPending(10)) {
            try InvitationRules.create(
                inviter: 2, inviteeIsMember: false, email: "n@example.com", requested: .everyScope(nil), pending: 10,
                maxPending: 10, facts: Self.facts([2: Self.everywhere("ADMIN")]))
        }
    }

    @Test func customRolesNeedAnUnrestrictedAdmin() throws {
        let role = CustomRoleRecord(
            accountID: 1, name: "NEW", baseRole: .guest, apiCollectionIDs: [3], isDefaultInviteRole: false,
            allowedFeatures: [], lastModifiedAt: 0)
        let facts = Self.facts([
            2: Self.everywhere("ADMIN"), 3: Self.everywhere("C1-ADMIN"), 5: Self.everywhere("MEMBER"),
        ])
        try CustomRoleRules.create(role, actor: 2, scope: .api, facts: facts, collections: [3])
        #expect(throws: RPCError.self) {
            try CustomRoleRules.create(role, actor: 3, scope: .api, facts: facts, collections: [3])
        }
        #expect(throws: RPCError.self) {
            try CustomRoleRules.create(role, actor: 5, scope: .api, facts: facts, collections: [3])
        }
        #expect(throws: CustomRoleRules.unknownCollections([3])) {
            try CustomRoleRules.create(role, actor: 2, scope: .api, facts: facts, collections: [])
        }
        #expect(throws: CustomRoleRules.exists("C1-ADMIN")) {
            try CustomRoleRules.create(Self.limited, actor: 2, scope: .api, facts: facts, collections: [1])
        }
        var lifted = Self.limited
        lifted.apiCollectionIDs = []
        #expect(throws: RPCError.self) {
            try CustomRoleRules.update(lifted, actor: 3, scope: .api, facts: facts, collections: [1])
        }
        #expect(throws: CustomRoleRules.inUse("C1-ADMIN")) {
            try CustomRoleRules.delete(name: "C1-ADMIN", actor: 2, scope: .api, facts: facts, isInUse: true)
        }
    }

    @Test func onlyTheOwnerRenamesOrHandsOnTheOrganization() throws {
        #expect(try AccountRules.renameOrganization(actor: 2, ownerUserID: 1, current: "Org", requested: nil) == false)
        #expect(
            try AccountRules.renameOrganization(actor: 2, ownerUserID: 1, current: "Org", requested: "Org") == false)
        #expect(throws: AccountRules.ownerOnly) {
            try AccountRules.renameOrganization(actor: 2, ownerUserID: 1, current: "Org", requested: "New")
        }
        #expect(try AccountRules.renameOrganization(actor: 1, ownerUserID: 1, current: "Org", requested: "New"))
        try AccountRules.transferOwnership(actor: 1, ownerUserID: 1, newOwner: 2, newOwnerIsMember: true)
        #expect(throws: RPCError.self) {
            try AccountRules.transferOwnership(actor: 2, ownerUserID: 1, newOwner: 2, newOwnerIsMember: true)
        }
        #expect(throws: RPCError.self) {
            try AccountRules.transferOwnership(actor: 1, ownerUserID: 1, newOwner: 3, newOwnerIsMember: false)
        }
    }

    @Test func capsAreFailedPreconditions() {
        for cap in [
            { try AccountRules.createApiToken(live: 50, max: 50) },
            { try AccountRules.createAccount(memberships: 10, max: 10) },
        ] as [() throws -> Void] {
            #expect { try cap() } throws: { ($0 as? RPCError)?.code == .failedPrecondition }
        }
    }
}
