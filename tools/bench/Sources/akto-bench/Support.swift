// Measurement helpers shared by the cases of akto-bench.
import AccessClient
import AccessCore
import AccessWire
import Foundation
import GRDB
import Histogram
import Synchronization

// MARK: Process helpers

struct Measured {
    var calls: Int
    var seconds: Double
    var p50: Double
    var p99: Double
    var serverCPUPerCall: Double  // microseconds
    var rate: Double { Double(calls) / seconds }
}

func cpuMicros(pid: Int32) -> Double {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return 0 }
    let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
    // After ")": state is field 0; utime is field 11, stime field 12 (0-based here).
    guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
    return (user + system) * 1_000_000 / Double(sysconf(Int32(_SC_CLK_TCK)))
}

func rssMiB(pid: Int32) -> Double {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return (Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
    }
    return 0
}

func run(_ command: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = command
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

/// Runs the C ping-pong and parses its line.
func pingpong(_ binary: String, seconds: Double, payload: Int, connections: Int, inflight: Int, pinned: Bool) throws -> Measured {
    var command = [binary, String(seconds), String(payload), String(connections), String(inflight)]
    if pinned { command = ["taskset", "-c", "0"] + command }
    let line = try run(command)
    var values: [String: Double] = [:]
    for pair in line.split(whereSeparator: \.isWhitespace) {
        let parts = pair.split(separator: "=")
        if parts.count == 2 { values[String(parts[0])] = Double(parts[1]) }
    }
    let calls = Int(values["calls"] ?? 0)
    return Measured(
        calls: calls, seconds: values["seconds"] ?? 1, p50: values["p50_us"] ?? 0, p99: values["p99_us"] ?? 0,
        serverCPUPerCall: (values["server_cpu_us"] ?? 0) / Double(max(calls, 1)))
}

/// A connection opener: opens one connection, hands `body` a function making one call on it (true when
/// the call succeeded), and closes the connection when `body` returns.
typealias Connect = @Sendable (_ body: @Sendable (_ call: @escaping @Sendable () async -> Bool) async -> Void) async throws -> Void

/// Drives `connections` × `inflight` concurrent calls for `seconds` after a warm-up (a fifth of the time, at
/// most 0.5 s, not recorded); records every call's latency and the server's CPU time over the measured part.
func load(
    serverPID: Int32, otherServerPIDs: [Int32] = [], seconds: Double, connections: Int, inflight: Int,
    connect: @escaping Connect
) async throws -> Measured {
    let pids = [serverPID] + otherServerPIDs
    let serverCPU: @Sendable () -> Double = { pids.reduce(0) { $0 + cpuMicros(pid: $1) } }
    let tally = Tally()
    let warmUp = Duration.milliseconds(Int64(min(500, seconds * 200)))
    let begin = ContinuousClock.now
    let measureFrom = begin + warmUp
    let end = measureFrom + .milliseconds(Int64(seconds * 1000))
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            try await Task.sleep(until: measureFrom, clock: .continuous)
            tally.cpuBefore.withLock { $0 = serverCPU() }
            tally.recording.store(true, ordering: .relaxed)
        }
        for _ in 0..<connections {
            group.addTask {
                try await connect { call in
                    await withTaskGroup(of: Void.self) { inner in
                        for _ in 0..<inflight {
                            inner.addTask {
                                while ContinuousClock.now < end {
                                    let t = ContinuousClock.now
                                    let ok = await call()
                                    let micros = UInt64(max(1, (ContinuousClock.now - t).components.attoseconds / 1_000_000_000_000
                                        + (ContinuousClock.now - t).components.seconds * 1_000_000))
                                    tally.record(micros, ok: ok)
                                }
                            }
                        }
                    }
                }
            }
        }
        try await group.waitForAll()
    }
    let cpu = serverCPU() - tally.cpuBefore.withLock { $0 }
    let elapsed = ContinuousClock.now - measureFrom
    let done = tally.calls.load(ordering: .relaxed)
    let failed = tally.failures.load(ordering: .relaxed)
    if failed > 0 { print("  (\(failed) failed calls)") }
    return tally.histogram.withLock { h in
        Measured(
            calls: done, seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
            p50: Double(h.valueAtPercentile(50)), p99: Double(h.valueAtPercentile(99)), serverCPUPerCall: cpu / Double(max(done, 1)))
    }
}

/// `load` over akto-access connections.
func drive(
    socket: String, serverPID: Int32, seconds: Double, connections: Int, inflight: Int, metadata: [MetadataEntry],
    call: @escaping @Sendable (AccessClient) async -> Bool
) async throws -> Measured {
    try await load(serverPID: serverPID, seconds: seconds, connections: connections, inflight: inflight) { body in
        try await AccessClient.withConnection(socketPath: socket, defaultMetadata: metadata) { client in
            await body { await call(client) }
        }
    }
}

/// Counts and latencies shared by the calling tasks of one case.
final class Tally: Sendable {
    let histogram = Mutex(Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three))
    let calls = Atomic<Int>(0)
    let failures = Atomic<Int>(0)
    /// The server's CPU time when the warm-up ended.
    let cpuBefore = Mutex<Double>(0)
    /// False during the warm-up.
    let recording = Atomic<Bool>(false)

    func record(_ micros: UInt64, ok: Bool) {
        guard recording.load(ordering: .relaxed) else { return }
        _ = histogram.withLock { $0.record(micros) }
        if ok { calls.add(1, ordering: .relaxed) } else { failures.add(1, ordering: .relaxed) }
    }
}

/// Raw single-row write transactions per second with the server's pragmas, one writer.
func sqliteFloor(directory: String, seconds: Double) throws -> Measured {
    var config = Configuration()
    config.prepareDatabase { db in try db.execute(sql: "PRAGMA foreign_keys = ON") }
    let pool = try DatabasePool(path: directory + "/floor.sqlite", configuration: config)
    try pool.writeWithoutTransaction { db in
        try db.execute(sql: "PRAGMA synchronous = FULL")
        try db.execute(sql: "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
    }
    var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    let cpuBefore = cpuMicros(pid: getpid())
    let start = Date()
    var count = 0
    while Date().timeIntervalSince(start) < seconds {
        let t = Date()
        try pool.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                try db.execute(sql: "INSERT INTO t (v) VALUES (?)", arguments: ["x"])
                return .commit
            }
        }
        _ = histogram.record(UInt64(max(1, Date().timeIntervalSince(t) * 1e6)))
        count += 1
    }
    return Measured(
        calls: count, seconds: Date().timeIntervalSince(start), p50: Double(histogram.valueAtPercentile(50)),
        p99: Double(histogram.valueAtPercentile(99)), serverCPUPerCall: (cpuMicros(pid: getpid()) - cpuBefore) / Double(max(count, 1)))
}


/// One line of the report: a case, its repetitions and its ratios.
struct ReportRow {
    let name: String
    let shape: String
    let runs: [Measured]
    let ratio: String

    func median(_ key: (Measured) -> Double) -> Double { runs.map(key).sorted()[runs.count / 2] }
    func spread(_ key: (Measured) -> Double) -> String {
        let values = runs.map(key).sorted()
        return String(format: "%.0f [%.0f–%.0f]", values[values.count / 2], values.first ?? 0, values.last ?? 0)
    }
}

/// Seeds the durable-mutation case on a fresh server: the first admin, the custom role BENCH to update, and an
/// EXTERNAL_API key (returned) to call with.
func seedMutationTarget(socket: String) async throws -> String {
    try await AccessClient.withConnection(socketPath: socket) { client in
        let signup = try await client.call(
            Methods.SessionService.signup, SignupRequest(email: "bench@example.com", password: "Secret12345-horse"))
        let session = [MetadataEntry("authorization", "Bearer " + signup.sessionToken)]
        _ = try await client.call(
            Methods.RoleService.createCustomRole, CreateCustomRoleRequest(roleName: "BENCH", baseRole: "GUEST"),
            metadata: session)
        return try await client.call(
            Methods.TokenService.addApiToken, AddApiTokenRequest(tokenUtility: "EXTERNAL_API"), metadata: session
        ).apiTokenList[0].key
    }
}

/// The durable mutation: UpdateCustomRole of BENCH, flipping `defaultInviteRole` so every call changes the row.
func makeMutationCall() -> @Sendable (AccessClient) async -> Bool {
    let flip = Atomic<Int>(0)
    return { client in
        let value = flip.add(1, ordering: .relaxed).newValue % 2 == 0
        let payload = try! MessageCodec.encode(
            UpdateCustomRoleRequest(roleName: "BENCH", baseRole: "GUEST", defaultInviteRole: value))
        return await client.call(method: Methods.RoleService.updateCustomRole.path, payload: payload).status.code == .ok
    }
}

/// One run of the C load generator (`tools/bench/c/akrp-load.c`): AKRP frames written and read by hand, so the
/// client's own cost is next to nothing and what is measured is the server.
func akrpLoad(
    _ binary: String, socket: String, serverPID: Int32, seconds: Double, connections: Int, inflight: Int,
    method: String, payload: [UInt8], metadata: [MetadataEntry], pinned: Bool = false
) throws -> Measured {
    let hex = payload.isEmpty ? "-" : payload.map { String(format: "%02x", $0) }.joined()
    var command = [
        binary, socket, String(seconds), String(connections), String(inflight), String(serverPID), method, hex,
    ] + metadata.map { "\($0.key)=\($0.value)" }
    if pinned { command = ["taskset", "-c", "0"] + command }
    let line = try run(command)
    var values: [String: Double] = [:]
    for pair in line.split(whereSeparator: \.isWhitespace) {
        let parts = pair.split(separator: "=")
        if parts.count == 2 { values[String(parts[0])] = Double(parts[1]) }
    }
    let calls = Int(values["calls"] ?? 0)
    if let failed = values["failed"], failed > 0 { print("  (\(Int(failed)) failed calls: \(method))") }
    return Measured(
        calls: calls, seconds: values["seconds"] ?? 1, p50: values["p50_us"] ?? 0, p99: values["p99_us"] ?? 0,
        serverCPUPerCall: (values["server_cpu_us"] ?? 0) / Double(max(calls, 1)))
}
