import ArgumentParser
import Foundation
import WasmCore
import WasmDecoder
import WasmText

/// `shoal validate FILE...`: decodes and validates modules (.wasm or .wat) and reports the first error.
struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",  // spelled out: deriving it from the type name costs a protocol-conformance scan
        abstract: "Decode and validate WebAssembly modules (.wasm binary or .wat text)."
    )

    @Argument(help: "Module files.")
    var files: [String]

    func run() throws {
        var bad = 0
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                print("\(file): cannot read file")
                bad += 1
                continue
            }
            do {
                let binary = try TextFormat.binary(from: Array(data))
                let module = try ModuleDecoder.decode(binary)
                print(
                    "\(file): valid (\(module.types.count) types, \(module.imports.count) imports, \(module.functionBodies.count) functions, \(module.exports.count) exports)"
                )
            } catch {
                print("\(file): \(error)")
                bad += 1
            }
        }
        if bad > 0 { throw ExitCode(1) }
    }
}
