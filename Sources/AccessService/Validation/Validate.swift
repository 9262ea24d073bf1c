import AccessCore

/// Field rules shared by the operations. Each returns the normalised value or throws INVALID_ARGUMENT naming
/// the field.
enum Validate {
    /// An e-mail address: trimmed, lower-cased, at most 254 characters, one `@` between non-empty parts, a dot in
    /// the domain, no spaces or control characters.
    static func email(_ value: String, field: String = "email") throws -> String {
        let email = value.trimmed.lowercased()
        guard !email.isEmpty else { throw RPCError.invalidField(field, "is required") }
        guard email.count <= 254 else { throw RPCError.invalidField(field, "must be at most 254 characters") }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
            !parts[1].hasSuffix("."), email.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F })
        else { throw RPCError.invalidField(field, "is not an e-mail address") }
        return email
    }

    /// A new password (SPEC.md, ResetPassword and Signup; NIST SP 800-63B): 12-128 characters, no composition
    /// rules, not one of the most common passwords (any letter case), and not containing the e-mail's local part
    /// when that is 4 characters or more.
    static func password(_ value: String, email: String, field: String = "password") throws -> String {
        guard (12...128).contains(value.count) else { throw RPCError.invalidField(field, "must be 12-128 characters") }
        let lowered = value.lowercased()
        guard !commonPasswords.contains(lowered) else {
            throw RPCError.invalidField(field, "is one of the most common passwords; choose another")
        }
        let local = String(email.lowercased().prefix { $0 != "@" })
        guard local.count < 4 || !lowered.contains(local) else {
            throw RPCError.invalidField(field, "must not contain your e-mail's name")
        }
        return value
    }

    /// A user name: trimmed, 1-24 characters of letters, digits, spaces and hyphens.
    static func username(_ value: String, field: String = "username") throws -> String {
        let name = value.trimmed
        guard (1...24).contains(name.count) else { throw RPCError.invalidField(field, "must be 1-24 characters") }
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == " " || $0 == "-" }) else {
            throw RPCError.invalidField(field, "may contain only letters, digits, spaces and hyphens")
        }
        return name
    }

    /// An organization name: trimmed, 1-24 characters of letters, digits, spaces, dots, `&` and hyphens.
    static func organization(_ value: String, field: String = "organization") throws -> String {
        let name = value.trimmed
        guard (1...24).contains(name.count) else { throw RPCError.invalidField(field, "must be 1-24 characters") }
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || " .&-".contains($0) }) else {
            throw RPCError.invalidField(field, "may contain only letters, digits, spaces, dots, & and hyphens")
        }
        return name
    }
}

extension String {
    /// Without leading and trailing white space.
    /// Without leading and trailing whitespace (`Character.isWhitespace`). Most inputs have none: those are
    /// returned as they are, without building a new string (a profile of the durable mutation showed the
    /// reversed-collection copy at 6 % of its CPU).
    var trimmed: String {
        guard let first, let last, first.isWhitespace || last.isWhitespace else { return self }
        guard let start = firstIndex(where: { !$0.isWhitespace }), let end = lastIndex(where: { !$0.isWhitespace })
        else { return "" }
        return String(self[start...end])
    }
}
