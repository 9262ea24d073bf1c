import AccessCore
import NIOCore

/// What the frame decoder hands the connection: a frame, or the protocol error that ends the connection.
public enum InboundFrame: Sendable, Equatable {
    case frame(Frame)
    /// The peer broke the protocol; the receiver sends `GoAway(status)` and closes. Nothing more is decoded.
    case protocolError(Status)
}

/// Splits an AKRP v1 byte stream into frames: the 8-byte preface (server side), then 4-byte big-endian
/// lengths each followed by one encoded `Frame`.
///
/// A length above `maxFrameSize` is rejected from its header before any of the body is buffered. After the
/// first protocol error the decoder emits that error once and discards everything that follows.
public struct FrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = InboundFrame

    private enum State {
        case awaitingPreface
        case frames
        case failed
    }

    private var state: State
    private let maxFrameSize: Int
    private let limits: CodecLimits

    /// - Parameters:
    ///   - expectPreface: true on the server side, where the client's first 8 bytes must be the preface.
    ///   - maxFrameSize: the largest frame body accepted, in bytes.
    public init(expectPreface: Bool, maxFrameSize: Int, limits: CodecLimits = .default) {
        self.state = expectPreface ? .awaitingPreface : .frames
        self.maxFrameSize = maxFrameSize
        self.limits = limits
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> InboundFrame? {
        switch state {
        case .failed:
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return nil
        case .awaitingPreface:
            let available = min(buffer.readableBytes, Preface.bytes.count)
            guard let head = buffer.getBytes(at: buffer.readerIndex, length: available) else { return nil }
            guard head == Array(Preface.bytes.prefix(available)) else {
                return fail(&buffer, .invalidArgument, "bad preface: expected AKRP version 1")
            }
            guard available == Preface.bytes.count else { return nil }
            buffer.moveReaderIndex(forwardBy: Preface.bytes.count)
            state = .frames
            return try decode(buffer: &buffer)
        case .frames:
            guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
            guard Int(length) <= maxFrameSize else {
                return fail(
                    &buffer, .resourceExhausted, "frame of \(length) bytes exceeds the \(maxFrameSize)-byte limit")
            }
            guard buffer.readableBytes >= 4 + Int(length) else { return nil }
            buffer.moveReaderIndex(forwardBy: 4)
            let frame: Frame
            do {
                frame = try buffer.withUnsafeReadableBytes { raw in
                    try FrameCodec.decode(UnsafeRawBufferPointer(rebasing: raw[..<Int(length)]), limits: limits)
                }
            } catch let error as RPCError {
                return fail(&buffer, error.code, "undecodable frame: \(error.message)")
            }
            buffer.moveReaderIndex(forwardBy: Int(length))
            return .frame(frame)
        }
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> InboundFrame? {
        try decode(buffer: &buffer)
    }

    private mutating func fail(_ buffer: inout ByteBuffer, _ code: StatusCode, _ message: String) -> InboundFrame {
        state = .failed
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return .protocolError(Status(code: code, message: message))
    }
}
