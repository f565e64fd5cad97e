// Compile vs load vs instantiate, measured separately on one module, in one run:
//   compile      ModuleCompiler.compile (decode + validate + generate), 1 thread and N threads
//   encode       Artifact.encode (what `shoal compile` adds after compiling)
//   read         the artifact file read into a fresh private mapping (ArtifactImage; page cache warm)
//   verify+map   Artifact checks (checksum, framing, contract, module section, code tables), then the
//                page-aligned code made read+execute where it was read and registered (no copy)
//   instantiate  a fresh instance in a region slot (memory image copied in)
// Usage: swift build -c release --product ArtifactBench && .build/release/ArtifactBench FILE.wasm [RUNS]
import Artifacts
import CShoal
import Compiler
import Foundation
import Runtime
import RuntimeABI
import WasmCore
import WasmText

let arguments = CommandLine.arguments
guard arguments.count > 1 else {
    print("usage: ArtifactBench FILE.wasm [RUNS]")
    exit(2)
}
let path = arguments[1]
let runs = arguments.count > 2 ? Int(arguments[2]) ?? 5 : 5
let bytes = try TextFormat.binary(from: [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
let threads = ProcessInfo.processInfo.activeProcessorCount
let options = CompileOptions(heapMode: .bounded)

func time<T>(_ body: () throws -> T) rethrows -> (T, Double) {
    let t0 = DispatchTime.now().uptimeNanoseconds
    let value = try body()
    return (value, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
}

func stubImports(_ module: WasmCore.Module) -> [String: Extern] {
    var stubs: [String: Extern] = [:]
    for i in module.imports {
        guard case .function(let t) = i.descriptor else { continue }
        stubs["\(i.module)\u{0}\(i.name)"] = .function(Function(HostFunction(type: module.types[Int(t)]) { _, _ in
            throw RuntimeError("not called in this benchmark")
        }))
    }
    return stubs
}

func summary(_ name: String, _ samples: [Double]) -> Double {
    let sorted = samples.sorted()
    let median = sorted[sorted.count / 2]
    print(name.padding(toLength: 34, withPad: " ", startingAt: 0)
          + String(format: "min %9.3f ms   median %9.3f ms   max %9.3f ms", sorted.first!, median, sorted.last!))
    return median
}

if arguments.count > 3, arguments[3] == "load-only" {
    // For profiles: only the load path, many times.
    let compiled = try ModuleCompiler.compile(bytes: bytes, options: options)
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("artifact-bench-load-\(getpid()).shoal")
    try Data(try Artifact.encode(compiled, sourceSHA256: [UInt8](repeating: 0, count: 32))).write(to: file)
    let t0 = DispatchTime.now().uptimeNanoseconds
    for _ in 0..<runs { _ = try ArtifactImage(contentsOf: file.path).load(requirements: LoadRequirements()) }
    print(String(format: "load-only: %.3f ms per load", Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6 / Double(runs)))
    try? FileManager.default.removeItem(at: file)
    exit(0)
}
print("\(path): \(bytes.count) bytes of WebAssembly; \(runs) runs each; \(threads) cores; bounded heap")
var compile1: [Double] = [], compileN: [Double] = [], encode: [Double] = [], read: [Double] = [], verify: [Double] = []
var instantiate: [Double] = [], crc: [Double] = []
var artifactSize = 0, codeSize = 0
let file = FileManager.default.temporaryDirectory.appendingPathComponent("artifact-bench-\(getpid()).shoal")
defer { try? FileManager.default.removeItem(at: file) }
let memoryPages = 65_536
let region = try Region(Region.Configuration(slotCount: 1, heapMode: .bounded, memoryPages: memoryPages, stackSize: 1 << 20,
                                             guardPages: .auto))
for _ in 0..<runs {
    let (compiled, t1) = try time { try ModuleCompiler.compile(bytes: bytes, options: options) }
    compile1.append(t1)
    let (_, tN) = try time { try ModuleCompiler.compile(bytes: bytes, options: options, parallelism: threads) }
    compileN.append(tN)
    let (artifact, te) = try time { try Artifact.encode(compiled, sourceSHA256: [UInt8](repeating: 0, count: 32)) }
    encode.append(te)
    artifactSize = artifact.count
    codeSize = compiled.code.count
    try Data(artifact).write(to: file)
    let (_, tc) = time { artifact.withUnsafeBytes { shoal_crc32c(0, $0.baseAddress, $0.count) } }
    crc.append(tc)
    let (image, tr) = try time { try ArtifactImage(contentsOf: file.path) }
    read.append(tr)
    let (loadedPair, tv) = try time { try image.load(requirements: LoadRequirements()) }
    verify.append(tv)
    let loaded = loadedPair.module
    let (_, ti) = try time { () throws -> Instance in
        let store = Store(region: region)
        // Every function import is satisfied by a stub (instantiation only resolves them).
        let stubs = stubImports(loaded.compiled.module)
        return try store.instantiate(loaded, runningStart: false) { module, name in stubs["\(module)\u{0}\(name)"] }
    }
    instantiate.append(ti)
}
print("artifact: \(artifactSize) bytes, of which \(codeSize) bytes of machine code")
let c1 = summary("compile, 1 thread", compile1)
let cN = summary("compile, \(threads) threads", compileN)
_ = summary("encode the artifact", encode)
let r = summary("read the file", read)
let v = summary("verify + map code in place", verify)
_ = summary("  of which the CRC-32C pass", crc)
let m = 0.0
_ = summary("instantiate (fresh slot)", instantiate)
let load = r + v + m
print(String(format: "load = read + verify/map: %.3f ms (medians); compile / load: %.0fx (1 thread), %.0fx (%d threads)",
             load, c1 / load, cN / load, threads))
