import AccessCore
import Crypto

/// Random secrets and their digests. Secrets are shown once; only `digest(_:)` is stored.
public enum Secrets {
    /// 32 random bytes, base64url without padding (43 characters): session tokens, reset tokens, invite codes.
    public static func token() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Base64.encode(bytes, url: true)
    }

    /// A new API key (`akto_…` with its checksum).
    public static func apiKey() -> String {
        var generator = SystemRandomNumberGenerator()
        return ApiKeyFormat.generate(using: &generator)
    }

    /// The SHA-256 digest under which a secret is stored and looked up.
    public static func digest(_ secret: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(secret.utf8)))
    }
}
