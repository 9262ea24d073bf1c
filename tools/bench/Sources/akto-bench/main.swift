// akto-bench: measures the server against the physical limit (a C ping-pong) and the SQLite floor, in one run,
// and prints a markdown table with ratios. Run through tools/bench/run.
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

/// Drives `connections` x `inflight` concurrent calls for `seconds`; records latency of every call.
func drive(
    socket: String, serverPID: Int32, seconds: Double, connections: Int, inflight: Int, metadata: [MetadataEntry],
    call: @escaping @Sendable (AccessClient) async -> Bool
) async throws -> Measured {
    let tally = Tally()
    let cpuBefore = cpuMicros(pid: serverPID)
    let start = ContinuousClock.now
    let end = start + .milliseconds(Int64(seconds * 1000))
    try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<connections {
            group.addTask {
                try await AccessClient.withConnection(socketPath: socket, defaultMetadata: metadata) { client in
                    await withTaskGroup(of: Void.self) { inner in
                        for _ in 0..<inflight {
                            inner.addTask {
                                while ContinuousClock.now < end {
                                    let t = ContinuousClock.now
                                    let ok = await call(client)
                                    let micros = UInt64(max(1, (ContinuousClock.now - t).components.attoseconds / 1_000_000_000_000))
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
    let elapsed = Double((ContinuousClock.now - start).components.attoseconds) / 1e18
        + Double((ContinuousClock.now - start).components.seconds)
    let done = tally.calls.load(ordering: .relaxed)
    let failed = tally.failures.load(ordering: .relaxed)
    if failed > 0 { print("  (\(failed) failed calls)") }
    let cpu = cpuMicros(pid: serverPID) - cpuBefore
    return tally.histogram.withLock { h in
        Measured(
            calls: done, seconds: elapsed, p50: Double(h.valueAtPercentile(50)), p99: Double(h.valueAtPercentile(99)),
            serverCPUPerCall: cpu / Double(max(done, 1)))
    }
}

/// Counts and latencies shared by the calling tasks of one case.
final class Tally: Sendable {
    let histogram = Mutex(Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three))
    let calls = Atomic<Int>(0)
    let failures = Atomic<Int>(0)

    func record(_ micros: UInt64, ok: Bool) {
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
        p99: Double(histogram.valueAtPercentile(99)), serverCPUPerCall: 0)
}

// MARK: The run

struct Row {
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

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    print("usage: akto-bench AKTO_ACCESS_BINARY PINGPONG_BINARY [SECONDS_PER_CASE] [OUTPUT.md]")
    exit(2)
}
let serverBinary = arguments[1]
let pingpongBinary = arguments[2]
let seconds = arguments.count > 3 ? Double(arguments[3]) ?? 2 : 2
let output = arguments.count > 4 ? arguments[4] : "BENCHMARKS.md"
let repetitions = 3
let payloadBytes = 120  // about one Health request/response frame

let directory = NSTemporaryDirectory() + "akto-bench-\(getpid())"
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
let socket = directory + "/bench.sock"
let server = Process()
server.executableURL = URL(fileURLWithPath: serverBinary)
server.arguments = [
    "serve", "--data-dir", directory, "--socket-path", socket, "--http-address", "off", "--log-level", "error",
    "--max-concurrent-calls", "1024",
]
try server.run()
let serverPID = server.processIdentifier
defer { server.terminate() }
while !FileManager.default.fileExists(atPath: socket) { usleep(20_000) }
usleep(200_000)
let idleRSS = rssMiB(pid: serverPID)

// Seed: an admin, an API key, a custom role to update.
let key: String = try await AccessClient.withConnection(socketPath: socket) { client in
    let signup = try await client.call(Methods.SessionService.signup, SignupRequest(email: "bench@example.com", password: "Bench12345"))
    let session = [MetadataEntry("authorization", "Bearer " + signup.sessionToken)]
    _ = try await client.call(Methods.RoleService.createCustomRole, CreateCustomRoleRequest(roleName: "BENCH", baseRole: "GUEST"), metadata: session)
    return try await client.call(Methods.TokenService.addApiToken, AddApiTokenRequest(tokenUtility: "EXTERNAL_API"), metadata: session)
        .apiTokenList[0].key
}
let health = try MessageCodec.encode(HealthCheckRequest())
let healthCall: @Sendable (AccessClient) async -> Bool = { client in
    await client.call(method: Methods.Health.check.path, payload: health).status.code == .ok
}
let flip = Atomic<Int>(0)
let mutationCall: @Sendable (AccessClient) async -> Bool = { client in
    let value = flip.add(1, ordering: .relaxed).newValue % 2 == 0
    let payload = try! MessageCodec.encode(UpdateCustomRoleRequest(roleName: "BENCH", baseRole: "GUEST", defaultInviteRole: value))
    return await client.call(method: Methods.RoleService.updateCustomRole.path, payload: payload).status.code == .ok
}
let apiKey = [MetadataEntry("x-api-key", key)]

func repeatMeasure(_ body: () async throws -> Measured) async throws -> [Measured] {
    var runs: [Measured] = []
    for _ in 0..<repetitions { runs.append(try await body()) }
    return runs
}

func pin(_ pids: [Int32], _ cpus: String) { for pid in pids { _ = try? run(["taskset", "-pc", cpus, String(pid)]) } }

var rows: [Row] = []
let myPID = getpid()
print("measuring (\(repetitions) x \(seconds) s per case)…")

let cUnpinned = try await repeatMeasure { try pingpong(pingpongBinary, seconds: seconds, payload: payloadBytes, connections: 1, inflight: 1, pinned: false) }
let cPinned = try await repeatMeasure { try pingpong(pingpongBinary, seconds: seconds, payload: payloadBytes, connections: 1, inflight: 1, pinned: true) }
let cThroughput = try await repeatMeasure { try pingpong(pingpongBinary, seconds: seconds, payload: payloadBytes, connections: 4, inflight: 16, pinned: false) }
rows.append(Row(name: "C ping-pong (physical limit)", shape: "1×1", runs: cUnpinned, ratio: "1.00 (baseline)"))
rows.append(Row(name: "C ping-pong (physical limit)", shape: "1×1 pinned", runs: cPinned, ratio: "1.00 (baseline)"))
rows.append(Row(name: "C ping-pong (physical limit)", shape: "4×16", runs: cThroughput, ratio: "1.00 (baseline)"))

let healthUnpinned = try await repeatMeasure {
    try await drive(socket: socket, serverPID: serverPID, seconds: seconds, connections: 1, inflight: 1, metadata: [], call: healthCall)
}
pin([serverPID, myPID], "0")
let healthPinned = try await repeatMeasure {
    try await drive(socket: socket, serverPID: serverPID, seconds: seconds, connections: 1, inflight: 1, metadata: [], call: healthCall)
}
pin([serverPID, myPID], "0-\(ProcessInfo.processInfo.activeProcessorCount - 1)")
func p50Ratio(_ runs: [Measured], _ base: [Measured]) -> String {
    String(format: "p50 %.2f× C", Row(name: "", shape: "", runs: runs, ratio: "").median(\.p50) / max(0.1, Row(name: "", shape: "", runs: base, ratio: "").median(\.p50)))
}
rows.append(Row(name: "akto-access Health/Check", shape: "1×1", runs: healthUnpinned, ratio: p50Ratio(healthUnpinned, cUnpinned)))
rows.append(Row(name: "akto-access Health/Check", shape: "1×1 pinned", runs: healthPinned, ratio: p50Ratio(healthPinned, cPinned)))
for (connections, inflight) in [(1, 16), (4, 16), (16, 64)] {
    let runs = try await repeatMeasure {
        try await drive(socket: socket, serverPID: serverPID, seconds: seconds, connections: connections, inflight: inflight, metadata: [], call: healthCall)
    }
    let base = Row(name: "", shape: "", runs: cThroughput, ratio: "")
    let me = Row(name: "", shape: "", runs: runs, ratio: "")
    rows.append(Row(
        name: "akto-access Health/Check", shape: "\(connections)×\(inflight)", runs: runs,
        ratio: String(format: "rate %.2f× C 4×16; CPU/call %.1f× C", me.median(\.rate) / base.median(\.rate),
            me.median(\.serverCPUPerCall) / max(0.01, base.median(\.serverCPUPerCall)))))
}
let floor = try await repeatMeasure { try sqliteFloor(directory: directory, seconds: seconds) }
rows.append(Row(name: "SQLite floor (1 writer, FULL)", shape: "1×1", runs: floor, ratio: "1.00 (baseline)"))
for (connections, inflight) in [(1, 1), (16, 64)] {
    let runs = try await repeatMeasure {
        try await drive(socket: socket, serverPID: serverPID, seconds: seconds, connections: connections, inflight: inflight, metadata: apiKey, call: mutationCall)
    }
    let me = Row(name: "", shape: "", runs: runs, ratio: "")
    rows.append(Row(
        name: "akto-access UpdateCustomRole (durable)", shape: "\(connections)×\(inflight)", runs: runs,
        ratio: String(format: "rate %.2f× SQLite floor", me.median(\.rate) / Row(name: "", shape: "", runs: floor, ratio: "").median(\.rate))))
}

// Memory with 1,000 idle connections (preface sent, nothing else).
var idle: [Int32] = []
for _ in 0..<1000 {
    let fd = Foundation.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(socket.utf8)) }
    let ok = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    if ok == 0 { _ = Preface.bytes.withUnsafeBytes { write(fd, $0.baseAddress, 8) }; idle.append(fd) } else { close(fd) }
}
usleep(500_000)
let busyRSS = rssMiB(pid: serverPID)
for fd in idle { close(fd) }

// MARK: Report

let cpuModel = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.split(separator: "\n")
    .first { $0.hasPrefix("model name") }?.split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
var report = """
    # Benchmarks

    Produced by `tools/bench/run` on \(ProcessInfo.processInfo.activeProcessorCount) vCPUs (\(cpuModel)), \
    \(ProcessInfo.processInfo.operatingSystemVersionString), release builds, client and server on the same machine.
    Each case runs \(repetitions) × \(seconds) s; figures are the median with [min–max]. Shapes are connections × calls
    in flight. Latencies in µs; server CPU is the server process's utime+stime over the case ÷ calls.

    | case | shape | p50 µs | p99 µs | calls/s | server CPU µs/call | ratio |
    |---|---|---|---|---|---|---|

    """
for row in rows {
    report += "| \(row.name) | \(row.shape) | \(row.spread(\.p50)) | \(row.spread(\.p99)) | \(row.spread(\.rate)) | "
        + String(format: "%.1f", row.median(\.serverCPUPerCall)) + " | \(row.ratio) |\n"
}
report += """

    Memory (server RSS): idle \(String(format: "%.1f", idleRSS)) MiB; with \(idle.count) idle connections \
    \(String(format: "%.1f", busyRSS)) MiB.

    """
let notes = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("NOTES.md")
if let analysis = try? String(contentsOf: notes, encoding: .utf8) { report += "\n" + analysis }
print(report)
try report.write(toFile: output, atomically: true, encoding: .utf8)
