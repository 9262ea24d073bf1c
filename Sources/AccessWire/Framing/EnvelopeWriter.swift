import AccessCore

/// Writes `akto.rpc.v1.Frame` bodies directly in the protobuf wire format, byte for byte what protobuf-c's
/// packer produces for the same frame (fields in number order, proto3 defaults omitted, the Response's status
/// always present) — `FrameCodecTests` check the two agree. Every call's Response (and every client Request)
/// passes here, so it skips the generic value tree, which the profile in `BENCHMARKS.md` showed costing as much as the
/// handler. Strings holding NUL are refused exactly as the generic path refuses them.
enum EnvelopeWriter {
    static func frame(_ frame: Frame) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        switch frame {
        case .request(let r):
            var inner: [UInt8] = []
            inner.reserveCapacity(32 + r.method.utf8.count + r.payload.count)
            uint(&inner, 1, UInt64(r.callID))
            try string(&inner, 2, r.method, "request.method")
            uint(&inner, 3, UInt64(r.timeoutMilliseconds))
            for entry in r.metadata { try message(&inner, 4, metadata(entry)) }
            bytes(&inner, 5, r.payload)
            message(&out, 1, inner)
        case .response(let r):
            var inner: [UInt8] = []
            inner.reserveCapacity(32 + r.payload.count)
            uint(&inner, 1, UInt64(r.callID))
            message(&inner, 2, try status(r.status))
            for entry in r.metadata { try message(&inner, 3, metadata(entry)) }
            bytes(&inner, 4, r.payload)
            message(&out, 2, inner)
        case .cancel(let callID):
            var inner: [UInt8] = []
            uint(&inner, 1, UInt64(callID))
            message(&out, 3, inner)
        case .ping(let nonce):
            var inner: [UInt8] = []
            uint(&inner, 1, nonce)
            message(&out, 4, inner)
        case .pong(let nonce):
            var inner: [UInt8] = []
            uint(&inner, 1, nonce)
            message(&out, 5, inner)
        case .goAway(let goAwayStatus, let lastCallID):
            var inner: [UInt8] = []
            message(&inner, 1, try status(goAwayStatus))
            uint(&inner, 2, UInt64(lastCallID))
            message(&out, 6, inner)
        }
        return out
    }

    private static func status(_ status: Status) throws -> [UInt8] {
        var out: [UInt8] = []
        uint(&out, 1, UInt64(status.code.rawValue))
        try string(&out, 2, status.message, "status.message")
        for violation in status.violations {
            var inner: [UInt8] = []
            try string(&inner, 1, violation.field, "status.violations.field")
            try string(&inner, 2, violation.description, "status.violations.description")
            message(&out, 3, inner)
        }
        return out
    }

    private static func metadata(_ entry: MetadataEntry) throws -> [UInt8] {
        var out: [UInt8] = []
        try string(&out, 1, entry.key, "metadata.key")
        try string(&out, 2, entry.value, "metadata.value")
        return out
    }

    // MARK: Wire primitives

    private static func varint(_ out: inout [UInt8], _ value: UInt64) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    /// A proto3 scalar: omitted when zero.
    private static func uint(_ out: inout [UInt8], _ number: UInt64, _ value: UInt64) {
        guard value != 0 else { return }
        varint(&out, number << 3)
        varint(&out, value)
    }

    /// A length-delimited field with its bytes.
    private static func lengthDelimited<C: Collection<UInt8>>(_ out: inout [UInt8], _ number: UInt64, _ value: C) {
        varint(&out, number << 3 | 2)
        varint(&out, UInt64(value.count))
        out.append(contentsOf: value)
    }

    /// A proto3 string: omitted when empty; NUL refused (protobuf-c strings are C strings).
    private static func string(_ out: inout [UInt8], _ number: UInt64, _ value: String, _ path: String) throws {
        let utf8 = value.utf8
        guard !utf8.isEmpty else { return }
        guard !utf8.contains(0) else { throw RPCError.invalidField(path, "contains a NUL character") }
        lengthDelimited(&out, number, utf8)
    }

    /// proto3 bytes: omitted when empty.
    private static func bytes(_ out: inout [UInt8], _ number: UInt64, _ value: [UInt8]) {
        guard !value.isEmpty else { return }
        lengthDelimited(&out, number, value)
    }

    /// A message field: always written when present, even empty.
    private static func message(_ out: inout [UInt8], _ number: UInt64, _ value: [UInt8]) {
        lengthDelimited(&out, number, value)
    }
}
