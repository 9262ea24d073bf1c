// Case 4: the same durable mutation through the HTTP gateway (`POST /api/updateCustomRole`, HTTP/1.1
// keep-alive), driven by wrk from Debian; one call in flight per connection, so the connection count is the
// concurrency.
import Foundation

func driveGateway(port: Int, apiKey: String, serverPID: Int32, seconds: Double, connections: Int, directory: String) throws
    -> Measured
{
    let script = directory + "/update-custom-role.lua"
    try """
        wrk.method = "POST"
        wrk.headers["Content-Type"] = "application/json"
        wrk.headers["x-api-key"] = "\(apiKey)"
        local n = 0
        request = function()
          n = n + 1
          local flag = (n % 2 == 0) and "true" or "false"
          return wrk.format(nil, "/api/updateCustomRole", nil,
            '{"roleName":"BENCH","baseRole":"GUEST","defaultInviteRole":' .. flag .. '}')
        end
        """.write(toFile: script, atomically: true, encoding: .utf8)
    let threads = min(2, connections)
    let duration = "\(max(1, Int(seconds.rounded())))s"
    let target = "http://127.0.0.1:\(port)"
    // Warm-up, not recorded.
    _ = try run(["wrk", "-t\(threads)", "-c\(connections)", "-d1s", "-s", script, target])
    let cpuBefore = cpuMicros(pid: serverPID)
    let output = try run(["wrk", "-t\(threads)", "-c\(connections)", "-d\(duration)", "--latency", "-s", script, target])
    let cpu = cpuMicros(pid: serverPID) - cpuBefore
    return try parseWrk(output, serverCPU: cpu)
}

struct WrkOutputError: Error, CustomStringConvertible {
    let output: String
    var description: String { "cannot read wrk's output:\n\(output)" }
}

/// Reads total requests, elapsed time, p50/p99 and the non-2xx count from wrk's `--latency` report. Calls that
/// failed (non-2xx, socket errors) are reported and not counted.
func parseWrk(_ output: String, serverCPU: Double) throws -> Measured {
    func micros(_ text: Substring) -> Double? {
        for (unit, factor) in [("us", 1.0), ("ms", 1_000.0), ("s", 1_000_000.0)] where text.hasSuffix(unit) {
            return Double(text.dropLast(unit.count)).map { $0 * factor }
        }
        return nil
    }
    var requests = 0, failed = 0
    var elapsed = 0.0, p50 = 0.0, p99 = 0.0
    for line in output.split(separator: "\n") {
        let words = line.split(separator: " ")
        if words.count >= 4, words[1] == "requests", words[2] == "in" {
            requests = Int(words[0]) ?? 0
            elapsed = micros(words[3].hasSuffix(",") ? words[3].dropLast() : words[3]).map { $0 / 1e6 } ?? 0
        } else if words.count == 2, words[0] == "50%" {
            p50 = micros(words[1]) ?? 0
        } else if words.count == 2, words[0] == "99%" {
            p99 = micros(words[1]) ?? 0
        } else if line.contains("Non-2xx or 3xx responses:") {
            failed += Int(words.last ?? "0") ?? 0
        } else if line.contains("Socket errors:") {
            // "Socket errors: connect 0, read 0, write 0, timeout 0"
            failed += words.compactMap { Int($0.trimmingCharacters(in: CharacterSet(charactersIn: ","))) }.reduce(0, +)
        }
    }
    guard requests > 0, elapsed > 0 else { throw WrkOutputError(output: output) }
    if failed > 0 { print("  (\(failed) failed HTTP calls)") }
    let ok = max(0, requests - failed)
    return Measured(calls: ok, seconds: elapsed, p50: p50, p99: p99, serverCPUPerCall: serverCPU / Double(max(ok, 1)))
}
