import Foundation
import WAT

/// Where the WebAssembly spec test suite lives, and the module binaries it contains.
public enum SpecSuite {
    /// The environment variable that overrides the suite's location.
    public static let environmentVariable = "SHOAL_SPEC_TESTSUITE"

    /// The suite directory: `$SHOAL_SPEC_TESTSUITE`, or `../shared/spec-testsuite` beside the package
    /// root. `nil` when it does not exist.
    public static func location(packageRoot: String) -> String? {
        let path =
            ProcessInfo.processInfo.environment[environmentVariable]
            ?? URL(fileURLWithPath: packageRoot).deletingLastPathComponent().appendingPathComponent("shared/spec-testsuite").path
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue ? path : nil
    }

    /// Every module of the scripts under `directory` that can be turned into a binary: binary modules
    /// as written, text modules encoded. Valid and invalid ones alike; a corpus for robustness tests.
    public static func moduleBinaries(in directory: String) throws -> [[UInt8]] {
        var binaries: [[UInt8]] = []
        for file in try SpecRunner.collectFiles([directory]) {
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            for directive in ScriptSplitter.split(String(decoding: data, as: UTF8.self)) {
                guard var script = try? parseWAST(directive.text, features: [.referenceTypes, .simd]),
                    let (parsed, _) = try? script.nextDirective()
                else { continue }
                let source: ModuleSource
                switch parsed {
                case .module(let m), .assertInvalid(let m, _), .assertMalformed(let m, _): source = m.source
                default: continue
                }
                switch source {
                case .binary(let bytes): binaries.append(bytes)
                case .text(let wat): if let bytes = try? wat.encode() { binaries.append(bytes) }
                case .quote: continue
                }
            }
        }
        return binaries
    }
}
