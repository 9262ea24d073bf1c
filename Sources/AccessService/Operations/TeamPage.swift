import AccessCore

/// GetTeamData's paging (<doc:Hardening>, AIP-158): members in user-id order, then pending invitations in e-mail order;
/// the token names the last item of the previous page (`m:<user id>` or `i:<e-mail>`, base64url), so items added
/// or removed between pages neither repeat nor shift the rest.
struct TeamPage {
    static let defaultSize = 100
    static let maxSize = 500

    enum Position: Equatable {
        case start
        case afterMember(Int32)
        case afterInvitation(String)
    }

    let size: Int
    let position: Position

    init(size: Int32, token: String) throws {
        guard size >= 0 else { throw RPCError.invalidField("pageSize", "must not be negative") }
        self.size = size == 0 ? Self.defaultSize : min(Int(size), Self.maxSize)
        guard !token.isEmpty else {
            position = .start
            return
        }
        guard token.utf8.count <= 1024, let bytes = Base64.decode(token),
            let text = String(validating: bytes, as: UTF8.self)
        else { throw RPCError.invalidField("pageToken", "is not a token this server issued") }
        if text.hasPrefix("m:"), let id = Int32(text.dropFirst(2)) {
            position = .afterMember(id)
        } else if text.hasPrefix("i:"), text.count > 2 {
            position = .afterInvitation(String(text.dropFirst(2)))
        } else {
            throw RPCError.invalidField("pageToken", "is not a token this server issued")
        }
    }

    /// This page's members and invitations, and the next page's token ("" when this is the last page).
    func slice(members: [TeamMemberRecord], invitations: [InvitationRecord])
        -> ([TeamMemberRecord], [InvitationRecord], String)
    {
        var pageMembers: [TeamMemberRecord] = []
        var pageInvitations: [InvitationRecord] = []
        switch position {
        case .start:
            pageMembers = Array(members.prefix(size))
        case .afterMember(let id):
            pageMembers = Array(members.drop { $0.user.id <= id }.prefix(size))
        case .afterInvitation:
            break
        }
        let room = size - pageMembers.count
        let membersDone: Bool
        switch position {
        case .afterInvitation: membersDone = true
        default: membersDone = pageMembers.last.map { last in !members.contains { $0.user.id > last.user.id } } ?? true
        }
        if membersDone && room > 0 {
            switch position {
            case .afterInvitation(let email):
                pageInvitations = Array(invitations.drop { $0.email <= email }.prefix(room))
            default: pageInvitations = Array(invitations.prefix(room))
            }
        }
        let next: String
        if let last = pageInvitations.last {
            next = invitations.contains { $0.email > last.email } ? Self.token("i:" + last.email) : ""
        } else if let last = pageMembers.last {
            let moreMembers = members.contains { $0.user.id > last.user.id }
            next = moreMembers || !invitations.isEmpty ? Self.token("m:\(last.user.id)") : ""
        } else {
            next = ""
        }
        return (pageMembers, pageInvitations, next)
    }

    static func token(_ text: String) -> String { Base64.encode(Array(text.utf8), url: true) }
}
