import AccessCore
import NIOCore
import NIOTestUtils
import Testing

@testable import AccessWire

@Suite struct FrameCodecTests {
    let request = Frame.request(
        RequestFrame(
            callID: 7, method: "/akto.rpc.v1.Health/Check", timeoutMilliseconds: 1500,
            metadata: [MetadataEntry("x-request-id", "abc")], payload: [0x0A, 0x03, 0x61, 0x70, 0x69]))
    let goAway = Frame.goAway(
        status: Status(
            code: .resourceExhausted, message: "frame too large",
            violations: [FieldViolation(field: "f", description: "d")]),
        lastCallID: 41)

    @Test func matchesProtocsGoldenBytes() throws {
        #expect(try FrameCodec.encode(request) == Fixture.bytes("request-frame"))
        #expect(try FrameCodec.decode(Fixture.bytes("request-frame")) == request)
        #expect(try FrameCodec.encode(goAway) == Fixture.bytes("goaway-frame"))
        #expect(try FrameCodec.decode(Fixture.bytes("goaway-frame")) == goAway)
    }

    @Test(arguments: [
        Frame.cancel(callID: 3), .ping(nonce: .max), .pong(nonce: 0),
        .response(ResponseFrame(callID: 1, status: .ok, metadata: [MetadataEntry("k", "v")], payload: [1, 2, 3])),
        .response(ResponseFrame(callID: 2, status: Status(code: .notFound, message: "nope"))),
    ])
    func roundTrips(frame: Frame) throws {
        #expect(try FrameCodec.decode(FrameCodec.encode(frame)) == frame)
    }

    @Test func anEmptyFrameIsAnError() throws {
        #expect(throws: RPCError.self) { try FrameCodec.decode([]) }
    }

    /// The direct envelope reader (fields read from protobuf-c's C structs) against the descriptor walker on
    /// random frames and their mutations: the same frame, or the same refusal with the same message.
    @Test func theDirectEnvelopeReaderAgreesWithTheValueTree() throws {
        var random = SplitMix(seed: 0xF4A3_E5)
        var refused = 0
        for round in 0..<3000 {
            let frame = randomFrame(&random)
            let encoded = try FrameCodec.encode(frame)
            #expect(try FrameCodec.decode(encoded) == frame)
            let body = round % 3 == 0 ? encoded : mutated(encoded, &random)
            let direct = Result { try FrameCodec.decode(body) }
            let tree = Result { try body.withUnsafeBytes { try FrameCodec.decodeThroughValueTree($0) } }
            switch (direct, tree) {
            case (.success(let a), .success(let b)): #expect(a == b, "\(body)")
            case (.failure(let a), .failure(let b)):
                refused += 1
                #expect("\(a)" == "\(b)", "\(body)")
            default: Issue.record("the readers disagree on \(body): \(direct) / \(tree)")
            }
        }
        #expect(refused > 100)
    }

    @Test(
        arguments: [
            // request { method: "a\0" }
            [0x0A, 0x04, 0x12, 0x02, 0x61, 0x00],
            // request { metadata: [{ key: "k", value: "\xff" }] }
            [0x0A, 0x08, 0x22, 0x06, 0x0A, 0x01, 0x6B, 0x12, 0x01, 0xFF],
            // response { status: { violations: [{ field: "\xc3" }] } }
            [0x12, 0x07, 0x12, 0x05, 0x1A, 0x03, 0x0A, 0x01, 0xC3],
            // go_away { status: { message: "\0" } }
            [0x32, 0x05, 0x0A, 0x03, 0x12, 0x01, 0x00],
        ] as [[UInt8]])
    func refusesABadStringNamingItsPath(body: [UInt8]) throws {
        let direct = try #require(throws: RPCError.self) { try FrameCodec.decode(body) }
        let tree = try #require(throws: RPCError.self) {
            try body.withUnsafeBytes { try FrameCodec.decodeThroughValueTree($0) }
        }
        #expect(
            direct.code == .invalidArgument && direct.message == tree.message && direct.violations == tree.violations)
    }

    @Test func refusesMoreMetadataThanTheListLimit() throws {
        var limits = CodecLimits.default
        limits.maxListLength = 3
        let frame = Frame.request(
            RequestFrame(callID: 1, method: "/a/b", metadata: (0..<4).map { MetadataEntry("k\($0)", "v") }))
        let error = try #require(throws: RPCError.self) {
            try FrameCodec.decode(FrameCodec.encode(frame), limits: limits)
        }
        #expect(error.violations.first?.field == "request.metadata")
    }
}

private func randomText(_ random: inout SplitMix) -> String {
    ["", "k", "x-api-key", "héllo", "/akto.rpc.v1.Health/Check", "🙂🙂", String(repeating: "m", count: 70)][
        random.below(7)]
}

private func randomStatus(_ random: inout SplitMix) -> Status {
    Status(
        code: StatusCode(wireValue: UInt32(random.below(17))), message: randomText(&random),
        violations: (0..<random.below(3)).map { _ in
            FieldViolation(field: randomText(&random), description: randomText(&random))
        })
}

private func randomFrame(_ random: inout SplitMix) -> Frame {
    let metadata = (0..<random.below(4)).map { _ in MetadataEntry(randomText(&random), randomText(&random)) }
    let payload = (0..<random.below(8)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    switch random.below(6) {
    case 0:
        return .request(
            RequestFrame(
                callID: UInt32(truncatingIfNeeded: random.next()), method: randomText(&random),
                timeoutMilliseconds: UInt32(random.below(100_000)), metadata: metadata, payload: payload))
    case 1:
        return .response(
            ResponseFrame(
                callID: UInt32(truncatingIfNeeded: random.next()), status: randomStatus(&random), metadata: metadata,
                payload: payload))
    case 2: return .cancel(callID: UInt32(truncatingIfNeeded: random.next()))
    case 3: return .ping(nonce: random.next())
    case 4: return .pong(nonce: random.next())
    default: return .goAway(status: randomStatus(&random), lastCallID: UInt32(truncatingIfNeeded: random.next()))
    }
}

private func mutated(_ bytes: [UInt8], _ random: inout SplitMix) -> [UInt8] {
    var out = bytes
    switch random.below(3) {
    case 0 where !out.isEmpty: out[random.below(out.count)] = UInt8(truncatingIfNeeded: random.next())
    case 1:
        out.insert(
            [0x00, 0xFF, 0xC3, UInt8(truncatingIfNeeded: random.next())][random.below(4)],
            at: random.below(out.count + 1))
    default: if !out.isEmpty { out.removeLast(1 + random.below(out.count)) }
    }
    return out
}

@Suite struct FrameDecoderTests {
    private func framed(_ frame: Frame) throws -> ByteBuffer {
        ByteBuffer(bytes: try FrameEncoder.bytes(of: frame))
    }

    @Test func decodesWholeByteByByteAndAllAtOnce() throws {
        let frames: [Frame] = [
            .ping(nonce: 1), .cancel(callID: 9), .request(RequestFrame(callID: 2, method: "/a/b", payload: [1])),
            .response(ResponseFrame(callID: 2, status: Status(code: .notFound, message: "x"))),
        ]
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: try frames.map { (try framed($0), [InboundFrame.frame($0)]) },
            decoderFactory: { FrameDecoder(expectPreface: false, maxFrameSize: 1 << 20) })
    }

    @Test func decodesThePrefaceAndFramesFedOneByteAtATime() throws {
        var input = Preface.bytes
        input += try FrameEncoder.bytes(of: .ping(nonce: 5)) + FrameEncoder.bytes(of: .cancel(callID: 1))
        var decoder = FrameDecoder(expectPreface: true, maxFrameSize: 1 << 20)
        var buffer = ByteBuffer()
        var output: [InboundFrame] = []
        for byte in input {
            buffer.writeInteger(byte)
            while let frame = try decoder.decode(buffer: &buffer) { output.append(frame) }
        }
        #expect(output == [.frame(.ping(nonce: 5)), .frame(.cancel(callID: 1))])
    }

    @Test func rejectsAnOversizedLengthFromTheHeaderAlone() throws {
        var decoder = FrameDecoder(expectPreface: false, maxFrameSize: 1 << 20)
        var buffer = ByteBuffer(bytes: [0x80, 0x00, 0x00, 0x00])  // 2 GiB, and no body at all
        let result = try decoder.decode(buffer: &buffer)
        guard case .protocolError(let status)? = result else {
            Issue.record("expected a protocol error, got \(String(describing: result))")
            return
        }
        #expect(status.code == .resourceExhausted)
        var more = ByteBuffer(bytes: [1, 2, 3])
        #expect(try decoder.decode(buffer: &more) == nil)  // everything after the error is discarded
        #expect(more.readableBytes == 0)
    }

    @Test func rejectsABadPrefaceFromItsFirstByte() throws {
        var decoder = FrameDecoder(expectPreface: true, maxFrameSize: 1 << 20)
        var buffer = ByteBuffer(bytes: Array("GET".utf8))
        guard case .protocolError(let status)? = try decoder.decode(buffer: &buffer) else {
            Issue.record("expected a protocol error")
            return
        }
        #expect(status.code == .invalidArgument)
    }

    @Test func waitsForAPartialPreface() throws {
        var decoder = FrameDecoder(expectPreface: true, maxFrameSize: 1 << 20)
        var buffer = ByteBuffer(bytes: Array(Preface.bytes.prefix(5)))
        #expect(try decoder.decode(buffer: &buffer) == nil)
    }

    @Test func reportsAnUndecodableBody() throws {
        var decoder = FrameDecoder(expectPreface: false, maxFrameSize: 1 << 20)
        var buffer = ByteBuffer(bytes: [0, 0, 0, 3, 0xFF, 0xFF, 0xFF])
        guard case .protocolError(let status)? = try decoder.decode(buffer: &buffer) else {
            Issue.record("expected a protocol error")
            return
        }
        #expect(status.code == .invalidArgument)
        #expect(status.message.hasPrefix("undecodable frame"))
    }
}

/// `EnvelopeWriter` (the direct encoder every response and request goes through) against protobuf-c's packer.
@Suite struct EnvelopeWriterTests {
    static let frames: [Frame] = {
        var frames: [Frame] = [
            .cancel(callID: 0), .cancel(callID: .max), .ping(nonce: 0), .ping(nonce: .max), .pong(nonce: 1 << 35),
            .goAway(status: .ok, lastCallID: 0),
            .goAway(
                status: Status(
                    code: .unavailable, message: "bye", violations: [FieldViolation(field: "", description: "")]),
                lastCallID: 128),
            .request(RequestFrame(callID: 0, method: "")),
            .request(
                RequestFrame(
                    callID: 300, method: "/akto.access.v1.RoleService/UpdateCustomRole", timeoutMilliseconds: 16_384,
                    metadata: [MetadataEntry("x-api-key", "k"), MetadataEntry("", ""), MetadataEntry("é", "→ ✓")],
                    payload: Array(repeating: 7, count: 20_000))),
            .response(ResponseFrame(callID: 1, status: .ok)),
            .response(
                ResponseFrame(
                    callID: .max,
                    status: Status(
                        code: .invalidArgument, message: "roleName: is required",
                        violations: [
                            FieldViolation(field: "roleName", description: "is required"),
                            FieldViolation(field: "baseRole", description: String(repeating: "x", count: 200)),
                        ]), metadata: [MetadataEntry("x-request-id", "0123456789abcdef")])),
            .response(ResponseFrame(callID: 5, status: .ok, metadata: [], payload: Array(0...255))),
        ]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let metadata = (0..<Int.random(in: 0...3, using: &generator)).map { i in
                MetadataEntry("k\(i)", String(repeating: "v", count: Int.random(in: 0...150, using: &generator)))
            }
            let payload = (0..<Int.random(in: 0...400, using: &generator)).map { _ in
                UInt8.random(in: 0...255, using: &generator)
            }
            let code = StatusCode.allCases.randomElement(using: &generator)!
            frames.append(
                .response(
                    ResponseFrame(
                        callID: UInt32.random(in: 0...UInt32.max, using: &generator),
                        status: Status(code: code, message: code == .ok ? "" : "m\(code)"), metadata: metadata,
                        payload: payload)))
        }
        return frames
    }()

    @Test func writesExactlyWhatProtobufCPacks() throws {
        for frame in Self.frames {
            let direct = try FrameCodec.encode(frame)
            #expect(direct == (try FrameCodec.encodeWithProtobufC(frame)), "\(frame)")
            #expect(try FrameCodec.decode(direct) == frame)
        }
    }

    @Test func refusesNULInStringsLikeTheGenericPath() {
        let frame = Frame.response(ResponseFrame(callID: 1, status: Status(code: .internal, message: "a\u{0}b")))
        #expect(throws: RPCError.self) { try FrameCodec.encode(frame) }
        #expect(throws: RPCError.self) { try FrameCodec.encodeWithProtobufC(frame) }
    }
}
