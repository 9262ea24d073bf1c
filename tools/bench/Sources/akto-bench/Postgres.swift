import AccessClient
import AccessCore
import AccessWire
import Foundation
import Synchronization

/// The durable mutation on PostgreSQL (<doc:Storage>): the same UpdateCustomRole by API key as the SQLite case,
/// with one server process and with two processes sharing the database (calls spread over both sockets), next
/// to PostgreSQL's own floor for the same statement: pgbench running the single-row UPDATE in a transaction
/// at the same concurrency against the same row.
func postgresCases(
    serverBinary: String, clusterURL: String, seconds: Double, repetitions: Int, median: ([Measured], (Measured) -> Double) -> Double
) async throws -> [ReportRow] {
    let name = "akto_bench_\(getpid())"
    _ = try run(["psql", clusterURL, "-qc", "CREATE DATABASE \(name)"])
    let databaseURL =
        clusterURL.contains("/postgres?")
        ? clusterURL.replacingOccurrences(of: "/postgres?", with: "/\(name)?")
        : String(clusterURL[..<clusterURL.lastIndex(of: "/")!]) + "/" + name
    let directory = NSTemporaryDirectory() + "akto-bench-pg-\(getpid())"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)

    func start(_ label: String) throws -> (Process, String) {
        let socket = directory + "/\(label).sock"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: serverBinary)
        process.arguments = [
            "serve", "--metrics-address", "off", "--data-dir", directory, "--socket-path", socket, "--http-address", "off", "--log-level", "error",
            "--max-concurrent-calls", "1024",
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["AKTO_ACCESS_DATABASE_URL"] = databaseURL
        process.environment = environment
        try process.run()
        while !FileManager.default.fileExists(atPath: socket) { usleep(20_000) }
        usleep(200_000)
        return (process, socket)
    }

    let (a, socketA) = try start("a")
    defer { a.terminate() }
    let key = try await seedMutationTarget(socket: socketA)
    let mutation = makeMutationCall()
    let metadata = [MetadataEntry("x-api-key", key)]

    func drive(_ sockets: [String], _ pids: [Int32], connections: Int, inflight: Int) async throws -> Measured {
        let next = Atomic<Int>(0)
        return try await load(
            serverPID: pids[0], otherServerPIDs: Array(pids.dropFirst()), seconds: seconds, connections: connections,
            inflight: inflight
        ) { body in
            let socket = sockets[next.add(1, ordering: .relaxed).oldValue % sockets.count]
            try await AccessClient.withConnection(socketPath: socket, defaultMetadata: metadata) { client in
                await body { await mutation(client) }
            }
        }
    }

    let shapes = [(1, 1), (4, 16), (16, 64)]
    var rows: [ReportRow] = []
    var floors: [String: [Measured]] = [:]
    for (connections, inflight) in shapes {
        // pgbench opens one connection per client; past 64 it only measures connection overhead (and the
        // cluster's max_connections), so the floor's concurrency is capped there.
        let clients = min(connections * inflight, 64)
        let runs = try (0..<repetitions).map { _ in try pgbench(databaseURL, clients: clients, seconds: seconds, directory: directory) }
        floors["\(connections)×\(inflight)"] = runs
        rows.append(ReportRow(
            name: "PostgreSQL floor (pgbench, same UPDATE, same row; p50 = mean)", shape: "\(clients) clients (for \(connections)×\(inflight))", runs: runs,
            ratio: "1.00 (baseline)"))
    }
    for (connections, inflight) in shapes {
        var runs: [Measured] = []
        for _ in 0..<repetitions { runs.append(try await drive([socketA], [a.processIdentifier], connections: connections, inflight: inflight)) }
        rows.append(ReportRow(
            name: "UpdateCustomRole on PostgreSQL, 1 process", shape: "\(connections)×\(inflight)", runs: runs,
            ratio: String(format: "rate %.2f× PostgreSQL floor", median(runs, \.rate) / median(floors["\(connections)×\(inflight)"]!, \.rate))))
    }
    let (b, socketB) = try start("b")
    defer { b.terminate() }
    for (connections, inflight) in shapes where connections > 1 {
        var runs: [Measured] = []
        for _ in 0..<repetitions {
            runs.append(try await drive(
                [socketA, socketB], [a.processIdentifier, b.processIdentifier], connections: connections, inflight: inflight))
        }
        rows.append(ReportRow(
            name: "UpdateCustomRole on PostgreSQL, 2 processes", shape: "\(connections)×\(inflight)", runs: runs,
            ratio: String(format: "rate %.2f× PostgreSQL floor", median(runs, \.rate) / median(floors["\(connections)×\(inflight)"]!, \.rate))))
    }
    print("  PostgreSQL done")
    return rows
}

/// pgbench running the server's statement (one row, flipped) in a transaction, durable commits.
func pgbench(_ databaseURL: String, clients: Int, seconds: Double, directory: String) throws -> Measured {
    let script = directory + "/update.sql"
    try """
        BEGIN;
        UPDATE custom_roles SET default_invite_role = NOT default_invite_role WHERE account_id = 1000000 AND name = 'BENCH';
        COMMIT;
        """.write(toFile: script, atomically: true, encoding: .utf8)
    let bin = try run(["sh", "-c", "ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1"]).trimmingCharacters(in: .whitespacesAndNewlines)
    // pgbench ends -T runs with SIGALRM, which this process's threads block (and children inherit the mask):
    // unblock it before exec.
    let unblock = "import os, signal, sys; signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGALRM]); os.execv(sys.argv[1], sys.argv[1:])"
    let output = try run([
        "python3", "-c", unblock, bin + "/pgbench", "-n", "-f", script, "-c", String(clients), "-j", String(min(2, clients)), "-T", String(max(1, Int(seconds.rounded()))),
        "-r", databaseURL,
    ])
    func number(after label: String) -> Double {
        guard let range = output.range(of: label) else { return 0 }
        let rest = output[range.upperBound...].drop(while: { $0 == " " || $0 == "=" })
        return Double(rest.prefix(while: { $0.isNumber || $0 == "." })) ?? 0
    }
    let tps = number(after: "tps")
    let latency = number(after: "latency average") * 1000  // ms → µs
    return Measured(
        calls: Int(tps * seconds), seconds: seconds, p50: latency, p99: 0, serverCPUPerCall: 0)
}
