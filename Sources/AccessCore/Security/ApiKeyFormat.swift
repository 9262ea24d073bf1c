/// The shape of an API key: `akto_` + 40 characters of `[A-Za-z0-9]` + a 6-character base62 CRC32 of those 40.
///
/// The checksum lets secret scanners recognise a key, and lets the server reject a mistyped or forged key
/// without touching the database.
public enum ApiKeyFormat {
    public static let prefix = "akto_"
    public static let bodyLength = 40
    public static let checksumLength = 6
    public static let length = prefix.count + bodyLength + checksumLength
    static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// A new key from 40 random alphabet characters drawn with `generator`.
    public static func generate<G: RandomNumberGenerator>(using generator: inout G) -> String {
        var body: [UInt8] = []
        body.reserveCapacity(bodyLength)
        for _ in 0..<bodyLength { body.append(alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))]) }
        return prefix + String(decoding: body, as: UTF8.self) + checksum(of: body)
    }

    /// True when `key` has the shape and a matching checksum.
    public static func isWellFormed(_ key: String) -> Bool {
        var key = key
        return key.withUTF8 { bytes in
            guard bytes.count == length, bytes.starts(with: prefix.utf8) else { return false }
            let body = UnsafeBufferPointer(rebasing: bytes[prefix.count..<prefix.count + bodyLength])
            guard body.allSatisfy(isAlphabetCharacter) else { return false }
            // The checksum's digits, least significant (the last character) first, compared without an early exit.
            var value = UInt64(CRC32.checksum(body))
            var difference: UInt8 = 0
            for position in (prefix.count + bodyLength..<length).reversed() {
                difference |= bytes[position] ^ alphabet[Int(value % 62)]
                value /= 62
            }
            return difference == 0
        }
    }

    /// `[0-9A-Za-z]`, the alphabet.
    static func isAlphabetCharacter(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    /// The base62 CRC32 of the key body, left-padded to 6 characters.
    static func checksum(of body: [UInt8]) -> String {
        var value = UInt64(CRC32.checksum(body))
        var digits: [UInt8] = []
        for _ in 0..<checksumLength {
            digits.append(alphabet[Int(value % 62)])
            value /= 62
        }
        return String(decoding: digits.reversed(), as: UTF8.self)
    }
}

/// CRC-32 (IEEE 802.3), as zlib computes it.
public enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var c = UInt32(index)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}

/// Comparisons whose time does not depend on where the inputs differ.
public enum ConstantTime {
    public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}
