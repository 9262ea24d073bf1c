// akto-bench: measures akto-access against the physical limit (a C ping-pong), the grpc-swift-2 peer and the
// SQLite floor, in one run, and prints a markdown table with ratios. Run through tools/bench/run.
//
//   akto-bench AKTO_ACCESS_BINARY PINGPONG_BINARY [SECONDS_PER_CASE] [OUTPUT.md]
//   akto-bench grpc-server SOCKET HEX_RESPONSE      (the peer's server process; started by the run)
//
// AKTO_BENCH_CASES=c,health,peer,authorize,mutation,gateway,forward-auth,memory,postgres picks cases (default: all). The postgres
// case needs AKTO_BENCH_POSTGRES_URL (tools/bench/run starts a throw-away durable cluster for it).
import AccessClient
import AccessCore
import AccessWire
import Foundation
import GRDB
import Histogram
import Synchronization

let arguments = CommandLine.arguments
if arguments.count == 4, arguments[1] == "grpc-server" {
    try await runPeerServer(socket: arguments[2], responseHex: arguments[3])
}
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
let knownCases: Set<String> = [
    "c", "health", "peer", "authorize", "cload", "mutation", "gateway", "forward-auth", "memory", "postgres",
]
let cases = Set((ProcessInfo.processInfo.environment["AKTO_BENCH_CASES"] ?? knownCases.sorted().joined(separator: ","))
    .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
guard cases.isSubset(of: knownCases), !cases.isEmpty else {
    print("AKTO_BENCH_CASES takes a comma-separated subset of \(knownCases.sorted().joined(separator: ",")); got \(cases.sorted())")
    exit(2)
}

let directory = NSTemporaryDirectory() + "akto-bench-\(getpid())"
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
let socket = directory + "/bench.sock"
let httpPort = try freePort()

/// A loopback TCP port nobody listens on right now.
func freePort() throws -> Int {
    let fd = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw POSIXError(.EADDRINUSE) }
    return Int(UInt16(bigEndian: address.sin_port))
}

func waitForSocket(_ path: String) {
    while !FileManager.default.fileExists(atPath: path) { usleep(20_000) }
    usleep(200_000)
}

let server = Process()
server.executableURL = URL(fileURLWithPath: serverBinary)
server.arguments = [
    "serve", "--metrics-address", "off", "--data-dir", directory, "--socket-path", socket, "--http-address", "127.0.0.1:\(httpPort)",
    "--log-level", "error", "--max-concurrent-calls", "1024",
    // Every benchmark client is one peer (127.0.0.1): the per-peer connection cap (<doc:Hardening>) would close the 1,024-connection
    // case's sockets.
    "--http-max-connections-per-peer", "2048",
]
// The forward-auth case: nginx in front asks /auth/check for these paths (only then: an older server binary,
// run for an A/B of the other cases, does not know the option).
if cases.contains("forward-auth") { server.arguments! += ["--forward-auth-routes", directory + "/routes"] }
try "GET /inventory/ INVENTORY READ\n".write(toFile: directory + "/routes", atomically: true, encoding: .utf8)
try server.run()
let serverPID = server.processIdentifier
defer { server.terminate() }
waitForSocket(socket)

// Seed: an admin, an API key, a custom role to update; and the exact Health response bytes for the peer.
let key = try await seedMutationTarget(socket: socket)
let healthResponse: [UInt8] = try await AccessClient.withConnection(socketPath: socket) { client in
    await client.call(method: Methods.Health.check.path, payload: try MessageCodec.encode(HealthCheckRequest())).payload
}
let health = try MessageCodec.encode(HealthCheckRequest())
let health0 = health
let healthCall: @Sendable (AccessClient) async -> Bool = { client in
    await client.call(method: Methods.Health.check.path, payload: health).status.code == .ok
}
let mutationCall = makeMutationCall()
let apiKey = [MetadataEntry("x-api-key", key)]

func repeatMeasure(_ body: () async throws -> Measured) async throws -> [Measured] {
    var runs: [Measured] = []
    for _ in 0..<repetitions { runs.append(try await body()) }
    return runs
}

func pin(_ pids: [Int32], _ cpus: String) { for pid in pids { _ = try? run(["taskset", "-pc", cpus, String(pid)]) } }
func median(_ runs: [Measured], _ key: (Measured) -> Double) -> Double { runs.map(key).sorted()[runs.count / 2] }

var rows: [ReportRow] = []
let myPID = getpid()
let allCPUs = "0-\(ProcessInfo.processInfo.activeProcessorCount - 1)"
let shapes = [(1, 16), (4, 16), (16, 64)]
print("measuring (\(repetitions) × \(seconds) s per case; cases: \(cases.sorted().joined(separator: ",")))…")

/// 1×1 unpinned and pinned, then the throughput shapes, for one contender.
func contender(
    _ name: String, pid: Int32, measure: @escaping (_ connections: Int, _ inflight: Int) async throws -> Measured
) async throws -> [String: [Measured]] {
    var results: [String: [Measured]] = [:]
    results["1×1"] = try await repeatMeasure { try await measure(1, 1) }
    pin([pid, myPID], "0")
    results["1×1 pinned"] = try await repeatMeasure { try await measure(1, 1) }
    pin([pid, myPID], allCPUs)
    for (connections, inflight) in shapes {
        results["\(connections)×\(inflight)"] = try await repeatMeasure { try await measure(connections, inflight) }
    }
    print("  \(name) done")
    return results
}

var cRuns: [String: [Measured]] = [:]
if cases.contains("c") {
    cRuns["1×1"] = try await repeatMeasure { try pingpong(pingpongBinary, seconds: seconds, payload: payloadBytes, connections: 1, inflight: 1, pinned: false) }
    cRuns["1×1 pinned"] = try await repeatMeasure { try pingpong(pingpongBinary, seconds: seconds, payload: payloadBytes, connections: 1, inflight: 1, pinned: true) }
    cRuns["4×16"] = try await repeatMeasure { try pingpong(pingpongBinary, seconds: seconds, payload: payloadBytes, connections: 4, inflight: 16, pinned: false) }
    for shape in ["1×1", "1×1 pinned", "4×16"] {
        rows.append(ReportRow(name: "C ping-pong (physical limit)", shape: shape, runs: cRuns[shape]!, ratio: "1.00 (baseline)"))
    }
}

var peerRuns: [String: [Measured]] = [:]
if cases.contains("peer") {
    let peerSocket = directory + "/grpc.sock"
    let peer = Process()
    peer.executableURL = URL(fileURLWithPath: "/proc/self/exe")
    peer.arguments = ["grpc-server", peerSocket, healthResponse.map { String(format: "%02x", $0) }.joined()]
    try peer.run()
    defer { peer.terminate() }
    waitForSocket(peerSocket)
    peerRuns = try await contender("grpc-swift-2 peer", pid: peer.processIdentifier) { connections, inflight in
        try await drivePeer(socket: peerSocket, serverPID: peer.processIdentifier, seconds: seconds, connections: connections, inflight: inflight)
    }
    peer.terminate()
    for shape in ["1×1", "1×1 pinned"] + shapes.map({ "\($0.0)×\($0.1)" }) {
        rows.append(ReportRow(name: "grpc-swift-2 peer Health/Check", shape: shape, runs: peerRuns[shape]!, ratio: "1.00 (baseline)"))
    }
}

if cases.contains("health") {
    let runs = try await contender("akto-access Health", pid: serverPID) { connections, inflight in
        try await drive(socket: socket, serverPID: serverPID, seconds: seconds, connections: connections, inflight: inflight, metadata: [], call: healthCall)
    }
    for shape in ["1×1", "1×1 pinned"] + shapes.map({ "\($0.0)×\($0.1)" }) {
        let me = runs[shape]!
        var ratios: [String] = []
        if shape.hasPrefix("1×1") {
            if let c = cRuns[shape] { ratios.append(String(format: "p50 %.2f× C", median(me, \.p50) / max(0.1, median(c, \.p50)))) }
        } else if let c = cRuns["4×16"] {
            ratios.append(String(format: "CPU/call %.0f× C", median(me, \.serverCPUPerCall) / max(0.01, median(c, \.serverCPUPerCall))))
        }
        if let peer = peerRuns[shape] {
            if shape.hasPrefix("1×1") {
                ratios.append(String(format: "p50 %.2f× gRPC", median(me, \.p50) / max(0.1, median(peer, \.p50))))
            }
            ratios.append(String(format: "rate %.2f× gRPC", median(me, \.rate) / max(0.1, median(peer, \.rate))))
            ratios.append(String(format: "CPU/call %.2f× gRPC", median(me, \.serverCPUPerCall) / max(0.01, median(peer, \.serverCPUPerCall))))
        }
        rows.append(ReportRow(name: "akto-access Health/Check", shape: shape, runs: me, ratio: ratios.joined(separator: "; ")))
    }
}

var healthRuns: [String: [Measured]] = [:]
if cases.contains("authorize") {
    let authorizeCall = try makeAuthorizeCall()
    let sessionToken = try await AccessClient.withConnection(socketPath: socket) { client in
        try await client.call(
            Methods.SessionService.login, LoginRequest(email: "bench@example.com", password: "Secret12345-horse")
        ).sessionToken
    }
    let session = [MetadataEntry("authorization", "Bearer " + sessionToken)]
    for (connections, inflight) in [(1, 1), (4, 16)] {
        let shape = "\(connections)×\(inflight)"
        if healthRuns[shape] == nil {
            healthRuns[shape] = try await repeatMeasure {
                try await drive(socket: socket, serverPID: serverPID, seconds: seconds, connections: connections, inflight: inflight, metadata: [], call: healthCall)
            }
        }
        let runs = try await repeatMeasure {
            try await drive(socket: socket, serverPID: serverPID, seconds: seconds, connections: connections, inflight: inflight, metadata: apiKey, call: authorizeCall)
        }
        var ratios = [String(format: "rate %.2f× Health", median(runs, \.rate) / max(0.1, median(healthRuns[shape]!, \.rate)))]
        if shape == "1×1", let c = cRuns["1×1"] {
            ratios.append(String(format: "p50 %.2f× C", median(runs, \.p50) / max(0.1, median(c, \.p50))))
        } else if let c = cRuns[shape] {
            ratios.append(String(format: "CPU/call %.0f× C", median(runs, \.serverCPUPerCall) / max(0.01, median(c, \.serverCPUPerCall))))
        }
        // The authenticated read every real client makes, for comparison (issue 20's goal: ≤ 1.5× / ≥ 0.6× Health).
        let me = try MessageCodec.encode(MeRequest())
        let meRuns = try await repeatMeasure {
            try await drive(socket: socket, serverPID: serverPID, seconds: seconds, connections: connections, inflight: inflight, metadata: apiKey) { client in
                await client.call(method: Methods.SessionService.me.path, payload: me).status.code == .ok
            }
        }
        let meRatio = shape == "1×1"
            ? String(format: "p50 %.2f× Health", median(meRuns, \.p50) / max(0.1, median(healthRuns[shape]!, \.p50)))
            : String(format: "rate %.2f× Health", median(meRuns, \.rate) / max(0.1, median(healthRuns[shape]!, \.rate)))
        if shape == "1×1" {
            ratios.insert(String(format: "p50 %.2f× Health", median(runs, \.p50) / max(0.1, median(healthRuns[shape]!, \.p50))), at: 0)
        }
        rows.append(ReportRow(name: "akto-access Health/Check (same run, for Authorize)", shape: shape, runs: healthRuns[shape]!, ratio: "1.00 (baseline)"))
        rows.append(ReportRow(name: "Authorize by API key (INVENTORY READ)", shape: shape, runs: runs, ratio: ratios.joined(separator: "; ")))
        rows.append(ReportRow(name: "Me by API key (authenticated read)", shape: shape, runs: meRuns, ratio: meRatio))
        let bySession = try await repeatMeasure {
            try await drive(socket: socket, serverPID: serverPID, seconds: seconds, connections: connections, inflight: inflight, metadata: session) { client in
                await client.call(method: Methods.SessionService.me.path, payload: me).status.code == .ok
            }
        }
        let sessionRatio = shape == "1×1"
            ? String(format: "p50 %.2f× Health", median(bySession, \.p50) / max(0.1, median(healthRuns[shape]!, \.p50)))
            : String(format: "rate %.2f× Health", median(bySession, \.rate) / max(0.1, median(healthRuns[shape]!, \.rate)))
        rows.append(ReportRow(name: "Me by session (authenticated read)", shape: shape, runs: bySession, ratio: sessionRatio))
    }
}

if cases.contains("forward-auth") {
    if let pair = try NginxPair.start(gatewayPort: httpPort, directory: directory) {
        defer { pair.process.terminate() }
        for connections in [1, 64] {
            let plain = try await repeatMeasure {
                try driveNginx(port: pair.plain, apiKey: key, serverPID: serverPID, seconds: seconds, connections: connections, directory: directory)
            }
            let checked = try await repeatMeasure {
                try driveNginx(port: pair.checked, apiKey: key, serverPID: serverPID, seconds: seconds, connections: connections, directory: directory)
            }
            rows.append(ReportRow(name: "nginx proxying (no auth)", shape: "\(connections) conns", runs: plain, ratio: "1.00 (baseline)"))
            rows.append(ReportRow(
                name: "nginx auth_request → /auth/check (API key)", shape: "\(connections) conns", runs: checked,
                ratio: String(format: "rate %.2f× plain nginx", median(checked, \.rate) / max(0.1, median(plain, \.rate)))))
        }
        pair.process.terminate()
    } else {
        print("  forward-auth: skipped (nginx is missing; tools/test installs it)")
    }
}

var floor: [Measured] = []
var mutationRuns: [String: [Measured]] = [:]
if cases.contains("mutation") || cases.contains("gateway") || cases.contains("cload") {
    floor = try await repeatMeasure { try sqliteFloor(directory: directory, seconds: seconds) }
    rows.append(ReportRow(name: "SQLite floor (1 writer, FULL; CPU is the writer's)", shape: "1×1", runs: floor, ratio: "1.00 (baseline)"))
}
if cases.contains("mutation") {
    for (connections, inflight) in [(1, 1), (1, 16), (4, 16), (16, 64)] {
        let runs = try await repeatMeasure {
            try await drive(socket: socket, serverPID: serverPID, seconds: seconds, connections: connections, inflight: inflight, metadata: apiKey, call: mutationCall)
        }
        mutationRuns["\(connections)×\(inflight)"] = runs
        rows.append(ReportRow(
            name: "akto-access UpdateCustomRole (durable)", shape: "\(connections)×\(inflight)", runs: runs,
            ratio: String(format: "rate %.2f× SQLite floor", median(runs, \.rate) / median(floor, \.rate))))
    }
}
// The calls clients make, driven by the C load generator (a client that costs next to nothing, so the
// figures are the server's): Health beside the C ping-pong, the authenticated reads and the decision beside
// Health from the same generator, and the durable mutation beside the SQLite floor.
if cases.contains("cload") {
    let loader = URL(fileURLWithPath: pingpongBinary).deletingLastPathComponent().appendingPathComponent("akrp-load").path
    let sessionToken = try await AccessClient.withConnection(socketPath: socket) { client in
        try await client.call(
            Methods.SessionService.login, LoginRequest(email: "bench@example.com", password: "Secret12345-horse")
        ).sessionToken
    }
    let session = [MetadataEntry("authorization", "Bearer " + sessionToken)]
    let authorize = try MessageCodec.encode(AuthorizeRequest(check: DecisionCheck(feature: "INVENTORY", access: "READ")))
    let mutation = try MessageCodec.encode(UpdateCustomRoleRequest(roleName: "BENCH", baseRole: "GUEST", defaultInviteRole: true))
    func measure(_ method: String, _ payload: [UInt8], _ metadata: [MetadataEntry], _ connections: Int, _ inflight: Int, pinned: Bool = false) throws -> [Measured] {
        if pinned { pin([serverPID], "0") }
        defer { if pinned { pin([serverPID], allCPUs) } }
        return try (0..<repetitions).map { _ in
            try akrpLoad(loader, socket: socket, serverPID: serverPID, seconds: seconds, connections: connections, inflight: inflight,
                         method: method, payload: payload, metadata: metadata, pinned: pinned)
        }
    }
    func ratio(_ runs: [Measured], _ base: [Measured], _ key: KeyPath<Measured, Double>, _ label: String) -> String {
        let value: (Measured) -> Double = { $0[keyPath: key] }
        return String(format: "%@ %.2f× %@", key == \Measured.p50 ? "p50" : "rate", median(runs, value) / max(0.01, median(base, value)), label)
    }
    var health: [String: [Measured]] = [:]
    health["1×1"] = try measure(Methods.Health.check.path, health0, [], 1, 1)
    health["1×1 pinned"] = try measure(Methods.Health.check.path, health0, [], 1, 1, pinned: true)
    health["4×16"] = try measure(Methods.Health.check.path, health0, [], 4, 16)
    for shape in ["1×1", "1×1 pinned", "4×16"] {
        var text = "1.00 (baseline for the rows below)"
        if let c = cRuns[shape] {
            text = shape == "4×16"
                ? String(format: "CPU/call %.1f µs (goal ≤ 10); rate %.3f× C", median(health[shape]!, \.serverCPUPerCall), median(health[shape]!, \.rate) / median(c, \.rate))
                : ratio(health[shape]!, c, \.p50, "C (goal ≤ \(shape == "1×1" ? 3 : 4)×)")
        }
        rows.append(ReportRow(name: "C load → Health/Check", shape: shape, runs: health[shape]!, ratio: text))
    }
    for (name, method, payload, metadata) in [
        ("C load → Me by API key", Methods.SessionService.me.path, [UInt8](), apiKey),
        ("C load → Me by session", Methods.SessionService.me.path, [UInt8](), session),
        ("C load → Authorize by API key", Methods.DecisionService.authorize.path, authorize, apiKey),
    ] {
        let isAuthorize = method == Methods.DecisionService.authorize.path
        let one = try measure(method, payload, metadata, 1, 1)
        rows.append(ReportRow(name: name, shape: "1×1", runs: one, ratio: ratio(one, health["1×1"]!, \.p50, "Health (goal ≤ \(isAuthorize ? "1.2" : "1.5")×)")))
        let many = try measure(method, payload, metadata, 4, 16)
        rows.append(ReportRow(name: name, shape: "4×16", runs: many, ratio: ratio(many, health["4×16"]!, \.rate, "Health (goal ≥ \(isAuthorize ? "0.7" : "0.6")×)")))
    }
    for (connections, inflight) in [(1, 1), (16, 64)] {
        let runs = try measure(Methods.RoleService.updateCustomRole.path, mutation, apiKey, connections, inflight)
        var text = ratio(runs, floor, \.rate, "SQLite floor")
        if connections == 16 { text += " (goal ≥ 2×, ≤ 100 µs CPU/call)" }
        rows.append(ReportRow(name: "C load → UpdateCustomRole (durable)", shape: "\(connections)×\(inflight)", runs: runs, ratio: text))
    }
}
if cases.contains("gateway") {
    for (connections, inflight) in [(1, 1), (1, 16), (4, 16), (16, 64)] {
        let total = connections * inflight
        let runs = try await repeatMeasure {
            try driveGateway(port: httpPort, apiKey: key, serverPID: serverPID, seconds: seconds, connections: total, directory: directory)
        }
        var ratio = String(format: "rate %.2f× SQLite floor", median(runs, \.rate) / median(floor, \.rate))
        if let binary = mutationRuns["\(connections)×\(inflight)"] {
            ratio += String(format: "; rate %.2f× binary RPC", median(runs, \.rate) / median(binary, \.rate))
        }
        rows.append(ReportRow(
            name: "gateway POST /api/updateCustomRole (durable)", shape: "\(total) conns (≙ \(connections)×\(inflight))",
            runs: runs, ratio: ratio))
    }
}

if cases.contains("postgres") {
    if let url = ProcessInfo.processInfo.environment["AKTO_BENCH_POSTGRES_URL"], !url.isEmpty {
        rows += try await postgresCases(
            serverBinary: serverBinary, clusterURL: url, seconds: seconds, repetitions: repetitions, median: median)
    } else {
        print("  postgres: skipped (AKTO_BENCH_POSTGRES_URL is not set; tools/bench/run sets it)")
    }
}

// Memory: a fresh server with the default configuration (socket and HTTP gateway), so the load cases above
// leave no heap high-water mark behind; RSS idle, then with 1,000 idle connections (preface sent, nothing else).
var idle: [Int32] = []
var idleRSS = 0.0
var busyRSS = 0.0
if cases.contains("memory") {
    let memoryDirectory = directory + "/memory"
    try FileManager.default.createDirectory(atPath: memoryDirectory, withIntermediateDirectories: true)
    let memorySocket = memoryDirectory + "/m.sock"
    let fresh = Process()
    fresh.executableURL = URL(fileURLWithPath: serverBinary)
    fresh.arguments = [
        "serve", "--metrics-address", "off", "--data-dir", memoryDirectory, "--socket-path", memorySocket,
        "--http-address", "127.0.0.1:\(try freePort())", "--log-level", "error",
    ]
    try fresh.run()
    defer { fresh.terminate() }
    waitForSocket(memorySocket)
    usleep(800_000)
    idleRSS = rssMiB(pid: fresh.processIdentifier)
    for _ in 0..<1000 {
        let fd = Foundation.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(memorySocket.utf8)) }
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if ok == 0 { _ = Preface.bytes.withUnsafeBytes { write(fd, $0.baseAddress, 8) }; idle.append(fd) } else { close(fd) }
    }
    usleep(800_000)
    busyRSS = rssMiB(pid: fresh.processIdentifier)
    for fd in idle { close(fd) }
    fresh.terminate()
}

// MARK: Report

let cpuModel = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.split(separator: "\n")
    .first { $0.hasPrefix("model name") }?.split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
var report = """
    # Benchmarks

    Produced by `tools/bench/run` on \(ProcessInfo.processInfo.activeProcessorCount) vCPUs (\(cpuModel)), \
    \(ProcessInfo.processInfo.operatingSystemVersionString), release builds, client and server on the same machine.
    Each case runs \(repetitions) × \(seconds) s after a warm-up; figures are the median with [min–max]. Shapes
    are connections × calls in flight ("pinned": client and server on one CPU with taskset). Latencies in µs;
    server CPU is the server process's utime+stime over the measured part ÷ calls. The gRPC peer is
    grpc-swift-2 \(grpcVersion) with grpc-swift-nio-transport (HTTP/2 over a Unix socket) answering the same
    bytes as Health/Check.

    | case | shape | p50 µs | p99 µs | calls/s | server CPU µs/call | ratio |
    |---|---|---|---|---|---|---|

    """
for row in rows {
    report += "| \(row.name) | \(row.shape) | \(row.spread(\.p50)) | \(row.spread(\.p99)) | \(row.spread(\.rate)) | "
        + String(format: "%.1f", row.median(\.serverCPUPerCall)) + " | \(row.ratio) |\n"
}
if cases.contains("memory") {
    report += """

        Memory (RSS of a fresh server with the default configuration, socket and HTTP gateway): idle \
        \(String(format: "%.1f", idleRSS)) MiB (target ≤ 40); with \(idle.count) idle connections \
        \(String(format: "%.1f", busyRSS)) MiB (target ≤ 150).

        """
}
let notes = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("NOTES.md")
if let analysis = try? String(contentsOf: notes, encoding: .utf8) { report += "\n" + analysis }
print(report)
try report.write(toFile: output, atomically: true, encoding: .utf8)
