import RuntimeABI

/// The one place the runtime reads and writes the memory that generated code shares with it: an
/// instance's vmctx (`VMContextLayout`), a store's execution state (`ExecutionStateLayout`) and
/// funcref records (`FuncRefLayout`). Offsets come from RuntimeABI alone, so the runtime and
/// the compiler cannot disagree; nothing else in the runtime does raw loads or stores at them.
/// These are views (a pointer each), not owners: whoever allocated the memory frees it.
struct VMContext {
    let raw: UnsafeMutableRawPointer

    init(_ raw: UnsafeMutableRawPointer) { self.raw = raw }

    private func word(_ offset: Int) -> UInt { raw.load(fromByteOffset: offset, as: UInt.self) }
    private func setWord(_ offset: Int, _ value: UInt) { raw.storeBytes(of: value, toByteOffset: offset, as: UInt.self) }

    /// Where a memory publishes its base and size (at attach and after every grow).
    func setMemory(base: UnsafeMutableRawPointer, byteCount: Int) {
        setWord(VMContextLayout.memoryBase, UInt(bitPattern: base))
        raw.storeBytes(of: UInt64(byteCount), toByteOffset: VMContextLayout.memorySize, as: UInt64.self)
    }

    /// The memory as generated code sees it: base (nil when the instance has none) and size.
    var memory: (base: UnsafeMutableRawPointer?, size: UInt64) {
        (UnsafeMutableRawPointer(bitPattern: word(VMContextLayout.memoryBase)),
         raw.load(fromByteOffset: VMContextLayout.memorySize, as: UInt64.self))
    }

    /// Both stack limits (the checked one and the real one). Only while no entry is running on
    /// this vmctx: a running one takes yield requests through CShoal's atomic helpers instead.
    func setStackLimits(_ limit: UInt) {
        setWord(VMContextLayout.realStackLimit, limit)
        setWord(VMContextLayout.stackLimit, limit)
    }

    var fuel: Int64 {
        get { raw.load(fromByteOffset: VMContextLayout.fuel, as: Int64.self) }
        nonmutating set { raw.storeBytes(of: newValue, toByteOffset: VMContextLayout.fuel, as: Int64.self) }
    }

    /// The header's pointers, written once at instantiation.
    func setHeader(executionState: UnsafeMutableRawPointer, builtins: UnsafeRawPointer, funcRefs: UnsafeMutableRawPointer,
                   typeIDs: UnsafeMutablePointer<UInt32>, fuel: Int64) {
        setWord(VMContextLayout.executionState, UInt(bitPattern: executionState))
        setWord(VMContextLayout.builtins, UInt(bitPattern: builtins))
        setWord(VMContextLayout.funcRefs, UInt(bitPattern: funcRefs))
        setWord(VMContextLayout.typeIDs, UInt(bitPattern: typeIDs))
        self.fuel = fuel
    }

    /// An imported function's `{code, vmctx}` slot, from the record of what it resolves to.
    func setImportedFunction(_ layout: VMContextLayout, _ index: Int, to record: FuncRefRecord) {
        let slot = layout.importedFunction(index)
        setWord(slot, record.code)
        setWord(slot + 8, record.vmctx)
    }

    /// An imported global's slot: a pointer to its storage.
    func setImportedGlobal(_ layout: VMContextLayout, _ index: Int, storage: UnsafeMutableRawPointer) {
        setWord(layout.global(index), UInt(bitPattern: storage))
    }

    /// A defined global's inline 8-byte storage.
    func definedGlobal(_ layout: VMContextLayout, _ index: Int) -> UnsafeMutableRawPointer { raw + layout.global(index) }

    /// A table's slot: a pointer to its `TableLayout` block.
    func setTable(_ layout: VMContextLayout, _ index: Int, block: UnsafeMutableRawPointer) {
        setWord(layout.table(index), UInt(bitPattern: block))
    }
}

/// A store's execution state (`ExecutionStateLayout`): the unwind target and what the last trap
/// left. Allocated and freed by its `Store`.
struct ExecutionState {
    let raw: UnsafeMutableRawPointer

    static func allocate() -> ExecutionState {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: ExecutionStateLayout.size, alignment: 16)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: ExecutionStateLayout.size)
        return ExecutionState(raw: raw)
    }

    func deallocate() { raw.deallocate() }

    /// The innermost entry's saved stack pointer: 0 when no entry is running on this store.
    var entrySP: UInt { raw.load(fromByteOffset: ExecutionStateLayout.entrySP, as: UInt.self) }

    var fuelPolicy: UInt64 {
        get { raw.load(fromByteOffset: ExecutionStateLayout.fuelPolicy, as: UInt64.self) }
        nonmutating set { raw.storeBytes(of: newValue, toByteOffset: ExecutionStateLayout.fuelPolicy, as: UInt64.self) }
    }

    var trapPC: UInt { raw.load(fromByteOffset: ExecutionStateLayout.trapPC, as: UInt.self) }

    /// The return addresses the last trap recorded, innermost first.
    var backtrace: [UInt] {
        let count = min(Int(raw.load(fromByteOffset: ExecutionStateLayout.backtraceCount, as: UInt64.self)), ExecutionStateLayout.maxBacktrace)
        return (0..<count).map { raw.load(fromByteOffset: ExecutionStateLayout.backtrace + 8 * $0, as: UInt.self) }
    }

    /// Records a trap and the return addresses of the frames between `fp` (the trapping frame)
    /// and the innermost entry, following the frame-pointer chain while it stays word-aligned,
    /// strictly ascending and below the entry's stack pointer — so a corrupt chain ends the walk.
    func recordTrap(code: UInt32, pc: UInt, fp: UInt) {
        raw.storeBytes(of: UInt64(code), toByteOffset: ExecutionStateLayout.trapCode, as: UInt64.self)
        raw.storeBytes(of: pc, toByteOffset: ExecutionStateLayout.trapPC, as: UInt.self)
        raw.storeBytes(of: fp, toByteOffset: ExecutionStateLayout.trapFP, as: UInt.self)
        let limit = entrySP
        var frame = fp
        var count = 0
        while frame != 0, frame % 8 == 0, frame < limit, count < ExecutionStateLayout.maxBacktrace {
            guard let pointer = UnsafeRawPointer(bitPattern: frame) else { break }
            let returnAddress = pointer.load(fromByteOffset: 8, as: UInt.self)
            raw.storeBytes(of: returnAddress, toByteOffset: ExecutionStateLayout.backtrace + 8 * count, as: UInt.self)
            count += 1
            let next = pointer.load(as: UInt.self)
            guard next > frame else { break }  // frames only go up the stack
            frame = next
        }
        raw.storeBytes(of: UInt64(count), toByteOffset: ExecutionStateLayout.backtraceCount, as: UInt64.self)
    }
}

/// A funcref record (`FuncRefLayout`): what `ref.func`, tables and `call_indirect` point at.
struct FuncRefRecord {
    let raw: UnsafeMutableRawPointer

    init(_ raw: UnsafeMutableRawPointer) { self.raw = raw }

    var code: UInt { raw.load(fromByteOffset: FuncRefLayout.code, as: UInt.self) }
    var vmctx: UInt { raw.load(fromByteOffset: FuncRefLayout.vmctx, as: UInt.self) }

    /// The entry address and the vmctx it runs with, as the trampoline takes them.
    var entry: (code: UnsafeRawPointer, vmctx: UnsafeMutableRawPointer) {
        (UnsafeRawPointer(bitPattern: code)!, UnsafeMutableRawPointer(bitPattern: vmctx)!)
    }

    var fast: UInt { raw.load(fromByteOffset: FuncRefLayout.fast, as: UInt.self) }

    /// `fast` is the function's own fast entry (optimized code of `vmctx`'s module), or nil.
    func set(code: UnsafeRawPointer, vmctx: UnsafeMutableRawPointer, typeID: UInt32, fast: UnsafeRawPointer? = nil) {
        raw.storeBytes(of: UInt(bitPattern: code), toByteOffset: FuncRefLayout.code, as: UInt.self)
        raw.storeBytes(of: UInt(bitPattern: vmctx), toByteOffset: FuncRefLayout.vmctx, as: UInt.self)
        raw.storeBytes(of: UInt64(typeID), toByteOffset: FuncRefLayout.typeID, as: UInt64.self)
        raw.storeBytes(of: UInt(bitPattern: fast), toByteOffset: FuncRefLayout.fast, as: UInt.self)
    }

    /// Copies another record (an imported function's funcref is its provider's).
    func copy(from other: FuncRefRecord) { raw.copyMemory(from: other.raw, byteCount: FuncRefLayout.size) }

    static func allocate(count: Int) -> UnsafeMutableRawPointer {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * FuncRefLayout.size, alignment: 16)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: max(1, count) * FuncRefLayout.size)
        return raw
    }

    static func at(_ base: UnsafeMutableRawPointer, index: Int) -> FuncRefRecord { FuncRefRecord(base + index * FuncRefLayout.size) }
}
