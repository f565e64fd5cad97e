import Artifacts
import Runtime
import RuntimeABI
import ShoalWASI
import WasmCore

// The vocabulary an embedder needs, under the one module it imports. These are the runtime's own
// types (no wrappers, no copies): a `Value` from `Shoal` is the runtime's `Value`.

/// A WebAssembly value: i32, i64, f32, f64 (as bit patterns), funcref or externref.
public typealias Value = Runtime.Value
/// A WebAssembly trap: its code, message, backtrace and, for host errors, the Swift error.
public typealias Trap = Runtime.Trap
/// Why a trap happened.
public typealias TrapCode = RuntimeABI.TrapCode
/// How linear memory is protected: guard pages (guarded) or explicit checks (bounded).
public typealias HeapMode = RuntimeABI.HeapMode
/// Which compiler generates function bodies (`EngineConfiguration.tier`).
public typealias CompilerTier = RuntimeABI.CompilerTier
/// How many functions each compiler tier compiled (`Module.tierStats`).
public typealias TierStats = RuntimeABI.TierStats
/// Guard pages around each slot's stack, context and memory.
public typealias GuardPages = Runtime.GuardPages
/// A function signature.
public typealias FuncType = WasmCore.FuncType
/// A WebAssembly value type.
public typealias ValueType = WasmCore.ValueType
/// What a host function sees of the instance calling it (its memory).
public typealias Caller = Runtime.Caller
/// What a WASI program sees: arguments, environment, preopened directories, standard streams.
public typealias WASIConfiguration = ShoalWASI.WASIConfiguration
/// Where a WASI program's standard input comes from.
public typealias WASIInput = ShoalWASI.WASIInput
/// Where a WASI program's standard output or error goes.
public typealias WASIOutput = ShoalWASI.WASIOutput
/// A guest's output as an `AsyncSequence` of chunks.
public typealias WASIOutputStream = ShoalWASI.WASIOutputStream
/// A guest's standard input pulled from an `AsyncSequence` of chunks.
public typealias WASIInputStream = ShoalWASI.WASIInputStream
/// Why an artifact was refused at load.
public typealias ArtifactError = Artifacts.ArtifactError
/// An artifact's contract: heap, imports, options, CPU features, versions, source hash.
public typealias ArtifactContract = Artifacts.ArtifactContract
