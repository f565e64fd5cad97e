import Runtime
import RuntimeABI
import Synchronization

/// Which compiler tier an engine's modules run on (`EngineConfiguration.tier`).
public enum Tiering: String, Sendable, Hashable, CaseIterable {
    /// The single-pass compiler only: the fastest to compile.
    case baseline
    /// The optimizing tier for every function it supports (the baseline for the rest): the
    /// fastest code, compiled before the module can run.
    case optimized
    /// Both: a module runs on baseline code at once, while the optimizing tier compiles it again
    /// in the background; new calls then run on the optimized code, and calls already running
    /// finish on the code they started with.
    case auto

    /// The tier a module is compiled with first.
    var first: CompilerTier { self == .optimized ? .optimized : .baseline }
}

/// A module's machine code, which tiering may replace once: new instances take whatever is
/// current, while an instance already running keeps the `LoadedModule` it was made from (it holds
/// a reference, so that code stays mapped until the last such instance ends).
final class TieredCode: Sendable {
    private let state: Mutex<State>

    private struct State {
        var current: LoadedModule
        /// The background compile of the optimizing tier, while `Tiering.auto` has one under way
        /// or finished (nil: none was started).
        var tierUp: Task<Void, Never>?
    }

    init(_ loaded: LoadedModule) { state = Mutex(State(current: loaded)) }

    /// The code new instances are made from.
    var current: LoadedModule { state.withLock { $0.current } }

    /// Starts the tier-up once (later calls do nothing): `compile` runs off the caller, and its
    /// result, if any, becomes the current code.
    func startTierUp(_ compile: @escaping @Sendable () async -> LoadedModule?) {
        state.withLock { s in
            guard s.tierUp == nil else { return }
            s.tierUp = Task.detached(priority: .background) { [self] in
                if let optimized = await compile() { state.withLock { $0.current = optimized } }
            }
        }
    }

    /// Waits until the background compile (if one was started) has finished.
    func waitForTierUp() async {
        let task = state.withLock { $0.tierUp }
        await task?.value
    }
}
