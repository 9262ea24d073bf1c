/// Invitations (InviteUsers, RemoveInvitation, Signup with a code, AcceptInvitation): what an invitation may
/// grant, checked when it is made and again, against the inviter's current authority, when it is used.
public enum InvitationRules {
    public static let badCode = RPCError(.permissionDenied, "the invite code is invalid or has expired")
    public static let gone = RPCError(.notFound, "no pending invitation for that e-mail in this account")

    /// The roles an invitation asks for: a mapping (scopes left out get NO_ACCESS), or one role for every
    /// scope (nil: the account's default invite role, else MEMBER).
    public enum Requested: Sendable, Hashable {
        case mapping([RoleRequest])
        case everyScope(RoleRequest?)
    }

    public static func alreadyMember(_ email: String) -> RPCError {
        RPCError(.alreadyExists, "\(email) is already a member of this account")
    }

    public static func tooManyPending(_ max: Int) -> RPCError {
        RPCError(.failedPrecondition, "limit of \(max) pending invitations in this account reached; remove some first")
    }

    public static func tooManyPendingByInviter(_ max: Int) -> RPCError {
        RPCError(
            .failedPrecondition,
            "you have \(max) pending invitations in this account, the most one member may have; remove some first")
    }

    /// A new invitation: the invitee is not a member, the account is under its pending-invitation cap and the
    /// inviter under theirs, and the inviter may grant every role it carries. Returns the full scope -> role
    /// mapping to store.
    public static func create(
        inviter: Int32, inviteeIsMember: Bool, email: String, requested: Requested, pending: Int, maxPending: Int,
        pendingByInviter: Int = 0, maxPendingPerInviter: Int = .max, facts: AccountFacts
    ) throws -> [Scope: String] {
        let roles = try resolve(requested, facts: facts)
        try requireGrantable(roles, by: inviter, facts: facts)
        guard !inviteeIsMember else { throw alreadyMember(email) }
        guard pending < maxPending else { throw tooManyPending(maxPending) }
        guard pendingByInviter < maxPendingPerInviter else { throw tooManyPendingByInviter(maxPendingPerInviter) }
        return roles.mapValues(\.name)
    }

    /// Using an invitation: it exists, is unexpired and is for `email`, and its inviter could still make it
    /// now; anything else is an unusable code (one answer for all, so nothing is revealed).
    public static func accept(invitation: InvitationRecord?, email: String, now: Int64, facts: AccountFacts?) throws {
        guard let invitation, invitation.email == email, invitation.expiresAt > now, let facts,
            facts.accountID == invitation.accountID
        else { throw badCode }
        let roles = invitation.roles.mapValues { facts.role(named: $0) }
        do {
            try requireGrantable(roles, by: invitation.inviterUserID, facts: facts)
        } catch {
            throw badCode
        }
    }

    /// Removing a pending invitation: its inviter may, and so may whoever could have made it.
    public static func remove(actor: Int32, invitation: InvitationRecord?, facts: AccountFacts) throws {
        guard let invitation else { throw gone }
        guard invitation.inviterUserID != actor else { return }
        let roles = invitation.roles.mapValues { facts.role(named: $0) }
        for (scope, role) in roles where !role.isNoAccess {
            let actorRole = facts.role(of: actor, in: scope)
            guard actorRole.allows(.adminActions, .readWrite), Authority.mayGrant(actorRole, role) else {
                throw RPCError(
                    .permissionDenied, "only the inviter or an ADMIN of its scopes can remove this invitation")
            }
        }
    }

    /// Every scope's role; INVALID_ARGUMENT naming the field for an unknown one.
    static func resolve(_ requested: Requested, facts: AccountFacts) throws -> [Scope: EffectiveRole] {
        switch requested {
        case .mapping(let requests):
            var roles = Dictionary(uniqueKeysWithValues: Scope.allCases.map { ($0, EffectiveRole.noAccess) })
            for request in requests { roles[request.scope] = try request.resolve(in: facts) }
            return roles
        case .everyScope(let request):
            let role: EffectiveRole
            if let request {
                role = try request.resolve(in: facts)
            } else if let custom = facts.customRoles.values.sorted(by: { $0.name < $1.name })
                .first(where: \.isDefaultInviteRole)
            {
                role = EffectiveRole(custom)
            } else {
                role = EffectiveRole(name: BuiltinRole.member.rawValue, base: .member)
            }
            return Dictionary(uniqueKeysWithValues: Scope.allCases.map { ($0, role) })
        }
    }

    /// In every scope the invitation grants something (NO_ACCESS grants nothing), the inviter is a member whose
    /// role there allows inviting and may grant that role.
    static func requireGrantable(_ roles: [Scope: EffectiveRole], by inviter: Int32, facts: AccountFacts) throws {
        guard facts.isMember(inviter) else {
            throw RPCError(.permissionDenied, "the inviter is no longer a member of this account")
        }
        for scope in Scope.allCases {
            guard let role = roles[scope], !role.isNoAccess else { continue }
            let inviterRole = facts.role(of: inviter, in: scope)
            try Authority.require(inviterRole, .inviteMembers, .readWrite, in: scope)
            try Authority.requireGrant(inviterRole, role, in: scope, role.name)
        }
    }
}

extension InvitationRules {
    /// Who may join through a usable invitation: a new user only while the e-mail has no user (a user created
    /// meanwhile makes the code unusable, the same answer as any bad code); an existing one only when not a
    /// member already.
    public static func join(existingUser: Bool, isMember: Bool, email: String) throws {
        guard !existingUser else { throw badCode }
        guard !isMember else { throw alreadyMember(email) }
    }
}
