/// An API component's exposure, as SPEC.md's ApplyAccessType computes it from traffic samples.
public enum AccessType: String, Sendable, Hashable, CaseIterable, Codable, Comparable {
    case `public` = "PUBLIC"
    case `private` = "PRIVATE"
    case partner = "PARTNER"
    case thirdParty = "THIRD_PARTY"

    public static func < (lhs: AccessType, rhs: AccessType) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One observed request, as far as classification needs it.
public struct TrafficObservation: Sendable, Hashable {
    public var sourceIP: String
    public var destinationIP: String
    public var isOutgoing: Bool
    /// Header names in lower case.
    public var headers: [String: String]

    public init(sourceIP: String, destinationIP: String, isOutgoing: Bool, headers: [String: String]) {
        self.sourceIP = sourceIP
        self.destinationIP = destinationIP
        self.isOutgoing = isOutgoing
        self.headers = headers
    }
}

/// Classifies samples (SPEC.md, ApplyAccessType), fixing Akto's holes: an IP is private when it is inside
/// **any** listed CIDR (IPv4 and IPv6); partner entries match exactly (an IP, or a CIDR), never by substring;
/// an empty CIDR list makes no IP private.
public struct AccessTypeClassifier: Sendable {
    /// Forwarding headers, in the order their values are considered.
    public static let forwardingHeaders = [
        "x-forwarded-for", "x-real-ip", "x-cluster-client-ip", "true-client-ip", "x-original-forwarded-for",
        "x-client-ip", "client-ip",
    ]

    let privateNetworks: [IPNetwork]
    let partnerNetworks: [IPNetwork]

    /// Entries that do not parse are ignored here; the settings operations refuse them on input.
    public init(privateCIDRs: [String], partnerEntries: [String]) {
        privateNetworks = privateCIDRs.compactMap(IPNetwork.init)
        partnerNetworks = partnerEntries.compactMap(IPNetwork.init)
    }

    /// The candidate IPs of a sample, in order: forwarding header values (comma-split), then source, then
    /// destination; ports stripped; empty, `null`, `0.0.0.0` and unparsable values skipped.
    public static func candidates(of sample: TrafficObservation) -> [IPAddress] {
        var raw: [String] = []
        for header in forwardingHeaders {
            if let value = sample.headers[header] { raw += value.split(separator: ",").map(String.init) }
        }
        raw.append(sample.sourceIP)
        raw.append(sample.destinationIP)
        return raw.compactMap { value in
            let text = stripPort(value.trimmingWhitespace)
            guard !text.isEmpty, text.lowercased() != "null", text != "0.0.0.0" else { return nil }
            return IPAddress(text)
        }
    }

    /// The access type of one sample, nil when it has no candidate.
    public func classify(_ sample: TrafficObservation) -> AccessType? {
        let candidates = Self.candidates(of: sample)
        guard !candidates.isEmpty else { return nil }
        var sawPartner = false
        for ip in candidates {
            let isPartner = partnerNetworks.contains { $0.contains(ip) }
            let isPrivate = privateNetworks.contains { $0.contains(ip) }
            if !isPartner && !isPrivate { return sample.isOutgoing ? .thirdParty : .public }
            sawPartner = sawPartner || isPartner
        }
        return sawPartner ? .partner : .private
    }

    /// A component's types: the union over its samples.
    public func classify(_ samples: [TrafficObservation]) -> Set<AccessType> {
        Set(samples.compactMap(classify))
    }

    /// `1.2.3.4:80` -> `1.2.3.4`; `[::1]:80` -> `::1`; bare IPv6 stays as it is.
    static func stripPort(_ value: String) -> String {
        if value.hasPrefix("["), let close = value.firstIndex(of: "]") {
            return String(value[value.index(after: value.startIndex)..<close])
        }
        let colons = value.filter { $0 == ":" }.count
        if colons == 1, let colon = value.firstIndex(of: ":") { return String(value[..<colon]) }
        return value
    }
}

/// SPEC.md's roll-up of component types to a collection label (ResetCollectionAccessTypes).
public enum CollectionAccessLabel {
    /// `Internal` if any component is PUBLIC, else `Third party` if any is PRIVATE or THIRD_PARTY, else nil (the
    /// label is left as it is).
    public static func label(for componentTypes: [Set<AccessType>]) -> String? {
        let all = componentTypes.reduce(into: Set<AccessType>()) { $0.formUnion($1) }
        if all.contains(.public) { return "Internal" }
        if all.contains(.private) || all.contains(.thirdParty) { return "Third party" }
        return nil
    }
}

extension String {
    var trimmingWhitespace: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
