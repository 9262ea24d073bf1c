import AccessCore
import AccessRPC
import Synchronization

/// A token bucket per peer (<doc:Hardening>): the anonymous calls (Login, Signup, ResetPassword) of one peer are
/// admitted at `rate` per second with bursts of `burst`; past it they answer RESOURCE_EXHAUSTED before any
/// work. In-process callers (`Peer.local`) are not limited. The table holds at most `maxPeers` buckets: full
/// (idle) buckets are dropped first, then the least recently used.
public final class PeerRateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    let rate: Double
    let burst: Double
    let maxPeers: Int
    private let buckets = Mutex<[String: Bucket]>([:])

    public init(rate: Double, burst: Int, maxPeers: Int = 10_000) {
        self.rate = max(rate, 0.001)
        self.burst = Double(max(burst, 1))
        self.maxPeers = max(maxPeers, 1)
    }

    public func admit(_ peer: Peer, operation: String) throws {
        if case .local = peer { return }
        let key = peer.throttleKey
        let now = ContinuousClock.now
        let admitted = buckets.withLock { buckets -> Bool in
            var bucket = buckets[key] ?? Bucket(tokens: burst, updated: now)
            let elapsed =
                Double((now - bucket.updated).components.seconds)
                + Double((now - bucket.updated).components.attoseconds) / 1e18
            bucket.tokens = min(burst, bucket.tokens + elapsed * rate)
            bucket.updated = now
            let ok = bucket.tokens >= 1
            if ok { bucket.tokens -= 1 }
            buckets[key] = bucket
            if buckets.count > maxPeers { evict(&buckets, now: now) }
            return ok
        }
        guard admitted else {
            throw RPCError(
                .resourceExhausted,
                "too many \(operation) calls from this peer (at most \(Int(burst)) at once, \(rate) per second); retry later"
            )
        }
    }

    private func evict(_ buckets: inout [String: Bucket], now: ContinuousClock.Instant) {
        let refilled = buckets.filter { _, bucket in
            let elapsed = Double((now - bucket.updated).components.seconds)
            return bucket.tokens + elapsed * rate < burst
        }
        buckets = refilled
        if buckets.count > maxPeers {
            let keep = buckets.sorted { $0.value.updated > $1.value.updated }.prefix(maxPeers / 2)
            buckets = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
        }
    }
}
