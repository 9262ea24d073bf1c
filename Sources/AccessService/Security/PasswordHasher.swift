import AccessCore
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

    // MARK: Off the event loops, admitted per peer
    //
    // scrypt costs ~100 ms of CPU and 32 MiB at the default cost. Handlers run on their connection's event loop
    // (`BENCHMARKS.md`), so hashing inline would stall every other connection of that loop; these run it on
    // `HashScheduler`, a few threads of its own (one per core), which bounds the memory concurrent logins use and
    // admits work fairly per peer (<doc:Hardening>): a peer flooding sign-ins fills its own small queue and is answered
    // RESOURCE_EXHAUSTED, while other peers' hashes are taken in turn with it; a hash whose call was cancelled or
    // whose deadline passed while it waited is never run.

    public func hash(_ password: String, for caller: HashCaller) async throws -> String {
        try await HashScheduler.shared.run(caller) { try self.hash(password) }
    }

    /// Throws RESOURCE_EXHAUSTED (the peer's queue is full), DEADLINE_EXCEEDED or CancellationError without
    /// judging; else whether the password matches.
    public func verify(_ password: String, against stored: String, for caller: HashCaller) async throws -> Bool {
        try await HashScheduler.shared.run(caller) { self.verify(password, against: stored) }
    }

    public func verifyDecoy(_ password: String, for caller: HashCaller) async throws {
        try await HashScheduler.shared.run(caller) { self.verifyDecoy(password) }
    }

    /// True when `stored` was made at other parameters than the configured ones (it is rehashed at the next
    /// successful sign-in, so that its verification costs what an unknown address's decoy costs).
    public func needsRehash(_ stored: String) -> Bool {
        !stored.hasPrefix("scrypt$\(parameters.logRounds)$\(parameters.blockSize)$\(parameters.parallelism)$")
    }

    private static func derive(_ password: String, salt: [UInt8], parameters: ScryptParameters) throws -> [UInt8] {
        let key = try KDF.Scrypt.deriveKey(
            from: Array(password.utf8), salt: salt, outputByteCount: 32, rounds: 1 << parameters.logRounds,
            blockSize: parameters.blockSize, parallelism: parameters.parallelism)
        return key.withUnsafeBytes { Array($0) }
    }
}

/// Who a hash is for: the peer its queue is counted against and the deadline past which it is not run.
public struct HashCaller: Sendable {
    public var peer: String
    public var deadline: ContinuousClock.Instant
    /// The bounds of the service the call belongs to.
    public var limits: HashAdmissionLimits

    public init(peer: String, deadline: ContinuousClock.Instant, limits: HashAdmissionLimits = HashAdmissionLimits()) {
        self.peer = peer
        self.deadline = deadline
        self.limits = limits
    }

    /// An in-process caller (the `admin` commands): its own queue, a generous deadline.
    public static var local: HashCaller { HashCaller(peer: localPeer, deadline: .now + .seconds(300)) }

    /// `Peer.local`'s throttle key.
    public static let localPeer = "local"
}

/// Bounds of the hashing queue (`--hash-queue-per-peer`, `--hash-queue-total`).
public struct HashAdmissionLimits: Sendable, Hashable {
    /// Hashes one peer may have waiting or running.
    public var perPeer: Int
    /// Hashes waiting or running in all.
    public var total: Int

    public init(perPeer: Int = 8, total: Int = 256) {
        self.perPeer = perPeer
        self.total = total
    }
}

/// CPU-heavy work kept off the event loops and the cooperative pool: `width` threads (one per core) take jobs
/// from per-peer FIFO queues in round-robin order, so at most `width` hashes run at once and a peer with many
/// jobs waiting delays another peer's job by at most one job per other waiting peer.
final class HashScheduler: Sendable {
    static let shared = HashScheduler(width: ProcessInfo.processInfo.activeProcessorCount)

    private final class Job: Sendable {
        let deadline: ContinuousClock.Instant
        let cancelled = Atomic<Bool>(false)
        let work: @Sendable (RPCError?) -> Void

        init(deadline: ContinuousClock.Instant, work: @escaping @Sendable (RPCError?) -> Void) {
            self.deadline = deadline
            self.work = work
        }
    }

    private struct State: ~Copyable {
        var queues: [String: [Job]] = [:]
        /// Peers with queued jobs, in the order they are served next.
        var ring: [String] = []
        /// Jobs queued or running, per peer and in all.
        var inFlight: [String: Int] = [:]
        var total = 0
    }

    private let state = Mutex(State())
    private let available = DispatchSemaphore(value: 0)

    init(width: Int) {
        for index in 0..<max(1, width) {
            let thread = Thread(block: { [self] in self.serve() })
            thread.name = "akto-access.hash-\(index)"
            thread.start()
        }
    }

    /// Hashes waiting or running now (tests).
    var inFlight: Int { state.withLock { $0.total } }

    func run<T: Sendable>(_ caller: HashCaller, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        if ContinuousClock.now >= caller.deadline { throw RPCError(.deadlineExceeded, "the call's deadline passed") }
        try Task.checkCancellation()
        let box = Mutex<Job?>(nil)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                let job = Job(deadline: caller.deadline) { refusal in
                    if let refusal {
                        continuation.resume(throwing: refusal)
                    } else {
                        continuation.resume(with: Result { try body() })
                    }
                }
                box.withLock { $0 = job }
                let admitted = state.withLock { state -> RPCError? in
                    let mine = state.inFlight[caller.peer, default: 0]
                    // In-process callers (admin commands, tests) share the total bound only.
                    if mine >= caller.limits.perPeer && caller.peer != HashCaller.localPeer {
                        return RPCError(
                            .resourceExhausted,
                            "too many password checks from this peer are waiting (at most \(caller.limits.perPeer)); retry later"
                        )
                    }
                    if state.total >= caller.limits.total {
                        return RPCError(.resourceExhausted, "the server is busy checking passwords; retry later")
                    }
                    state.inFlight[caller.peer] = mine + 1
                    state.total += 1
                    if state.queues[caller.peer, default: []].isEmpty { state.ring.append(caller.peer) }
                    state.queues[caller.peer, default: []].append(job)
                    return nil
                }
                if let admitted {
                    continuation.resume(throwing: admitted)
                } else {
                    available.signal()
                }
            }
        } onCancel: {
            box.withLock { $0 }?.cancelled.store(true, ordering: .relaxed)
        }
    }

    private func serve() {
        while true {
            available.wait()
            let next = state.withLock { state -> (String, Job)? in
                guard !state.ring.isEmpty else { return nil }
                let peer = state.ring.removeFirst()
                var queue = state.queues[peer] ?? []
                guard !queue.isEmpty else { return nil }
                let job = queue.removeFirst()
                if queue.isEmpty {
                    state.queues[peer] = nil
                } else {
                    state.queues[peer] = queue
                    state.ring.append(peer)
                }
                return (peer, job)
            }
            guard let (peer, job) = next else { continue }
            if job.cancelled.load(ordering: .relaxed) {
                job.work(RPCError(.cancelled, "the call was cancelled"))
            } else if ContinuousClock.now >= job.deadline {
                job.work(RPCError(.deadlineExceeded, "the call's deadline passed while it waited for a password check"))
            } else {
                job.work(nil)
            }
            state.withLock { state in
                state.total -= 1
                let left = (state.inFlight[peer] ?? 1) - 1
                state.inFlight[peer] = left > 0 ? left : nil
            }
        }
    }
}
