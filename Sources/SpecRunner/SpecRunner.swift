import Foundation
import RuntimeABI
import WAT
import WasmCore
import WasmDecoder
import WasmText

/// Runs WebAssembly spec test scripts (.wast) against Shoal.
///
/// Every directive is counted once as passed, failed or skipped. A directive is skipped only when it
/// needs something Shoal does not do yet (running SIMD code), and the
/// reason is counted so the summary shows it; nothing is dropped silently.
public struct SpecRunner: Sendable {
    /// How the runtime protects linear memory while the scripts run.
    public var heapMode: HeapMode
    /// Run every module through a compiled artifact: encode it after compiling, decode it (all
    /// of `Artifact.decode`'s checks) and load the decoded one.
    public var throughArtifacts: Bool
    /// Which compiler tier compiles the scripts' modules.
    public var tier: CompilerTier

    public init(heapMode: HeapMode = .default, throughArtifacts: Bool = false, tier: CompilerTier = .baseline) {
        self.heapMode = heapMode
        self.throughArtifacts = throughArtifacts
        self.tier = tier
    }

    /// Finds the .wast files named by `paths` (files, or directories searched recursively), sorted.
    public static func collectFiles(_ paths: [String]) throws -> [String] {
        var files: [String] = []
        let fm = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw RunnerError(message: "no such file or directory: \(path)")
            }
            if isDirectory.boolValue {
                guard let e = fm.enumerator(atPath: path) else { continue }
                var found: [String] = []
                for case let name as String in e where name.hasSuffix(".wast") {
                    found.append((path as NSString).appendingPathComponent(name))
                }
                files += found.sorted()
            } else {
                files.append(path)
            }
        }
        return files
    }

    /// Runs one script file, on a thread with a large stack (see `LargeStack`).
    public func run(file path: String) -> FileResult {
        LargeStack.run { runOnThisThread(file: path) }
    }

    func runOnThisThread(file path: String) -> FileResult {
        var result = FileResult(path: path)
        guard let data = FileManager.default.contents(atPath: path) else {
            result.record(.failed("cannot read file"), line: 0, keyword: "file")
            return result
        }
        let source = String(decoding: data, as: UTF8.self)
        let executor: ScriptExecutor
        do {
            executor = try ScriptExecutor(heapMode: heapMode, throughArtifacts: throughArtifacts, tier: tier)
        } catch {
            result.record(.failed("cannot set up the spectest module: \(error)"), line: 0, keyword: "file")
            return result
        }
        for directive in ScriptSplitter.split(source) {
            let outcome = run(directive, executor: executor)
            result.record(outcome, line: directive.line, keyword: directive.keyword)
        }
        result.tierStats = executor.tierStats
        return result
    }

    func run(_ directive: ScriptDirective, executor: ScriptExecutor) -> Outcome {
        let parsed: WASTDirective
        do {
            var script = try parseWAST(directive.text, features: [.referenceTypes, .simd])
            guard let next = try script.nextDirective() else { return .failed("empty directive") }
            parsed = next.directive
        } catch {
            // The text parser rejected the directive. For an assertion that the module is malformed or
            // invalid, that rejection is the expected outcome (a module that cannot even be encoded).
            if directive.keyword == "assert_malformed" || directive.keyword == "assert_invalid" {
                return .rejected(byTextParser: true, messageMatched: false)
            }
            return .failed("text parser: \(error)")
        }
        if case .assertReturn(let execute, let results) = parsed,
           results.contains(where: { if case .v128Pattern = $0 { return true } else { return false } }) {
            return executor.assertReturn(execute, results, canonicalLanes: ValueMatching.canonicalNaNLanes(assertReturn: directive.text))
        }
        return run(parsed, executor: executor)
    }

    func run(_ directive: WASTDirective, executor: ScriptExecutor) -> Outcome {
        switch directive {
        case .module(let module):
            if module.isDefinition { return .skipped("module definitions are a WebAssembly 3.0 feature") }
            return executor.module(module)
        case .assertMalformed(let module, let message), .assertInvalid(let module, let message):
            switch load(module.source) {
            case .success: return .failed("module should have been rejected with \"\(message)\", but it loaded")
            case .failure(.text):
                return .rejected(byTextParser: true, messageMatched: false)
            case .failure(.binary(let error)):
                if error.message.hasPrefix(message) { return .rejected(byTextParser: false, messageMatched: true) }
                return .rejectedWithOtherMessage(expected: message, actual: error.description)
            }
        case .assertReturn(let execute, let results):
            return executor.assertReturn(execute, results)
        case .assertTrap(let execute, let message):
            return executor.assertTrap(execute, message)
        case .assertExhaustion(let call, let message):
            return executor.assertExhaustion(call, message)
        case .assertUnlinkable(let wat, let message):
            return executor.assertUnlinkable(wat, message)
        case .register(let name, let moduleId):
            return executor.register(name, moduleId: moduleId)
        case .invoke(let invoke):
            switch executor.invoke(invoke) {
            case .success: return .passed
            case .failure(.unavailable(let reason)): return .skipped(reason)
            case .failure(let failure): return .failed("\(failure)")
            }
        case .moduleInstance:
            return .skipped("module definitions are a WebAssembly 3.0 feature")
        case .assertException:
            return .skipped("exceptions are a WebAssembly 3.0 feature")
        case .assertFuel, .assertOutOfFuel:
            return .skipped("fuel assertions are WasmKit-specific")
        }
    }

    enum LoadError: Error, CustomStringConvertible {
        case text(String)
        case binary(WasmError)
        var description: String {
            switch self {
            case .text(let m): "text: \(m)"
            case .binary(let e): e.description
            }
        }
    }

    func load(_ source: ModuleSource) -> Result<Module, LoadError> {
        let bytes: [UInt8]
        do {
            switch source {
            case .text(let wat): bytes = try wat.encode()
            case .quote(let text): bytes = try WAT.wat2wasm(String(decoding: text, as: UTF8.self), features: [.referenceTypes, .simd])
            case .binary(let b): bytes = b
            }
        } catch {
            return .failure(.text("\(error)"))
        }
        do {
            return .success(try ModuleDecoder.decode(bytes))
        } catch {
            return .failure(.binary(error))
        }
    }
}

public struct RunnerError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// What happened to one directive.
public enum Outcome: Sendable, Equatable {
    case passed
    /// An assert_malformed or assert_invalid module was rejected, as it should be.
    case rejected(byTextParser: Bool, messageMatched: Bool)
    /// Rejected, as it should be, but not with the message the spec suite gives.
    case rejectedWithOtherMessage(expected: String, actual: String)
    case failed(String)
    case skipped(String)
}

/// The tally for one script.
public struct FileResult: Sendable {
    public var path: String
    public var passed = 0
    public var failed = 0
    public var skipped = 0
    /// Rejections of assert_malformed / assert_invalid modules, and how many gave the spec's message.
    public var rejections = 0
    public var rejectionsWithExpectedMessage = 0
    public var rejectionsByTextParser = 0
    public var failures: [String] = []
    /// Rejections whose message differs from the spec's: "line N: expected ..., got ...".
    public var messageMismatches: [String] = []
    public var skipReasons: [String: Int] = [:]
    /// Functions of the script's modules compiled by each tier.
    public var tierStats = TierStats()

    public init(path: String) { self.path = path }

    mutating func record(_ outcome: Outcome, line: Int, keyword: String) {
        switch outcome {
        case .passed: passed += 1
        case .rejected(let byText, let matched):
            passed += 1
            rejections += 1
            if byText { rejectionsByTextParser += 1 }
            if matched { rejectionsWithExpectedMessage += 1 }
        case .rejectedWithOtherMessage(let expected, let actual):
            passed += 1
            rejections += 1
            messageMismatches.append("line \(line): expected \"\(expected)\", got \(actual)")
        case .failed(let message):
            failed += 1
            failures.append("line \(line): \(keyword): \(message)")
        case .skipped(let reason):
            skipped += 1
            skipReasons["\(keyword): \(reason)", default: 0] += 1
        }
    }
}
