/// Brute-force detection of sign-in (<doc:Hardening>), kept in the store so it holds across processes.
///
/// Two counters per e-mail address (known or not, so the answers never tell them apart): one per (address,
/// peer) that locks that peer out of that address, and one across peers that slows every attempt down. An
/// attempt is counted as a failure *before* its password is judged and taken back when it succeeds, so
/// concurrent attempts from one peer cannot outrun the lockout.
public struct LoginThrottlePolicy: Sendable, Hashable {
    /// Failures of one peer on one address within `window` before that peer is locked out of it.
    public var peerMaxFailures: Int
    /// Failures on one address across peers within `window` after which every attempt waits `slowDelay`.
    public var accountSlowFailures: Int
    /// Seconds: failures further apart than this start over; a counter this quiet is deleted.
    public var window: Int64
    /// Seconds of the first lockout; it doubles with every further failure, up to `maxLockout`.
    public var firstLockout: Int64
    public var maxLockout: Int64
    /// What an attempt on a slowed-down address waits before it is judged.
    public var slowDelay: Duration
    /// Counter rows kept at most; the quietest go first beyond it.
    public var maxCounters: Int

    public init(
        peerMaxFailures: Int = 5, accountSlowFailures: Int = 20, window: Int64 = 900, firstLockout: Int64 = 60,
        maxLockout: Int64 = 900, slowDelay: Duration = .seconds(1), maxCounters: Int = 100_000
    ) {
        self.peerMaxFailures = peerMaxFailures
        self.accountSlowFailures = accountSlowFailures
        self.window = window
        self.firstLockout = firstLockout
        self.maxLockout = maxLockout
        self.slowDelay = slowDelay
        self.maxCounters = maxCounters
    }

    /// The peer name of the counter across peers (no real peer key starts with `*`).
    public static let anyPeer = "*"

    /// Lockout seconds after `failures` failures: none below the threshold, then `firstLockout` doubling per
    /// further failure, at most `maxLockout`.
    public func lockout(afterFailures failures: Int) -> Int64 {
        guard failures >= peerMaxFailures else { return 0 }
        let doublings = min(failures - peerMaxFailures, 32)
        let seconds = firstLockout.multipliedReportingOverflow(by: Int64(1) << doublings)
        return seconds.overflow ? maxLockout : min(seconds.partialValue, maxLockout)
    }
}

/// One counter row: failures since the counter (re)started and when the last one happened.
public struct LoginCounter: Sendable, Hashable {
    public var failures: Int
    public var lastFailureAt: Int64

    public init(failures: Int, lastFailureAt: Int64) {
        self.failures = failures
        self.lastFailureAt = lastFailureAt
    }
}

/// What the store decided for one attempt.
public struct LoginAttempt: Sendable, Hashable {
    /// False while the peer is locked out of the address: answered as a wrong password, the password unjudged.
    public var allowed: Bool
    /// True when the address has had `accountSlowFailures` failures across peers: wait before judging.
    public var slowed: Bool

    public init(allowed: Bool, slowed: Bool) {
        self.allowed = allowed
        self.slowed = slowed
    }
}

public enum LoginThrottleRules {
    /// A counter as of `now`: nil when it has been quiet for a whole window.
    public static func live(_ counter: LoginCounter?, now: Int64, policy: LoginThrottlePolicy) -> LoginCounter? {
        guard let counter, now - counter.lastFailureAt <= policy.window else { return nil }
        return counter
    }

    /// Starting an attempt: the new (peer, across-peers) counters — nil when unchanged — and the verdict. A locked
    /// out attempt changes nothing; an allowed one counts as a failure until `succeeded` takes it back.
    public static func begin(
        peer: LoginCounter?, account: LoginCounter?, now: Int64, policy: LoginThrottlePolicy
    ) -> (peer: LoginCounter?, account: LoginCounter?, attempt: LoginAttempt) {
        let peer = live(peer, now: now, policy: policy)
        let account = live(account, now: now, policy: policy)
        let slowed = (account?.failures ?? 0) >= policy.accountSlowFailures
        if let peer, peer.failures >= policy.peerMaxFailures,
            now < peer.lastFailureAt + policy.lockout(afterFailures: peer.failures)
        {
            return (nil, nil, LoginAttempt(allowed: false, slowed: slowed))
        }
        return (
            LoginCounter(failures: (peer?.failures ?? 0) + 1, lastFailureAt: now),
            LoginCounter(failures: (account?.failures ?? 0) + 1, lastFailureAt: now),
            LoginAttempt(allowed: true, slowed: slowed)
        )
    }

    /// After a failed attempt: true when this failure locks the peer out (it is audited).
    public static func locksOut(_ peer: LoginCounter?, policy: LoginThrottlePolicy) -> Bool {
        (peer?.failures ?? 0) >= policy.peerMaxFailures
    }

    /// Clearing a user's lockout acts on a person: the target is a member of the active account and the actor
    /// holds identity-wide authority over them (SPEC.md, Authority).
    public static func clear(actor: Int32, target: Int32?, activeAccount: AccountFacts, accounts: [AccountFacts]) throws
    {
        guard let target, activeAccount.isMember(target) else { throw MembershipRules.noSuchMember }
        try Authority.requireIdentityWide(actor: actor, over: target, accounts: accounts, action: "clearing a lockout")
    }
}
