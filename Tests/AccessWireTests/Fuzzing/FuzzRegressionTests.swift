import AccessCore
import AccessWire
import AccessWireTesting
import Foundation
import Testing

/// Replays every input a fuzzer flagged (`Fixtures/fuzz-regressions/TARGET-NAME.bin`, see tools/fuzz/run)
/// through the same harness the fuzzer runs, plus the seed corpus shapes, so a fixed finding stays fixed.
@Suite struct FuzzRegressionTests {
    static func regressions() throws -> [(FuzzHarness.Target, String, [UInt8])] {
        guard
            let folder = Bundle.module.url(
                forResource: "fuzz-regressions", withExtension: nil, subdirectory: "Fixtures")
        else { return [] }
        return try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "bin" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
            .map { url in
                let name = url.deletingPathExtension().lastPathComponent
                let prefix = String(name.prefix { $0 != "-" })
                let target = try #require(
                    FuzzHarness.Target(rawValue: prefix), "\(name): unknown fuzz target \(prefix)")
                return (target, name, [UInt8](try Data(contentsOf: url)))
            }
    }

    @Test func everyFlaggedInputPassesTheHarness() throws {
        let inputs = try Self.regressions()
        #expect(!inputs.isEmpty, "the regression folder should hold at least the NaN finding")
        for (target, name, bytes) in inputs {
            do {
                try FuzzHarness.run(target, bytes)
            } catch {
                Issue.record("\(name): \(error)")
            }
        }
    }

    @Test func seedShapesPassAndRejectionsAreNotFindings() throws {
        // A valid frame is re-encoded and compared; malformed input is only rejected, never a finding.
        try FuzzHarness.run(.frame, [0, 0, 0, 0, 4, 0x22, 0x02, 0x08, 0x01])  // Ping{nonce: 1}
        try FuzzHarness.run(.frame, [1] + Array("AKRP".utf8) + [0, 1, 0, 0, 0, 0, 0, 2, 0xFF, 0xFF])
        try FuzzHarness.run(.message, [])
        try FuzzHarness.run(.json, [3] + Array("{\"nope\":".utf8))
    }
}
