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
            let requested: InvitationRules.Requested
            if request.scopeRoleMapping.isEmpty {
                let role = request.inviteeRole.trimmed
                requested = .everyScope(
                    role.isEmpty
                        ? nil
                        : try roleRequests(["API": role], field: "inviteeRole").first.map {
                            RoleRequest(scope: $0.scope, name: $0.name, field: "inviteeRole")
                        })
            } else {
                requested = .mapping(try roleRequests(request.scopeRoleMapping, field: "scopeRoleMapping"))
            }
            let code = Secrets.token()
            let invitation = try await store.createInvitation(
                accountID: caller.accountID, actorID: caller.userID, email: email, requested: requested,
                codeDigest: Secrets.digest(code), now: now, expiresAt: now + Self.invitationLifetime,
                maxPending: configuration.maxPendingInvitations,
                maxPendingPerInviter: configuration.maxPendingInvitationsPerInviter,
                audit: audit(caller, context, "InviteUsers"))
            // Akto's invite link (InviteUserAction), built on the configured public URL — never on the request's
            // websiteHostName, which would let an inviter send a link to another host.
            return InviteUsersResponse(
                finalInviteCode: InviteLink.link(base: configuration.publicBaseURL, code: code, email: email),
                expiresAt: invitation.expiresAt, inviteCode: code)
        }
        try registry.register(
            Methods.TeamService.getTeamData, policy: OperationPolicy(.inviteMembers, .read), service: self
        ) { request, caller, _ in
            let page = try TeamPage(size: request.pageSize, token: request.pageToken)
            let all = try await store.teamMembers(accountID: caller.accountID).sorted { $0.user.id < $1.user.id }
            let allInvitations = try await store.invitations(accountID: caller.accountID).sorted { $0.email < $1.email }
            let (members, invitations, next) = page.slice(members: all, invitations: allInvitations)
            let users = members.map { member in
                TeamMember(
                    id: member.user.id, login: member.user.email, name: member.user.name,
                    role: caller.scope.flatMap { member.roles[$0] } ?? BuiltinRole.noAccess.rawValue,
                    scopeRoleMapping: Self.wire(member.roles), lastLoginAt: member.lastLoginAt)
            }
            // Akto's rows for invitations (Users.jsx shows them and offers RemoveInvitation on them).
            let invitationRows = invitations.map { invitation in
                let role = caller.scope.flatMap { invitation.roles[$0] } ?? invitation.roles.values.sorted().first ?? ""
                return TeamMember(
                    login: invitation.email, name: "-", role: "Invitation sent for \(role)",
                    scopeRoleMapping: Self.wire(invitation.roles), isInvitation: true)
            }
            return GetTeamDataResponse(
                users: users,
                pendingInvitations: invitations.map { invitation in
                    PendingInvitation(
                        inviteeEmail: invitation.email, inviterEmail: invitation.inviterEmail,
                        scopeRoleMapping: Self.wire(invitation.roles), createdAt: invitation.createdAt,
                        expiresAt: invitation.expiresAt)
                }, nextPageToken: next, rows: users + invitationRows)
        }
        try registry.register(
            Methods.TeamService.removeUser, policy: OperationPolicy(.adminActions, .readWrite), service: self
        ) { request, caller, context in
            let email = try Validate.email(request.email)
            _ = try await store.removeMember(
                accountID: caller.accountID, actorID: caller.userID, email: email, now: now,
                audit: audit(caller, context, "RemoveUser"))
            return RemoveUserResponse()
        }
        try registry.register(
            Methods.TeamService.removeInvitation, policy: OperationPolicy(.inviteMembers, .readWrite, isInvite: true),
            service: self
        ) { request, caller, context in
            // Only the active account is searched (Akto looks across all accounts).
            let email = try Validate.email(request.email)
            try await store.deleteInvitation(
                accountID: caller.accountID, actorID: caller.userID, email: email,
                audit: audit(caller, context, "RemoveInvitation", target: "invitation:\(email)"))
            return RemoveInvitationResponse()
        }
        try registry.register(
            Methods.TeamService.makeAdmin, policy: OperationPolicy(.adminActions, .readWrite), service: self
        ) { request, caller, context in
            let scope = try caller.requireScope()
            let name = request.userRole.trimmed
            guard !name.isEmpty, name.count <= 64 else {
                throw RPCError.invalidField("userRole", "must be a role name (1-64 characters)")
            }
            let email = try Validate.email(request.email)
            let changed = try await store.setMemberRoles(
                accountID: caller.accountID, actorID: caller.userID, email: email,
                requests: [RoleRequest(scope: scope, name: name, field: "userRole")],
                audit: audit(caller, context, "MakeAdmin", target: "\(scope.rawValue)=\(name.uppercased())"))
            return MakeAdminResponse(email: changed.user.email, userRole: changed.roles[scope] ?? name.uppercased())
        }
        try registry.register(
            Methods.TeamService.updateUserScopeRoleMapping, policy: OperationPolicy(.adminActions, .readWrite),
            service: self
        ) { request, caller, context in
            let email = try Validate.email(request.email)
            let requests = try roleRequests(request.scopeRoleMapping, field: "scopeRoleMapping")
            let changed = try await store.setMemberRoles(
                accountID: caller.accountID, actorID: caller.userID, email: email, requests: requests,
                audit: audit(caller, context, "UpdateUserScopeRoleMapping"))
            return UpdateUserScopeRoleMappingResponse(scopeRoleMapping: Self.wire(changed.roles))
        }
        try registry.register(
            Methods.TeamService.acceptInvitation,
            policy: OperationPolicy(.userActions, .readWrite, sessionOnly: true, isInvite: true), service: self
        ) { request, caller, context in
            let code = InviteLink.code(from: request.inviteCode)
            guard !code.isEmpty, code.utf8.count <= 128 else {
                throw RPCError.invalidField("inviteCode", "is required")
            }
            let joined = try await store.acceptInvitation(
                codeDigest: Secrets.digest(code), joiner: .existingUser(id: caller.userID, email: caller.email),
                sessionDigest: nil, now: now, sessionExpiresAt: 0, audit: audit(caller, context, "AcceptInvitation"))
            let membership = try await store.membership(userID: caller.userID, accountID: joined.accountID)
            return AcceptInvitationResponse(
                accountId: joined.accountID, scopeRoleMapping: Self.wire(membership?.roles ?? [:]))
        }
    }

    /// Signup with an invite code: a new user joins with the invitation's roles; an existing one joins with
    /// their own password. A wrong password for an existing address answers exactly like a bad code, after the
    /// same password-hashing work, so the flow reveals nothing about users of other accounts.
    func signupInvitee(_ request: SignupRequest, email: String, name: String, password: String, _ context: CallContext)
        async throws -> SignupResponse
    {
        let joiner: Joiner
        if try await store.user(email: email) != nil {
            // A sign-in with the user's own password: the brute-force counters of Login apply (<doc:Hardening>).
            let existing: UserRecord
            do {
                existing = try await judgeSignIn(email: email, password: password, context)
            } catch let error as RPCError where error.code == .unauthenticated {
                throw InvitationRules.badCode
            }
            joiner = .existingUser(id: existing.id, email: existing.email)
        } else {
            joiner = .newUser(
                email: email, name: name, passwordHash: try await hasher.hash(password, for: hashCaller(context)))
        }
        let token = Secrets.token()
        let expiresAt = now + configuration.sessionLifetime.components.seconds
        let joined = try await store.acceptInvitation(
            codeDigest: Secrets.digest(InviteLink.code(from: request.inviteCode)), joiner: joiner,
            sessionDigest: Secrets.digest(token),
            now: now, sessionExpiresAt: expiresAt, audit: audit(nil, context, "Signup", target: "user:\(email)"))
        return SignupResponse(
            user: userInfo(joined.user), activeAccountId: joined.accountID, sessionToken: token, expiresAt: expiresAt)
    }
}
