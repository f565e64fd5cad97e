/// Runtime functions that generated code calls through the builtin table (`VMContextLayout.builtins`
/// points at an array of C-ABI function pointers indexed by `rawValue`).
///
/// Every builtin follows the System V x86-64 C calling convention and takes the calling instance's
/// vmctx first. Builtins that can trap return a `TrapCode` raw value (0 = no trap) in eax; the code
/// after the call branches to the trap path when it is non-zero.
public enum Builtin: Int, Sendable, CaseIterable {
    /// (vmctx, deltaPages: u32) -> i32 old size in pages, or -1
    case memoryGrow = 0
    /// (vmctx, dst: u32, value: u32, count: u32) -> trap code
    case memoryFill
    /// (vmctx, dst: u32, src: u32, count: u32) -> trap code
    case memoryCopy
    /// (vmctx, segment: u32, dst: u32, src: u32, count: u32) -> trap code
    case memoryInit
    /// (vmctx, segment: u32) -> 0
    case dataDrop
    /// (vmctx, table: u32, initial: u64 ref, delta: u32) -> i32 old size or -1
    case tableGrow
    /// (vmctx, table: u32, start: u32, ref: u64, count: u32) -> trap code
    case tableFill
    /// (vmctx, dstTable: u32, srcTable: u32, dst: u32, src: u32, count: u32) -> trap code
    case tableCopy
    /// (vmctx, table: u32, segment: u32, dst: u32, src: u32, count: u32) -> trap code
    case tableInit
    /// (vmctx, segment: u32) -> 0
    case elemDrop
    /// (vmctx, trapCode: u32, pc: pointer, fp: pointer) -> 0. Called by the trap exit stub, on the
    /// trapping stack, before it unwinds: records the trap and walks the frame-pointer chain for the
    /// backtrace while the frames still exist.
    case recordTrap
    /// (vmctx) -> trap code. Called when rsp is below `stackLimit` but not below `realStackLimit`:
    /// a yield was requested. Switches the instance's fiber back to its host and returns 0 once
    /// resumed (or `interrupted` when not on a fiber). Implemented in C (CShoal), so no Swift
    /// frame is on the fiber's stack across the switch.
    case yield
    /// (vmctx) -> trap code. Called when fuel went below zero: yields (returning 0 once resumed
    /// with more fuel) or returns `outOfFuel`, per the execution state's fuel policy.
    case outOfFuel
}
