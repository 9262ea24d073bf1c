import AccessCore
import AccessProtoC

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A generated Swift message with generated code to and from protobuf-c's generated C struct of the same
/// message (`Sources/AccessWire/Generated/*.pbc.swift`, written by `tools/generate-proto`).
///
/// protobuf-c still packs and unpacks every message (<doc:WireProtocol>); this code only reads an unpacked C
/// struct into the Swift struct and fills a C struct from one, with the checks and the error paths of the
/// descriptor walker (`CMessageCodec` + the value tree), which stays the codec of schema-driven conversions
/// (JSON, `akto-access call`) and the reference the tests compare this one against.
public protocol DirectMessage: ProtoMessage {
    /// protobuf-c's descriptor of the message, read from a C struct its generated `*__init` initialised (never
    /// by taking a descriptor's address in Swift: PROTOBUF-C-NOTES).
    static var directDescriptor: UnsafePointer<ProtobufCMessageDescriptor> { get }

    /// Reads an unpacked C message of `directDescriptor`.
    init(directMessage message: UnsafeRawPointer, reader: DirectReader) throws

    /// A C message of `directDescriptor` holding this value, allocated from `arena` (valid while it lives).
    func directMessage(arena: inout DirectArena) throws -> UnsafeMutableRawPointer
}

/// A generated Swift enum with its protobuf numbers.
public protocol DirectEnum: ProtoEnum {
    var directNumber: Int32 { get }
    init?(directNumber number: Int32)
}

extension DirectEnum {
    /// The case of a number read from the wire; an unknown number is refused as the value tree refuses it.
    @inlinable
    public static func directValue(_ number: Int32, _ path: @autoclosure () -> String) throws -> Self {
        guard let value = Self(directNumber: number) else {
            throw DirectFieldError(path(), "has the unknown enum value \(number)", checkedByValueTree: true)
        }
        return value
    }
}

/// A field the direct codec refused, with its path relative to the message being read or written; nested
/// readers and writers prefix it (`directNesting`), and the top level turns it into `RPCError.invalidField`.
public struct DirectFieldError: Error {
    public var path: String
    public let reason: String
    /// Whether the value tree finds this fault in its second pass (Swift values from `MessageValue`: unknown
    /// enum numbers), where map values are named by key; first-pass faults (strings, list lengths) name them
    /// `.value`.
    public let checkedByValueTree: Bool

    public init(_ path: String, _ reason: String, checkedByValueTree: Bool = false) {
        self.path = path
        self.reason = reason
        self.checkedByValueTree = checkedByValueTree
    }

    @usableFromInline func under(_ prefix: String) -> DirectFieldError {
        var copy = self
        copy.path = path.isEmpty ? prefix : path.hasPrefix("[") ? prefix + path : "\(prefix).\(path)"
        return copy
    }
}

/// Runs a nested message's reader or writer; a field it refuses gets the nesting field's path in front.
@inlinable
public func directNesting<T>(_ path: @autoclosure () -> String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as DirectFieldError {
        throw error.under(path())
    }
}

/// Runs a nested message's reader; `valueTreePath` is the path the value tree gives its second-pass faults
/// (map values by key), `path` the one of every other fault.
@inlinable
public func directNesting<T>(
    _ path: @autoclosure () -> String, _ valueTreePath: @autoclosure () -> String, _ body: () throws -> T
) throws -> T {
    do {
        return try body()
    } catch let error as DirectFieldError {
        throw error.under(error.checkedByValueTree ? valueTreePath() : path())
    }
}

/// What the generated readers need: the limits and the checks of every string protobuf-c unpacked.
public struct DirectReader: Sendable {
    public let maxListLength: Int

    public init(limits: CodecLimits) {
        maxListLength = limits.maxListLength
    }

    /// The element count of a repeated field, refused above `CodecLimits.maxListLength`.
    @inlinable
    public func count(_ count: Int, _ path: @autoclosure () -> String) throws -> Int {
        guard count <= maxListLength else {
            throw DirectFieldError(path(), "has \(count) elements; at most \(maxListLength)")
        }
        return count
    }

    /// A string protobuf-c unpacked (through an `akto_budget`), checked to be the whole wire value (no NUL) and
    /// valid UTF-8.
    public func string(_ pointer: UnsafeMutablePointer<CChar>?, _ path: @autoclosure () -> String) throws -> String {
        guard let pointer else { return "" }
        if UnsafePointer(pointer) == akto_empty_string() { return "" }
        guard akto_string_is_exact(pointer) != 0 else { throw DirectFieldError(path(), "contains a NUL character") }
        let bytes = UnsafeBufferPointer(
            start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: strlen(pointer))
        guard let string = String(validating: bytes, as: UTF8.self) else {
            throw DirectFieldError(path(), "is not valid UTF-8")
        }
        return string
    }

    /// The bytes of a `bytes` field.
    public func bytes(_ data: ProtobufCBinaryData) -> [UInt8] {
        guard data.len > 0, let start = data.data else { return [] }
        return Array(UnsafeBufferPointer(start: start, count: data.len))
    }
}

/// The memory of one encoded message tree: a bump allocator over a caller's buffer (the stack, for most
/// messages) and then over `malloc`ed chunks, all released at once when the arena ends. protobuf-c packs the
/// tree; nothing in it is freed one by one, so a tree left half-built by an error needs no unwinding.
public struct DirectArena: ~Copyable {
    private var cursor: UnsafeMutableRawPointer
    private var remaining: Int
    /// The `malloc`ed chunks, newest first; each starts with the address of the one before.
    private var chunks: UnsafeMutableRawPointer?

    static let chunkHeader = 16
    static let minimumChunk = 16 << 10

    init(buffer: UnsafeMutableRawBufferPointer) {
        cursor = buffer.baseAddress!
        remaining = buffer.count
        chunks = nil
    }

    deinit {
        Self.free(chunks)
    }

    /// Frees every chunk. Called by the encoder after protobuf-c has packed the tree (so the arena's memory lives
    /// at least that long whatever the optimiser does with the variable), and by `deinit` on an error path.
    mutating func release() {
        Self.free(chunks)
        chunks = nil
    }

    private static func free(_ newest: UnsafeMutableRawPointer?) {
        var chunk = newest
        while let current = chunk {
            chunk = current.load(as: UnsafeMutableRawPointer?.self)
            #if canImport(Glibc)
                Glibc.free(current)
            #else
                Darwin.free(current)
            #endif
        }
    }

    private mutating func raw(byteCount: Int, alignment: Int) throws -> UnsafeMutableRawPointer {
        let padding = Int(bitPattern: UInt(bitPattern: -Int(bitPattern: cursor)) & UInt(alignment - 1))
        if padding <= remaining, byteCount <= remaining - padding {
            let start = cursor + padding
            cursor = start + byteCount
            remaining -= padding + byteCount
            return start
        }
        let (needed, overflow) = byteCount.addingReportingOverflow(alignment + Self.chunkHeader)
        guard !overflow, let chunk = malloc(max(needed, Self.minimumChunk)) else {
            throw RPCError(.resourceExhausted, "out of memory while encoding a message")
        }
        chunk.storeBytes(of: chunks, as: UnsafeMutableRawPointer?.self)
        chunks = chunk
        cursor = chunk + Self.chunkHeader
        remaining = max(needed, Self.minimumChunk) - Self.chunkHeader
        return try raw(byteCount: byteCount, alignment: alignment)
    }

    /// Uninitialised memory for one `T` (the generated writers initialise it with protobuf-c's `*__init`).
    public mutating func allocate<T>(_ type: T.Type) throws -> UnsafeMutablePointer<T> {
        try raw(byteCount: MemoryLayout<T>.size, alignment: MemoryLayout<T>.alignment).bindMemory(
            to: T.self, capacity: 1)
    }

    /// Uninitialised memory for `count` elements of `T`, each stored by the caller before packing.
    public mutating func allocate<T>(_ type: T.Type, count: Int) throws -> UnsafeMutablePointer<T> {
        let (size, overflow) = MemoryLayout<T>.stride.multipliedReportingOverflow(by: count)
        guard !overflow else { throw RPCError(.resourceExhausted, "out of memory while encoding a message") }
        return try raw(byteCount: size, alignment: MemoryLayout<T>.alignment).bindMemory(to: T.self, capacity: count)
    }

    /// A NUL-terminated copy of `string` for protobuf-c; a string holding NUL is refused (C would cut it).
    public mutating func string(_ string: String, _ path: @autoclosure () -> String) throws
        -> UnsafeMutablePointer<CChar>
    {
        var string = string
        return try string.withUTF8 { utf8 in
            if let base = utf8.baseAddress, memchr(base, 0, utf8.count) != nil {
                throw DirectFieldError(path(), "contains a NUL character")
            }
            let copy = try raw(byteCount: utf8.count + 1, alignment: 1)
            if let base = utf8.baseAddress { copy.copyMemory(from: base, byteCount: utf8.count) }
            copy.storeBytes(of: 0, toByteOffset: utf8.count, as: UInt8.self)
            return copy.bindMemory(to: CChar.self, capacity: utf8.count + 1)
        }
    }

    /// A copy of `bytes` for a `bytes` field.
    public mutating func bytes(_ bytes: [UInt8], _ path: @autoclosure () -> String) throws -> ProtobufCBinaryData {
        guard !bytes.isEmpty else { return ProtobufCBinaryData(len: 0, data: nil) }
        let copy = try raw(byteCount: bytes.count, alignment: 1)
        bytes.withUnsafeBytes { copy.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return ProtobufCBinaryData(len: bytes.count, data: copy.bindMemory(to: UInt8.self, capacity: bytes.count))
    }
}

/// protobuf bytes ⇄ `DirectMessage`s: protobuf-c unpacks into (and packs from) the C struct, the generated code
/// converts it. Decoding has the descriptor walker's budget, string checks, list limit and errors.
public enum DirectCodec {
    /// Stack bytes an encoding starts with before the arena takes memory from `malloc`.
    static let stackBytes = 2048

    public static func decode<T: DirectMessage>(
        _ type: T.Type, from bytes: UnsafeRawBufferPointer, limits: CodecLimits = .default
    ) throws -> T {
        try CMessageCodec.unpack(bytes, descriptor: T.directDescriptor, name: T.protoName, limits: limits) {
            message in
            do {
                return try T(directMessage: UnsafeRawPointer(message), reader: DirectReader(limits: limits))
            } catch let error as DirectFieldError {
                throw RPCError.invalidField(error.path, error.reason)
            }
        }
    }

    public static func encode<T: DirectMessage>(_ value: T) throws -> [UInt8] {
        try withUnsafeTemporaryAllocation(byteCount: stackBytes, alignment: 16) { buffer in
            var arena = DirectArena(buffer: buffer)
            let message: UnsafeMutablePointer<ProtobufCMessage>
            do {
                message = try value.directMessage(arena: &arena).assumingMemoryBound(to: ProtobufCMessage.self)
            } catch let error as DirectFieldError {
                throw RPCError.invalidField(error.path, error.reason)
            }
            let size = protobuf_c_message_get_packed_size(message)
            let bytes = [UInt8](unsafeUninitializedCapacity: max(size, 1)) { buffer, count in
                count = size == 0 ? 0 : protobuf_c_message_pack(message, buffer.baseAddress)
            }
            arena.release()
            return bytes
        }
    }
}
