import AccessCore
import AccessWire
import Crypto
import CryptoExtras
import Dispatch
import Foundation
import Synchronization

/// scrypt cost parameters (N = 2^logRounds).
public struct ScryptParameters: Sendable, Hashable {
    public var logRounds: Int
    public var blockSize: Int
    public var parallelism: Int

    public init(logRounds: Int, blockSize: Int = 8, parallelism: Int = 1) {
        self.logRounds = logRounds
        self.blockSize = blockSize
        self.parallelism = parallelism
    }

    /// N = 2^15, r = 8, p = 1 (32 MiB, tens of milliseconds): OWASP's minimum for scrypt.
    public static let standard = ScryptParameters(logRounds: 15)
}

/// Hashes passwords with scrypt and verifies them in constant time.
///
/// Stored form: `scrypt$<logN>$<r>$<p>$<salt b64>$<hash b64>`, so parameters can be raised later and old hashes
/// still verify.
public struct PasswordHasher: Sendable {
    public let parameters: ScryptParameters
    /// A hash of a random password with the same parameters: verifying against it costs what a real check
    /// costs, so an unknown e-mail answers in about the same time as a wrong password.
    private let decoy: String

    public init(parameters: ScryptParameters) throws {
        self.parameters = parameters
        self.decoy = try Self.hash(Secrets.token(), parameters: parameters)
    }

    public func hash(_ password: String) throws -> String {
        try Self.hash(password, parameters: parameters)
    }

    private static func hash(_ password: String, parameters: ScryptParameters) throws -> String {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let derived = try derive(password, salt: salt, parameters: parameters)
        return "scrypt$\(parameters.logRounds)$\(parameters.blockSize)$\(parameters.parallelism)$"
            + Base64.encode(salt, url: true) + "$" + Base64.encode(derived, url: true)
    }

    /// True when `password` matches `stored`; a malformed stored hash never matches.
    public func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "scrypt", let logN = Int(parts[1]), let r = Int(parts[2]),
            let p = Int(parts[3]), (1...20).contains(logN), (1...32).contains(r), (1...16).contains(p),
            let salt = Base64.decode(String(parts[4])), let expected = Base64.decode(String(parts[5])),
            let derived = try? Self.derive(
                password, salt: salt, parameters: ScryptParameters(logRounds: logN, blockSize: r, parallelism: p))
        else { return false }
        return ConstantTime.equals(derived, expected)
    }

    /// Spends the time of one verification without a user (unknown e-mail at login).
    public func verifyDecoy(_ password: String) {
        _ = verify(password, against: decoy)
    }

    // MARK: Off the event loops
    //
    // scrypt costs ~100 ms of CPU and 32 MiB at the default cost. Handlers run on their connection's event loop
    // (issue 8), so hashing inline would stall every other connection of that loop; these run it on
    // `BlockingWork`, a few threads of its own (one per core), which also bounds the memory concurrent logins use.

    public func hash(_ password: String) async throws -> String {
        try await BlockingWork.shared.run { try self.hash(password) }
    }

    public func verify(_ password: String, against stored: String) async -> Bool {
        (try? await BlockingWork.shared.run { self.verify(password, against: stored) }) ?? false
    }

    public func verifyDecoy(_ password: String) async {
        _ = try? await BlockingWork.shared.run { self.verifyDecoy(password) }
    }

    private static func derive(_ password: String, salt: [UInt8], parameters: ScryptParameters) throws -> [UInt8] {
        let key = try KDF.Scrypt.deriveKey(
            from: Array(password.utf8), salt: salt, outputByteCount: 32, rounds: 1 << parameters.logRounds,
            blockSize: parameters.blockSize, parallelism: parameters.parallelism)
        return key.withUnsafeBytes { Array($0) }
    }
}

/// CPU-heavy work kept off the event loops and the cooperative pool: one serial queue per core, taken in turn,
/// so at most that many such jobs run at once.
final class BlockingWork: Sendable {
    static let shared = BlockingWork(width: ProcessInfo.processInfo.activeProcessorCount)

    private let queues: [DispatchQueue]
    private let next = Atomic<Int>(0)

    init(width: Int) {
        queues = (0..<max(1, width)).map { DispatchQueue(label: "akto-access.blocking-work.\($0)") }
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let index = next.add(1, ordering: .relaxed).oldValue
        let queue = queues[Int(UInt(bitPattern: index) % UInt(queues.count))]
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
