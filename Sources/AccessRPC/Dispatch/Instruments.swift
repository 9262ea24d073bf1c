import AccessCore
import Metrics
import Synchronization

/// The per-method counters and timers, created once per label set instead of once per call (a factory lookup
/// takes the registry's lock and formats the labels).
final class Instruments: Sendable {
    private struct CounterKey: Hashable {
        let method: String
        let code: StatusCode
        let transport: Transport
    }

    private struct TimerKey: Hashable {
        let method: String
        let transport: Transport
    }

    private let factory: any MetricsFactory
    // Read on every call, written once per new label set.
    private let counters = ReadMostly<[CounterKey: Counter]>([:])
    private let timers = ReadMostly<[TimerKey: Timer]>([:])

    init(factory: any MetricsFactory) {
        self.factory = factory
    }

    func counter(method: String, code: StatusCode, transport: Transport) -> Counter {
        let key = CounterKey(method: method, code: code, transport: transport)
        if let known = counters.read({ $0[key] }) { return known }
        let counter = Counter(
            label: "akto_access_rpc_requests_total",
            dimensions: [("method", method), ("code", code.grpcName), ("transport", transport.rawValue)],
            factory: factory)
        return counters.write { table in
            if let known = table[key] { return known }
            table[key] = counter
            return counter
        }
    }

    func timer(method: String, transport: Transport) -> Timer {
        let key = TimerKey(method: method, transport: transport)
        if let known = timers.read({ $0[key] }) { return known }
        let timer = Timer(
            label: "akto_access_rpc_duration_seconds",
            dimensions: [("method", method), ("transport", transport.rawValue)],
            factory: factory)
        return timers.write { table in
            if let known = table[key] { return known }
            table[key] = timer
            return timer
        }
    }
}
