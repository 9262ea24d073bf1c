import AccessCore
import AccessWire
import NIOCore

/// What the libFuzzer targets (`tools/fuzz`) feed each input through, here so that the test suite replays
/// every input a fuzzer ever flagged (`Tests/AccessWireTests/Fixtures/fuzz-regressions`) through the same code.
///
/// Rejections are the expected outcome for most inputs; a `Finding` is a broken invariant: a value the codec
/// accepted must survive encode → decode → encode with the same bytes.
public enum FuzzHarness {
    public enum Target: String, CaseIterable, Sendable {
        /// The socket's frame decoder (preface, length prefix, envelope); the first byte says whether the
        /// stream starts with the preface.
        case frame
        /// protobuf-c unpack + Swift conversion of every generated message type; the first byte picks the type.
        case message
        /// The gateway's JSON → Swift value conversion of every generated message type (and back); the first byte
        /// picks the type.
        case json
    }

    public struct Finding: Error, CustomStringConvertible {
        public let description: String
    }

    static let limits = CodecLimits.default

    public static func run(_ target: Target, _ bytes: [UInt8]) throws {
        TestingSchemas.install()
        switch target {
        case .frame: try frames(bytes)
        case .message: try message(bytes)
        case .json: try json(bytes)
        }
    }

    static func frames(_ bytes: [UInt8]) throws {
        guard let first = bytes.first else { return }
        try compareEnvelopeReaders(Array(bytes.dropFirst()))
        var decoder = FrameDecoder(expectPreface: first & 1 == 1, maxFrameSize: 1 << 16, limits: limits)
        var buffer = ByteBuffer(bytes: bytes.dropFirst())
        var frames: [Frame] = []
        do {
            while let inbound = try decoder.decode(buffer: &buffer) {
                if case .frame(let frame) = inbound { frames.append(frame) }
            }
            _ = try decoder.decodeLast(buffer: &buffer, seenEOF: true)
        } catch {
            // Rejected: fine; the frames decoded before the rejection are still checked.
        }
        for frame in frames {
            let encoded = try FrameCodec.encode(frame)
            let again = try FrameCodec.encode(try FrameCodec.decode(encoded, limits: limits))
            guard again == encoded else { throw Finding(description: "frame round trip changed \(frame)") }
        }
    }

    /// The direct envelope reader and the descriptor walker must agree on every frame body: the same frame, or
    /// the same refusal.
    static func compareEnvelopeReaders(_ body: [UInt8]) throws {
        let direct = Result { try FrameCodec.decode(body, limits: limits) }
        let tree = Result { try body.withUnsafeBytes { try FrameCodec.decodeThroughValueTree($0, limits: limits) } }
        switch (direct, tree) {
        case (.success(let a), .success(let b)) where a == b: return
        case (.failure(let a), .failure(let b)) where "\(a)" == "\(b)": return
        default: throw Finding(description: "the envelope readers disagree: \(direct) / \(tree)")
        }
    }

    private static func pick(_ bytes: [UInt8]) -> (any ProtoMessage.Type, [UInt8])? {
        guard let first = bytes.first else { return nil }
        // The contract's types, then the test-only ones: the order the regression inputs were recorded in.
        let types = ProtoCatalog.messageTypes + TestingCatalog.messageTypes
        return (types[Int(first) % types.count], Array(bytes.dropFirst()))
    }

    static func message(_ bytes: [UInt8]) throws {
        guard let (type, payload) = pick(bytes) else { return }
        try roundTrip(type, payload)
    }

    static func json(_ bytes: [UInt8]) throws {
        guard let (type, body) = pick(bytes) else { return }
        try jsonToMessage(type, body)
    }

    private static func roundTrip<T: ProtoMessage>(_ type: T.Type, _ payload: [UInt8]) throws {
        try compareCodecs(T.self, payload)
        guard let value = try? MessageCodec.decode(T.self, from: payload, limits: limits) else { return }
        // Compared as bytes, not with ==: a NaN is a legal double and never equals itself.
        let encoded: [UInt8]
        let again: [UInt8]
        do {
            encoded = try MessageCodec.encode(value)
            again = try MessageCodec.encode(try MessageCodec.decode(T.self, from: encoded, limits: limits))
        } catch {
            throw Finding(description: "\(T.protoName) decoded but does not round-trip: \(error)")
        }
        guard again == encoded else { throw Finding(description: "\(T.protoName) round trip changed its bytes") }
    }

    /// The generated direct code and the value tree (descriptor walker + `Codable`) must agree on every input:
    /// both refuse it with the same status code, or both accept the same value and encode it to the same bytes.
    public static func compareCodecs<T: ProtoMessage>(_ type: T.Type, _ payload: [UInt8]) throws {
        let direct: Result<T, any Error> = Result {
            try payload.withUnsafeBytes { try MessageCodec.decode(T.self, from: $0, limits: limits) }
        }
        let tree: Result<T, any Error> = Result {
            try payload.withUnsafeBytes { try MessageCodec.decodeThroughValueTree(T.self, from: $0, limits: limits) }
        }
        switch (direct, tree) {
        case (.success(let a), .success(let b)):
            // The values agree (both written by one encoder: a NaN is never == itself, and the value tree's
            // Float → Double → Float quiets a signalling NaN the direct code keeps bit for bit), and so do the
            // encoders.
            let fromTree = try MessageCodec.encodeThroughValueTree(b)
            guard try MessageCodec.encodeThroughValueTree(a) == fromTree else {
                throw Finding(description: "\(T.protoName): the direct codec and the value tree decode differently")
            }
            guard try MessageCodec.encode(b) == fromTree else {
                throw Finding(description: "\(T.protoName): the direct codec and the value tree encode differently")
            }
        case (.failure(let a), .failure(let b)):
            guard let a = a as? RPCError, let b = b as? RPCError, a.code == b.code else {
                throw Finding(description: "\(T.protoName): the codecs refuse differently: \(a) / \(b)")
            }
        case (.success, .failure(let error)):
            throw Finding(description: "\(T.protoName): only the value tree refuses: \(error)")
        case (.failure(let error), .success):
            throw Finding(description: "\(T.protoName): only the direct codec refuses: \(error)")
        }
    }

    private static func jsonToMessage<T: ProtoMessage>(_ type: T.Type, _ body: [UInt8]) throws {
        guard let json = try? JSONValue.parse(body, maxDepth: limits.maxJSONDepth),
            let value = try? MessageCodec.decodeJSON(T.self, from: json, limits: limits)
        else { return }
        // What the gateway accepted must survive its way back out (Swift value → JSON → Swift value) and encode
        // to the same protobuf bytes either way.
        do {
            let again = try MessageCodec.decodeJSON(T.self, from: try MessageCodec.encodeJSON(value), limits: limits)
            guard try MessageCodec.encode(again) == MessageCodec.encode(value) else {
                throw Finding(description: "\(T.protoName) JSON round trip changed the value")
            }
        } catch let finding as Finding {
            throw finding
        } catch {
            throw Finding(description: "\(T.protoName) decoded from JSON but does not round-trip: \(error)")
        }
        try roundTrip(T.self, try MessageCodec.encode(value))
    }
}
