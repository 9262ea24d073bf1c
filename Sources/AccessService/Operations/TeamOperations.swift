import AccessCore
import AccessRPC

extension AccessService {
    /// Invitations stay valid this long.
    static let invitationLifetime: Int64 = 7 * 24 * 3600

    func registerTeamOperations(into registry: inout MethodRegistry) throws {
        try registry.register(
            Methods.TeamService.inviteUsers, policy: OperationPolicy(.inviteMembers, .readWrite, isInvite: true),
            service: self
        ) { request, caller, context in
            let email = try Validate.email(request.inviteeEmail, field: "inviteeEmail")
            let roles = try await roleMapping(
                request.scopeRoleMapping, fallback: request.inviteeRole, caller: caller, field: "scopeRoleMapping")
            let code = Secrets.token()
            let invitation = try await store.createInvitation(
                accountID: caller.accountID, email: email, inviterUserID: caller.userID, roles: roles,
                codeDigest: Secrets.digest(code), now: now, expiresAt: now + Self.invitationLifetime,
                audit: audit(caller, context, "InviteUsers"))
            return InviteUsersResponse(finalInviteCode: code, expiresAt: invitation.expiresAt)
        }
        try registry.register(
            Methods.TeamService.getTeamData, policy: OperationPolicy(.inviteMembers, .read), service: self
        ) { _, caller, _ in
            let members = try await store.teamMembers(accountID: caller.accountID)
            let invitations = try await store.invitations(accountID: caller.accountID)
            return GetTeamDataResponse(
                users: members.map { member in
                    TeamMember(
                        id: member.user.id, login: member.user.email, name: member.user.name,
                        role: member.roles[caller.scope] ?? BuiltinRole.noAccess.rawValue,
                        scopeRoleMapping: Self.wire(member.roles), lastLoginAt: member.lastLoginAt)
                },
                pendingInvitations: invitations.map { invitation in
                    PendingInvitation(
                        inviteeEmail: invitation.email, inviterEmail: invitation.inviterEmail,
                        scopeRoleMapping: Self.wire(invitation.roles), createdAt: invitation.createdAt,
                        expiresAt: invitation.expiresAt)
                })
        }
        try registry.register(
            Methods.TeamService.removeUser, policy: OperationPolicy(.adminActions, .readWrite), service: self
        ) { request, caller, context in
            let (user, _) = try await manageableMember(request.email, caller: caller, scopes: Scope.allCases)
            try await store.removeMember(
                accountID: caller.accountID, userID: user.id,
                audit: audit(caller, context, "RemoveUser", target: "user:\(user.id)"))
            return RemoveUserResponse()
        }
        try registry.register(
            Methods.TeamService.removeInvitation, policy: OperationPolicy(.inviteMembers, .readWrite, isInvite: true),
            service: self
        ) { request, caller, context in
            let email = try Validate.email(request.email)
            // Only the active account is searched (Akto looks across all accounts).
            guard let invitation = try await store.invitation(accountID: caller.accountID, email: email) else {
                throw RPCError(.notFound, "no pending invitation for that e-mail in this account")
            }
            guard invitation.inviterUserID == caller.userID || caller.baseRole == .admin else {
                throw RPCError(.permissionDenied, "only the inviter or an ADMIN can remove this invitation")
            }
            try await store.deleteInvitation(
                id: invitation.id, audit: audit(caller, context, "RemoveInvitation", target: "invitation:\(email)"))
            return RemoveInvitationResponse()
        }
        try registry.register(
            Methods.TeamService.makeAdmin, policy: OperationPolicy(.adminActions, .readWrite), service: self
        ) { request, caller, context in
            let role = try await resolveRole(request.userRole, accountID: caller.accountID, field: "userRole")
            let (user, _) = try await manageableMember(request.email, caller: caller, scopes: [caller.scope])
            try requireInHierarchy(caller, role.base, role.name)
            try await store.setMemberRoles(
                accountID: caller.accountID, userID: user.id, roles: [caller.scope: role.name],
                audit: audit(caller, context, "MakeAdmin", target: "user:\(user.id) \(caller.scope.rawValue)=\(role.name)"))
            return MakeAdminResponse(email: user.email, userRole: role.name)
        }
        try registry.register(
            Methods.TeamService.updateUserScopeRoleMapping, policy: OperationPolicy(.adminActions, .readWrite),
            service: self
        ) { request, caller, context in
            let (user, _) = try await manageableMember(request.email, caller: caller, scopes: Scope.allCases)
            let mapping = try await roleMapping(
                request.scopeRoleMapping, fallback: "", caller: caller, field: "scopeRoleMapping")
            try await store.setMemberRoles(
                accountID: caller.accountID, userID: user.id, roles: mapping,
                audit: audit(caller, context, "UpdateUserScopeRoleMapping", target: "user:\(user.id)"))
            return UpdateUserScopeRoleMappingResponse(scopeRoleMapping: Self.wire(mapping))
        }
    }

    /// Signup with an invite code: the invitee joins with the invitation's roles.
    func signupInvitee(_ request: SignupRequest, email: String, name: String, password: String, _ context: CallContext)
        async throws -> SignupResponse
    {
        let token = Secrets.token()
        let expiresAt = now + configuration.sessionLifetime.components.seconds
        let joined = try await store.acceptInvitation(
            codeDigest: Secrets.digest(request.inviteCode.trimmed), email: email, name: name,
            passwordHash: try await hasher.hash(password), sessionDigest: Secrets.digest(token), now: now,
            sessionExpiresAt: expiresAt, audit: audit(nil, context, "Signup", target: "user:\(email)"))
        return SignupResponse(
            user: userInfo(joined.user), activeAccountId: joined.accountID, sessionToken: token, expiresAt: expiresAt)
    }

    static func wire(_ roles: [Scope: String]) -> [String: String] {
        Dictionary(uniqueKeysWithValues: roles.map { ($0.key.rawValue, $0.value) })
    }
}
