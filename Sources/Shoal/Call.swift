/// One call: what to run in a fresh instance, with what, under which limits.
public struct Call: Sendable {
    /// The export to call; nil runs a WASI command's entry (the export named "", else `_start`),
    /// or, in a module with neither, only instantiates it (its start function runs).
    public var entry: String?
    /// The entry's arguments, checked against its parameter types before the call is submitted.
    public var arguments: [Value]
    /// What the call may use (wall time, fuel, memory).
    public var limits: Limits
    /// Host functions for this call only; they come before WASI's and the engine's.
    public var linker: Linker?
    /// The WASI program's world: arguments, environment, preopened directories, standard
    /// streams. A module that imports wasi_snapshot_preview1 gets a context of its own for every
    /// call, from this or, when it is nil, from an empty configuration (no arguments, no
    /// directories, empty stdin, output captured).
    public var wasi: WASIConfiguration?

    /// A call; every part is optional (`Call()` runs a WASI command's `_start` with nothing of the host's).
    public init(entry: String? = nil, arguments: [Value] = [], limits: Limits = Limits(), linker: Linker? = nil,
                wasi: WASIConfiguration? = nil) {
        self.entry = entry
        self.arguments = arguments
        self.limits = limits
        self.linker = linker
        self.wasi = wasi
    }

    /// Calls an export with arguments (and, optionally, host functions for this call only).
    public static func invoke(_ entry: String, _ arguments: [Value] = [], limits: Limits = Limits(), linker: Linker? = nil) -> Call {
        Call(entry: entry, arguments: arguments, limits: limits, linker: linker)
    }

    /// Runs a WASI command (its `_start`) in the given world.
    public static func wasi(_ configuration: WASIConfiguration, limits: Limits = Limits()) -> Call {
        Call(limits: limits, wasi: configuration)
    }

    /// The configuration a WASI call gets when it gives none: nothing of the host's.
    static var isolatedWASI: WASIConfiguration {
        var c = WASIConfiguration(captureOutput: true)
        c.stdin = []
        return c
    }
}

/// How a call ended, as the guest ended it.
public enum Outcome: Sendable {
    /// The function returned these values.
    case returned([Value])
    /// The WASI program exited (proc_exit, or a signal by proc_raise as 128 + signal) with this status.
    case exited(Int32)
    /// The guest trapped, ran out of fuel (`TrapCode.outOfFuel`) or of time (`TrapCode.interrupted`),
    /// or a host function failed (`TrapCode.hostError`, with the Swift error as `Trap.underlying`).
    case trapped(Trap)
}

/// What a call produced.
public struct CallResult: Sendable {
    /// How the guest ended the call.
    public var outcome: Outcome
    /// Captured standard output and error (`WASIOutput.capture`; empty otherwise).
    public var stdout: [UInt8]
    /// Captured standard error (`WASIOutput.capture`; empty otherwise).
    public var stderr: [UInt8]

    /// The returned values, or nil if the call did not return.
    public var values: [Value]? {
        if case .returned(let v) = outcome { return v }
        return nil
    }

    /// The exit status a shell would see: 0 for a return, the exit code, or 134 for a trap (as
    /// wasmtime's CLI reports one).
    public var exitStatus: Int32 {
        switch outcome {
        case .returned: 0
        case .exited(let code): code
        case .trapped: 134
        }
    }

    /// The trap, if the call trapped.
    public var trap: Trap? {
        if case .trapped(let t) = outcome { return t }
        return nil
    }

    /// Captured standard output as text (UTF-8, invalid bytes replaced).
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    /// Captured standard error as text (UTF-8, invalid bytes replaced).
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}
