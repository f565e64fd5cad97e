import Compiler
import Foundation
import Optimizer
import Runtime
import RuntimeABI
import WasmCore
import WasmDecoder
import WasmText

/// The optimizing tier's IR of `wat`'s function `index`, after the passes (or straight from the builder).
func ir(_ wat: String, function index: Int = 0, optimize: Bool = true) throws -> String {
    let module = try ModuleDecoder.decode(try TextFormat.wat2wasm(wat), validateFunctions: false)
    let context = OptimizerContext(module: module, context: module.validationContext, layout: VMContextLayout(module: module),
                                   options: CompileOptions(heapMode: .guarded, tier: .optimized))
    return "\(try OptimizingCompiler.ir(context, functionIndex: index, optimize: optimize))"
}

/// The optimizing tier's machine code for `wat`'s function `index`.
func machineCode(_ wat: String, function index: Int = 0, heapMode: HeapMode = .guarded) throws -> [UInt8] {
    let module = try ModuleDecoder.decode(try TextFormat.wat2wasm(wat), validateFunctions: false)
    let context = OptimizerContext(module: module, context: module.validationContext, layout: VMContextLayout(module: module),
                                   options: CompileOptions(heapMode: heapMode, tier: .optimized))
    return try OptimizingCompiler.compile(context, functionIndex: index).code
}

/// objdump's Intel-syntax mnemonics and operands for `code`, one instruction a line; nil when
/// objdump is not installed.
func disassemble(_ code: [UInt8]) -> [String]? {
    disassembleWithOffsets(code)?.map(\.text)
}

/// objdump's instructions for `code` with their offsets; nil when objdump is not installed.
func disassembleWithOffsets(_ code: [UInt8]) -> [(offset: Int, text: String)]? {
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/objdump") else { return nil }
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-opt-\(UUID().uuidString).bin")
    defer { try? FileManager.default.removeItem(at: file) }
    guard (try? Data(code).write(to: file)) != nil else { return nil }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/objdump")
    process.arguments = ["-D", "-b", "binary", "-mi386:x86-64", "-M", "intel", "--no-show-raw-insn", file.path]
    let pipe = Pipe()
    process.standardOutput = pipe
    guard (try? process.run()) != nil else { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line in
        let parts = line.split(separator: "\t", maxSplits: 1)
        guard parts.count == 2, parts[0].hasSuffix(":"),
              let offset = Int(parts[0].dropLast().trimmingCharacters(in: .whitespaces), radix: 16) else { return nil }
        return (offset, parts[1].split(separator: " ", omittingEmptySubsequences: true).joined(separator: " "))
    }
}

/// What a call did: its results, or the trap code.
enum Outcome: Equatable, CustomStringConvertible {
    case values([Runtime.Value])
    case trap(TrapCode)
    var description: String {
        switch self {
        case .values(let v): "\(v)"
        case .trap(let c): "trap \(c)"
        }
    }
}

/// An instance of a module, with the store that keeps it alive.
struct Instantiated {
    let store: Store
    let instance: Instance
    let compiled: CompiledModule
}

/// An instance of `wat` compiled with `tier`.
func instantiate(_ wat: String, tier: CompilerTier, heapMode: HeapMode) throws -> Instantiated {
    let compiled = try ModuleCompiler.compile(bytes: try TextFormat.wat2wasm(wat), options: CompileOptions(heapMode: heapMode, tier: tier))
    let store = Store(heapMode: heapMode)
    return Instantiated(store: store, instance: try store.instantiate(compiled) { _, _ in nil }, compiled: compiled)
}

func call(_ instantiated: Instantiated, _ name: String, _ args: [Runtime.Value]) throws -> Outcome {
    do {
        return .values(try instantiated.instance.invoke(name, args))
    } catch let trap as Trap {
        return .trap(trap.code)
    }
}

/// Runs `execution` to its end, asking it to yield before each of its first `yieldRequests`
/// resumes. A request made before `resume` stays pending across it, so the code yields at its
/// next loop-header or entry check: the yields happen without a timer thread and do not depend
/// on how fast the machine is. Returns the final state and how many times it yielded.
func runYielding(_ execution: Execution, yieldRequests: Int = 3) throws -> (state: Execution.State, yields: Int) {
    var yields = 0
    while !execution.state.isFinished {
        if yields < yieldRequests { execution.requestYield() }
        if case .yielded = try execution.resume() { yields += 1 }
    }
    return (execution.state, yields)
}
