// libFuzzer entry point (built with -sanitize=fuzzer,address by tools/fuzz/run). AKTO_FUZZ_TARGET picks what the
// input feeds (`FuzzHarness.Target`: frame, message or json); a broken invariant is reported as a crash.
import AccessCore
import AccessWire
import AccessWireTesting
import Foundation

let fuzzTarget: FuzzHarness.Target = {
    let name = ProcessInfo.processInfo.environment["AKTO_FUZZ_TARGET"] ?? "frame"
    guard let target = FuzzHarness.Target(rawValue: name) else { fatalError("AKTO_FUZZ_TARGET must be frame, message or json") }
    return target
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    do {
        try FuzzHarness.run(fuzzTarget, bytes)
    } catch {
        fatalError("\(error)")
    }
    return 0
}

// SwiftPM links an executable target with `main` aliased to `akto_fuzz_main`; hand control to libFuzzer's
// driver from there.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@_cdecl("akto_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments, { data, size in fuzzOne(data, size) })
}
