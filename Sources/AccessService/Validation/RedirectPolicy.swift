import AccessCore

/// Where a browser may be sent after an operation: a relative path on our own site, or an absolute http(s)
/// URL whose origin is allow-listed. Closes Akto's open redirect.
struct RedirectPolicy {
    let publicBaseURL: String
    let allowList: Set<String>

    /// The URL to use (nil when `value` is empty), or INVALID_ARGUMENT naming `field`.
    func validated(_ value: String, field: String) throws -> String? {
        let url = value.trimmed
        if url.isEmpty { return nil }
        guard url.count <= 2048, url.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            throw RPCError.invalidField(field, "must be at most 2048 printable ASCII characters")
        }
        if url.hasPrefix("/") {
            // "//host" and "/\host" are protocol-relative in browsers: another site.
            guard !url.hasPrefix("//"), !url.hasPrefix("/\\"), !url.contains("\\") else {
                throw RPCError.invalidField(field, "must be a path on this site or an allowed https URL")
            }
            return publicBaseURL.trimmingTrailingSlash + url
        }
        guard let origin = Self.origin(of: url), allowList.contains(origin) else {
            throw RPCError.invalidField(field, "must be a path on this site or a URL of an allowed origin")
        }
        return url
    }

    /// `scheme://host[:port]` of an http(s) URL, lower-cased; nil for anything else (userinfo included).
    static func origin(of url: String) -> String? {
        let lower = url.lowercased()
        let scheme: String
        if lower.hasPrefix("https://") {
            scheme = "https"
        } else if lower.hasPrefix("http://") {
            scheme = "http"
        } else {
            return nil
        }
        let rest = lower.dropFirst(scheme.count + 3)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.isEmpty, !authority.contains("@"), !authority.contains("\\") else { return nil }
        return scheme + "://" + authority
    }

    /// Percent-encodes everything but unreserved characters (RFC 3986).
    static func percentEncode(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}
