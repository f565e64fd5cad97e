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
        /// The optimizing compile `Tiering.auto` armed, waiting for `callsLeft` more calls.
        var pending: (@Sendable () async -> LoadedModule?)?
        var callsLeft = 0
        /// The background compile, once started (nil: none was).
        var tierUp: Task<Void, Never>?
    }

    init(_ loaded: LoadedModule) { state = Mutex(State(current: loaded)) }

    /// The code new instances are made from.
    var current: LoadedModule { state.withLock { $0.current } }

    /// Arms the tier-up (once; later calls do nothing): `compile` starts after `calls` more calls
    /// of the module (at once for 0), runs off the caller, and its result, if any, becomes the
    /// current code.
    func arm(after calls: Int, _ compile: @escaping @Sendable () async -> LoadedModule?) {
        state.withLock { s in
            guard s.pending == nil, s.tierUp == nil else { return }
            s.pending = compile
            s.callsLeft = calls
            if calls <= 0 { start(&s) }
        }
    }

    /// The code for a call that starts now, counting the call (one lock for both): an armed
    /// tier-up starts when its count is reached, and this call still runs on the code current
    /// before it.
    func takeForCall() -> LoadedModule {
        state.withLock { s in
            if s.pending != nil {
                s.callsLeft -= 1
                if s.callsLeft <= 0 { start(&s) }
            }
            return s.current
        }
    }

    private func start(_ s: inout State) {
        guard let compile = s.pending else { return }
        s.pending = nil
        s.tierUp = Task.detached(priority: .background) { [self] in
            if let optimized = await compile() { state.withLock { $0.current = optimized } }
        }
    }

    /// Waits until the background compile, if one has started, has finished.
    func waitForTierUp() async {
        let task = state.withLock { $0.tierUp }
        await task?.value
    }
}
