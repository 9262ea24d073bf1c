import AccessCore
import Testing

@Suite struct AccessTypeClassifierTests {
    let classifier = AccessTypeClassifier(
        privateCIDRs: ["10.0.0.0/8", "192.168.0.0/16", "fd00::/8"], partnerEntries: ["203.0.113.7", "198.51.100.0/24"])

    private func sample(
        source: String = "", destination: String = "", outgoing: Bool = false, headers: [String: String] = [:]
    ) -> TrafficObservation {
        TrafficObservation(sourceIP: source, destinationIP: destination, isOutgoing: outgoing, headers: headers)
    }

    @Test(arguments: AccessTypeClassifier.forwardingHeaders)
    func everyForwardingHeaderIsACandidate(header: String) {
        // The header's public IP decides although the source is private.
        #expect(classifier.classify(sample(source: "10.1.1.1", headers: [header: "8.8.8.8"])) == .public)
    }

    @Test func headersComeInOrderThenSourceThenDestination() {
        let s = sample(
            source: "9.9.9.9", destination: "1.1.1.1",
            headers: ["client-ip": "4.4.4.4", "x-forwarded-for": "10.0.0.1, 10.0.0.2", "x-real-ip": "5.5.5.5"])
        #expect(
            AccessTypeClassifier.candidates(of: s).map(\.description) == [
                "10.0.0.1", "10.0.0.2", "5.5.5.5", "4.4.4.4", "9.9.9.9", "1.1.1.1",
            ])
    }

    @Test(arguments: [
        ("10.0.0.1:8080", "10.0.0.1"), ("[fd00::1]:443", "fd00:0:0:0:0:0:0:1"), ("fd00::1", "fd00:0:0:0:0:0:0:1"),
    ])
    func portsAreStripped(raw: String, expected: String) {
        #expect(AccessTypeClassifier.candidates(of: sample(source: raw)).map(\.description) == [expected])
    }

    @Test func emptyNullZeroAndGarbageAreSkipped() {
        let s = sample(source: "0.0.0.0", destination: "null", headers: ["x-forwarded-for": " , unknown, 999.1.1.1"])
        #expect(AccessTypeClassifier.candidates(of: s).isEmpty)
        #expect(classifier.classify(s) == nil)
        #expect(classifier.classify(sample()) == nil)
    }

    @Test func incomingPublicOutgoingThirdParty() {
        #expect(classifier.classify(sample(source: "8.8.8.8")) == .public)
        #expect(classifier.classify(sample(source: "8.8.8.8", outgoing: true)) == .thirdParty)
    }

    @Test func privateWhenEveryCandidateIsPrivatePartnerWhenAnyIsAPartner() {
        #expect(classifier.classify(sample(source: "10.2.3.4", destination: "192.168.1.1")) == .private)
        #expect(classifier.classify(sample(source: "10.2.3.4", destination: "203.0.113.7")) == .partner)
        #expect(classifier.classify(sample(source: "198.51.100.9")) == .partner)  // partner CIDR
    }

    @Test func partnersMatchExactlyNeverBySubstring() {
        // Akto matched "203.0.113.7" inside "203.0.113.70".
        #expect(classifier.classify(sample(source: "203.0.113.70")) == .public)
    }

    @Test func anyListedCIDRMakesAnIPPrivateNotOnlyTheFirst() {
        // Akto checked only the first CIDR.
        #expect(classifier.classify(sample(source: "192.168.5.5")) == .private)
    }

    @Test func ipv6CIDRsWork() {
        #expect(classifier.classify(sample(source: "fd12:3456::1")) == .private)
        #expect(classifier.classify(sample(source: "2001:db8::1")) == .public)
        #expect(classifier.classify(sample(source: "::ffff:10.0.0.1")) == .public)  // a v4-mapped v6 is not in 10/8
    }

    @Test func anEmptyCIDRListMakesNoIPPrivate() {
        let none = AccessTypeClassifier(privateCIDRs: [], partnerEntries: [])
        #expect(none.classify(sample(source: "10.0.0.1")) == .public)
        #expect(none.classify(sample(source: "127.0.0.1", outgoing: true)) == .thirdParty)
    }

    @Test func aComponentIsTheUnionOfItsSamples() {
        let types = classifier.classify([
            sample(source: "8.8.8.8"), sample(source: "10.0.0.1"), sample(source: "8.8.4.4", outgoing: true), sample(),
        ])
        #expect(types == [.public, .private, .thirdParty])
        #expect(classifier.classify([]).isEmpty)
    }

    @Test(
        arguments: [
            ([["PUBLIC"], ["PRIVATE"]], "Internal"), ([["PRIVATE"]], "Third party"),
            ([["THIRD_PARTY"], []], "Third party"),
            ([["PARTNER"]], nil), ([], nil),
        ] as [([[String]], String?)])
    func collectionLabelsRollUp(components: [[String]], label: String?) {
        let types = components.map { Set($0.compactMap(AccessType.init(rawValue:))) }
        #expect(CollectionAccessLabel.label(for: types) == label)
    }
}

@Suite struct IPAddressTests {
    @Test(arguments: [
        "1.2.3.4", "255.255.255.255", "::", "::1", "2001:db8::8a2e:370:7334", "fe80::1", "::ffff:1.2.3.4",
        "1:2:3:4:5:6:7:8",
    ])
    func parses(text: String) { #expect(IPAddress(text) != nil) }

    @Test(arguments: [
        "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.-4", "::1::", "1:2:3:4:5:6:7:8:9", "12345::", "g::1",
        "example.com",
    ])
    func refuses(text: String) { #expect(IPAddress(text) == nil) }

    @Test(arguments: [
        ("10.0.0.0/8", "10.255.1.2", true), ("10.0.0.0/8", "11.0.0.1", false), ("0.0.0.0/0", "8.8.8.8", true),
        ("192.168.1.128/25", "192.168.1.200", true), ("192.168.1.128/25", "192.168.1.100", false),
        ("fd00::/8", "fdff::1", true), ("fd00::/8", "fe00::1", false), ("1.2.3.4", "1.2.3.4", true),
        ("10.0.0.0/8", "::1", false),
    ])
    func networksContain(network: String, ip: String, expected: Bool) throws {
        let parsed = try #require(IPNetwork(network))
        #expect(parsed.contains(try #require(IPAddress(ip))) == expected)
    }

    @Test(arguments: ["10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0.0/a", "x/8"])
    func refusesBadNetworks(text: String) { #expect(IPNetwork(text) == nil) }
}
