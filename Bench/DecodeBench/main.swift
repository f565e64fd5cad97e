// Decode + validate throughput on one large module, release build, one core.
//
// Usage: DecodeBench [PATH] [SECONDS] [validate]   (default Bench/out/large.wasm, built by
// Bench/large-module/build.sh). Prints MB/s for:
//   baseline  - a LEB128 walk over every byte of the module (ByteReader.readU32 until the end),
//               the cheapest pass anything that reads the binary can make; the ratio shows how
//               close full decoding gets to just touching the bytes.
//   decode    - ModuleDecoder.decode(validateFunctions: false): sections only, bodies as ranges.
//   validate  - ModuleDecoder.decode(validateFunctions: true): every body decoded and type-checked.
import Foundation
import WasmDecoder

let arguments = CommandLine.arguments
let path = arguments.count > 1 ? arguments[1] : "Bench/out/large.wasm"
let seconds = arguments.count > 2 ? Double(arguments[2]) ?? 3 : 3
/// A third argument `validate` runs only the validating pass (for profiling it alone).
let onlyValidate = arguments.count > 3 && arguments[3] == "validate"

guard let data = FileManager.default.contents(atPath: path) else {
    print("cannot read \(path); build it with Bench/large-module/build.sh")
    exit(2)
}
let bytes = [UInt8](data)
let megabytes = Double(bytes.count) / 1_000_000

/// Runs `body` repeatedly for about `seconds` and returns the best MB/s of the runs.
func measure(_ name: String, _ body: () throws -> Int) rethrows -> Double {
    var best = 0.0
    var sink = 0
    let end = Date().addingTimeInterval(seconds)
    var runs = 0
    repeat {
        let start = DispatchTime.now().uptimeNanoseconds
        sink &+= try body()
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        best = max(best, megabytes / elapsed)
        runs += 1
    } while Date() < end
    let formatted = String(format: "%8.1f", best)
    print("\(name.padding(toLength: 10, withPad: " ", startingAt: 0)) \(formatted) MB/s  (best of \(runs), sink \(sink & 0xff))")
    return best
}

print("module: \(path), \(bytes.count) bytes")
if onlyValidate {
    _ = try measure("validate") { try ModuleDecoder.decode(bytes, validateFunctions: true).functionBodies.count }
    exit(0)
}
let baseline = measure("baseline") {
    var reader = ByteReader(bytes: bytes)
    var sum = 0
    while !reader.isAtEnd {
        sum &+= Int((try? reader.readU32()) ?? 0)
    }
    return sum
}
_ = try measure("decode") { try ModuleDecoder.decode(bytes, validateFunctions: false).functionBodies.count }
let validate = try measure("validate") { try ModuleDecoder.decode(bytes, validateFunctions: true).functionBodies.count }
print(String(format: "validate/baseline: %.2fx slower", baseline / validate))
