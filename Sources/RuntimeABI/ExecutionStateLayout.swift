/// Layout of the per-store execution state that every vmctx of a store points to
/// (`VMContextLayout.executionState`). Linked instances share it, so a trap in any of them unwinds
/// to the same entry.
///
/// ```
///   +0   entrySP        stack pointer saved by the innermost entry trampoline (unwind target)
///   +8   trapCode       u32, set by recordTrap
///   +16  trapPC         address of the trapping instruction (or of its trap stub)
///   +24  trapFP         frame pointer at the trap
///   +32  fiber          pointer to the running fiber's context (CShoal's shoal_fiber), or 0
///   +40  fuelPolicy     0 = trap when fuel runs out, 1 = yield
///   +48  backtraceCount number of return addresses in `backtrace`
///   +56  backtrace      up to `maxBacktrace` return addresses, innermost first
/// ```
public enum ExecutionStateLayout {
    public static let entrySP = 0
    public static let trapCode = 8
    public static let trapPC = 16
    public static let trapFP = 24
    public static let fiber = 32
    public static let fuelPolicy = 40
    public static let backtraceCount = 48
    public static let backtrace = 56
    public static let maxBacktrace = 64
    public static let size = backtrace + 8 * maxBacktrace
}

/// Layout of a funcref: what `ref.func`, tables and `call_indirect` point at. A null funcref is 0.
///
/// ```
///   +0  code    entry address of the function
///   +8  vmctx   the vmctx the function runs with (its own instance's)
///   +16 typeID  u32 canonical signature id (equal ids <=> equal function types, process-wide)
///   +24 fast    the function's fast entry (`FastCallABI`) if the optimizing tier compiled it
///               with one, else 0. Only optimized code's call_indirect reads it, and only when
///               `vmctx` is its own (the fast entry assumes the caller's r14 and r15).
/// ```
public enum FuncRefLayout {
    public static let code = 0
    public static let vmctx = 8
    public static let typeID = 16
    public static let fast = 24
    public static let size = 32
}

/// Layout of a table instance (tables may be imported and shared, so vmctx holds a pointer).
///
/// ```
///   +0  elements  pointer to `capacity` 8-byte references (funcref pointers, or externref values)
///   +8  size      current element count (u64; only the low 32 bits are ever non-zero)
/// ```
public enum TableLayout {
    public static let elements = 0
    public static let size = 8
    public static let byteSize = 16
}

/// Layout of the host-function context that an imported host function's import slot carries in
/// place of a vmctx:
/// ```
///   +0   entry         C entry: (context, callerVMContext, argsAndResults) -> trap code
///   +8   (the runtime's own: its host-function object)
///   +16  inlineEntry   C entry of the inline attempt, or 0: (inlineTarget, memory base,
///                      memory size, argsAndResults) -> Bool (true: the call is finished)
///   +24  inlineTarget  what `inlineEntry` gets as its first argument
/// ```
/// The compiled module's host stub calls `inlineEntry` first when there is one (with the caller's
/// memory read from its vmctx at `VMContextLayout.memoryBase` and `memorySize`), and `entry`
/// only when that did not finish the call: a guest's call then reaches the attempt through one
/// C frame rather than two (issue 17: on this kernel each return after a system call costs a
/// mispredicted `ret`, so every frame between the guest and the system call counts).
public enum HostContextLayout {
    public static let entry = 0
    public static let inlineEntry = 16
    public static let inlineTarget = 24
    public static let byteSize = 32
}
