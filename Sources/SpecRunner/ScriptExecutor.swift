import Artifacts
import Compiler
import Crypto
import Foundation
import Runtime
import RuntimeABI
import WAT
import WasmCore
import WasmDecoder

/// Executes the directives of one script that need a running module: module instantiation,
/// register, invoke, get, and the assertions on results, traps, exhaustion and linking.
///
/// One executor per script: it owns the script's store, its instances by name, and the modules
/// registered for import (`spectest` is registered up front).
final class ScriptExecutor {
    let heapMode: HeapMode
    /// Every compiled module is written to an artifact and read back before it is loaded, so
    /// that the suite runs the decoded code and module structure, not the in-memory ones.
    let throughArtifacts: Bool
    let store: Store
    var current: Instance?
    /// Set when the current module validated but could not be compiled (SIMD the code generator refused): directives that
    /// use it are skipped with this reason rather than run against a stale module.
    var currentUnavailable: String?
    var named: [String: Instance] = [:]
    var unavailable: [String: String] = [:]
    var registered: [String: Instance] = [:]

    let tier: CompilerTier
    /// Functions compiled by each tier, over the script's modules.
    var tierStats = TierStats()

    init(heapMode: HeapMode, throughArtifacts: Bool = false, tier: CompilerTier = .baseline) throws {
        self.heapMode = heapMode
        self.tier = tier
        self.throughArtifacts = throughArtifacts
        store = Store(heapMode: heapMode)
        let spectest = try instantiate(bytes: try WAT.wat2wasm(SpecTestHost.wat))
        registered["spectest"] = spectest
    }

    enum Failure: Error, CustomStringConvertible {
        case compile(String)
        case link(String)
        case trap(Trap)
        case unavailable(String)
        case other(String)
        var description: String {
            switch self {
            case .compile(let m): "compile: \(m)"
            case .link(let m): "link: \(m)"
            case .trap(let t): "trap: \(t.message)"
            case .unavailable(let m): m
            case .other(let m): m
            }
        }
    }

    func compile(_ bytes: [UInt8]) throws(Failure) -> CompiledModule {
        let compiled: CompiledModule
        do {
            compiled = try ModuleCompiler.compile(bytes: bytes, options: CompileOptions(heapMode: heapMode, tier: tier))
            tierStats.add(compiled.tierStats)
        } catch {
            throw .compile("\(error)")
        }
        guard throughArtifacts else { return compiled }
        do {
            let artifact = try Artifact.encode(compiled, sourceSHA256: Array(SHA256.hash(data: bytes)))
            var requirements = LoadRequirements()
            requirements.heapMode = heapMode
            requirements.fuel = compiled.options.fuel
            return try Artifact.decode(artifact, requirements: requirements).compiled
        } catch {
            throw .other("artifact round trip: \(error)")
        }
    }

    func instantiate(bytes: [UInt8]) throws(Failure) -> Instance {
        let compiled = try compile(bytes)
        do {
            return try store.instantiate(compiled) { [registered] module, name in
                registered[module]?.export(name)
            }
        } catch let error as LinkError {
            throw .link(error.message)
        } catch let trap as Trap {
            throw .trap(trap)
        } catch {
            throw .other("\(error)")
        }
    }

    func encode(_ source: ModuleSource) throws(Failure) -> [UInt8] {
        do {
            switch source {
            case .text(let wat): return try wat.encode()
            case .quote(let text): return try WAT.wat2wasm(String(decoding: text, as: UTF8.self), features: [.referenceTypes, .simd])
            case .binary(let b): return b
            }
        } catch {
            throw .other("text: \(error)")
        }
    }

    // MARK: Directives

    /// Why a valid module that the code generator refused (SIMD on a CPU without SSE4.1, or an
    /// operator it lacks) is skipped: loudly, with the compiler's message.
    static func simdReason(_ message: String) -> String { "SIMD not compiled (the module decodes and validates): \(message)" }

    func module(_ directive: ModuleDirective) -> Outcome {
        let bytes: [UInt8]
        do {
            bytes = try encode(directive.source)
        } catch {
            return .failed("\(error)")
        }
        do {
            let instance = try instantiate(bytes: bytes)
            current = instance
            currentUnavailable = nil
            if let id = directive.id {
                named[id] = instance
                unavailable[id] = nil
            }
            return .passed
        } catch .compile(let message) where message.contains("SIMD") {
            // Not compiled yet, but it must still be a valid module.
            do {
                _ = try ModuleDecoder.decode(bytes)
            } catch {
                return .failed("module did not validate: \(error)")
            }
            current = nil
            let reason = Self.simdReason(message)
            currentUnavailable = reason
            if let id = directive.id { unavailable[id] = reason }
            return .skipped(reason)
        } catch {
            return .failed("module did not instantiate: \(error)")
        }
    }

    /// Why the module a directive names cannot run, if it cannot.
    func unavailableReason(_ id: String?) -> String? {
        if let id { return unavailable[id] }
        return currentUnavailable
    }

    func register(_ name: String, moduleId: String?) -> Outcome {
        guard let instance = moduleId.map({ named[$0] }) ?? current else { return .failed("no module to register") }
        registered[name] = instance
        return .passed
    }

    func instance(_ id: String?) -> Instance? { id.map { named[$0] } ?? current }

    /// Runs an invoke or get; a trap comes back as `.failure(.trap)`.
    func execute(_ execute: WASTExecute) -> Result<[Value], Failure> {
        switch execute {
        case .invoke(let invoke):
            return self.invoke(invoke)
        case .get(let module, let name):
            if let reason = unavailableReason(module) { return .failure(.unavailable(reason)) }
            guard let instance = instance(module), case .global(let global)? = instance.export(name) else {
                return .failure(.other("no global \(name)"))
            }
            return .success([global.value])
        case .wat(let wat):
            do {
                let copy = wat
                _ = try instantiate(bytes: try copy.encode())
                return .success([])
            } catch let error as Failure {
                return .failure(error)
            } catch {
                return .failure(.other("text: \(error)"))
            }
        }
    }

    func invoke(_ invoke: WASTInvoke) -> Result<[Value], Failure> {
        if let reason = unavailableReason(invoke.module) { return .failure(.unavailable(reason)) }
        guard let instance = instance(invoke.module) else { return .failure(.other("no module instance")) }
        guard case .function(let function)? = instance.export(invoke.name) else {
            return .failure(.other("no exported function \(invoke.name)"))
        }
        var arguments: [Value] = []
        for argument in invoke.args {
            guard let value = ValueMatching.value(argument, function: { _ in nil }) else {
                return .failure(.other("unsupported argument \(argument)"))
            }
            arguments.append(value)
        }
        do {
            return .success(try function.invoke(arguments))
        } catch let trap as Trap {
            return .failure(.trap(trap))
        } catch {
            return .failure(.other("\(error)"))
        }
    }

    /// `canonicalLanes`: per `.v128Pattern` in `expected`, in order, the lanes that must hold the
    /// canonical NaN (see `ValueMatching.canonicalNaNLanes`).
    func assertReturn(_ execute: WASTExecute, _ expected: [WASTExpectValue], canonicalLanes: [UInt8] = []) -> Outcome {
        switch self.execute(execute) {
        case .failure(.unavailable(let reason)):
            return .skipped(reason)
        case .failure(let failure):
            return .failed("\(failure)")
        case .success(let actual):
            var patternIndex = 0
            let matched = actual.count == expected.count && zip(actual, expected).allSatisfy { a, e in
                guard case .v128Pattern(let pattern) = e else { return ValueMatching.matches(a, e) }
                defer { patternIndex += 1 }
                guard case .v128(let v) = a else { return false }
                let canonical = patternIndex < canonicalLanes.count ? canonicalLanes[patternIndex] : 0
                return ValueMatching.matches(v, pattern, canonical: canonical)
            }
            guard matched else {
                return .failed("expected \(expected), got \(ValueMatching.describe(actual))")
            }
            return .passed
        }
    }

    func assertTrap(_ execute: WASTExecute, _ message: String) -> Outcome {
        switch self.execute(execute) {
        case .success(let values):
            return .failed("expected trap \"\(message)\", got \(ValueMatching.describe(values))")
        case .failure(.unavailable(let reason)):
            return .skipped(reason)
        case .failure(.trap(let trap)):
            return trap.message.hasPrefix(message) || message.hasPrefix(trap.message)
                ? .passed : .failed("expected trap \"\(message)\", got \"\(trap.message)\"")
        case .failure(let failure):
            return .failed("expected trap \"\(message)\", got \(failure)")
        }
    }

    func assertExhaustion(_ invoke: WASTInvoke, _ message: String) -> Outcome {
        switch self.invoke(invoke) {
        case .failure(.trap(let trap)) where trap.code == .callStackExhausted:
            return .passed
        case .failure(.unavailable(let reason)):
            return .skipped(reason)
        case .failure(let failure):
            return .failed("expected exhaustion, got \(failure)")
        case .success(let values):
            return .failed("expected exhaustion, got \(ValueMatching.describe(values))")
        }
    }

    func assertUnlinkable(_ wat: Wat, _ message: String) -> Outcome {
        do {
            let copy = wat
            let bytes = try copy.encode()
            _ = try instantiate(bytes: bytes)
            return .failed("module linked, expected \"\(message)\"")
        } catch let failure as Failure {
            if case .link(let actual) = failure {
                return actual.hasPrefix(message) || message.hasPrefix(actual)
                    ? .passed : .failed("expected \"\(message)\", got \"\(actual)\"")
            }
            return .failed("expected link error \"\(message)\", got \(failure)")
        } catch {
            return .failed("text: \(error)")
        }
    }
}
