import NIOCore

/// What a connection writes: a frame, or raw bytes (the client's preface, or deliberate garbage in tests).
public enum OutboundMessage: Sendable {
    case frame(Frame)
    case raw([UInt8])
}

/// Writes frames as a 4-byte big-endian length followed by the encoded `Frame`.
public struct FrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = OutboundMessage

    public init() {}

    public func encode(data: OutboundMessage, out: inout ByteBuffer) throws {
        switch data {
        case .frame(let frame):
            let body = try FrameCodec.encode(frame)
            out.writeInteger(UInt32(body.count))
            out.writeBytes(body)
        case .raw(let bytes):
            out.writeBytes(bytes)
        }
    }

    /// The bytes of one frame with its length prefix.
    public static func bytes(of frame: Frame) throws -> [UInt8] {
        let body = try FrameCodec.encode(frame)
        let n = UInt32(body.count)
        return [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + body
    }
}
