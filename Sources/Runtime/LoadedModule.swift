import CShoal
import Glibc
import RuntimeABI
import WasmCore

/// A compiled module's code mapped into memory: written while read-write, then made read+execute
/// (never both), and registered with the signal handler so faults in it become traps.
public final class LoadedModule: @unchecked Sendable {  // immutable after init
    public let compiled: CompiledModule
    /// Bytes of machine code (`compiled.code` may be empty when the code was mapped in place).
    public let codeSize: Int
    let base: UnsafeMutableRawPointer
    let mappedSize: Int
    /// Canonical type ids of the module's types, looked up once.
    let typeIDs: [UInt32]
    /// The initial contents of the module's own memory, as sparse runs (see `MemoryImage`), when
    /// every active data segment has a constant offset. Nil means segment by segment.
    public let memoryImage: MemoryImage?
    /// The trap-site table the signal handler reads (see `CompiledModule.trapSites`).
    private let trapSites: UnsafeMutableBufferPointer<UInt32>

    /// Maps a copy of `compiled.code`.
    public convenience init(_ compiled: CompiledModule) throws {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let size = max(page, (compiled.code.count + page - 1) / page * page)
        guard let memory = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), memory != MAP_FAILED else {
            throw RuntimeError("cannot map \(size) bytes of code memory")
        }
        compiled.code.withUnsafeBytes { memory.copyMemory(from: $0.baseAddress!, byteCount: compiled.code.count) }
        try self.init(compiled, codeAt: memory, mappedSize: size, codeSize: compiled.code.count)
    }

    /// Takes over a read-write anonymous mapping of `mappingSize` bytes at `mapping` whose bytes
    /// at the page-aligned `codeOffset` are the code (an artifact read from disk: its code is made
    /// executable where it was read, with no copy). The pages before the code and after it are
    /// unmapped; `compiled.code` may be empty. On failure the whole mapping is released.
    public convenience init(_ compiled: CompiledModule, takingMapping mapping: UnsafeMutableRawPointer, mappingSize: Int,
                            codeOffset: Int, codeSize: Int) throws {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let codePages = max(page, (codeSize + page - 1) / page * page)
        guard codeOffset % page == 0, codeOffset >= 0, codeOffset + codePages <= mappingSize else {
            munmap(mapping, mappingSize)
            throw RuntimeError("code at \(codeOffset)+\(codeSize) is not page-aligned inside its \(mappingSize)-byte mapping")
        }
        if codeOffset > 0 { munmap(mapping, codeOffset) }
        if codeOffset + codePages < mappingSize { munmap(mapping + codeOffset + codePages, mappingSize - codeOffset - codePages) }
        try self.init(compiled, codeAt: mapping + codeOffset, mappedSize: codePages, codeSize: codeSize)
    }

    /// Makes `size` bytes at `memory` (holding the code) read+execute and registers them.
    private init(_ compiled: CompiledModule, codeAt memory: UnsafeMutableRawPointer, mappedSize size: Int, codeSize: Int) throws {
        self.compiled = compiled
        self.codeSize = codeSize
        typeIDs = compiled.module.types.map(TypeRegistry.id(of:))
        memoryImage = MemoryImage(module: compiled.module)
        guard mprotect(memory, size, PROT_READ | PROT_EXEC) == 0 else {
            munmap(memory, size)
            throw RuntimeError("cannot make code memory executable")
        }
        base = memory
        mappedSize = size
        trapSites = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: max(1, compiled.trapSites.count))
        _ = trapSites.initialize(from: compiled.trapSites)
        shoal_install_signal_handlers()
        let start = UInt(bitPattern: memory)
        let functionsStart = compiled.functionOffsets.first ?? codeSize
        var info = shoal_code_info(
            start: start, end: start + UInt(codeSize), functions_start: start + UInt(functionsStart),
            trap_exit: start + UInt(compiled.trapExit), entry_exit: start + UInt(compiled.entryExit),
            trap_sites: UnsafePointer(trapSites.baseAddress), trap_site_count: compiled.trapSites.count,
            heap_reservation: compiled.heapMode == .guarded ? UInt64(HeapMode.guardedReservation) : 0)
        guard shoal_register_code(&info) == 0 else {
            munmap(memory, size)
            trapSites.deallocate()
            throw RuntimeError("cannot register code memory with the signal handler")
        }
        PerfMap.record(compiled, at: memory)
    }

    /// The machine code, as mapped (for inspection).
    public var codeBytes: [UInt8] { Array(UnsafeRawBufferPointer(start: base, count: codeSize)) }

    deinit {
        shoal_unregister_code(UInt(bitPattern: base))
        munmap(base, mappedSize)
        trapSites.deallocate()  // after unregistering: no code of this module can fault any more
    }

    func address(_ offset: Int) -> UnsafeRawPointer { UnsafeRawPointer(base + offset) }

    /// Entry address of a defined function (index among the module's own functions).
    func function(defined index: Int) -> UnsafeRawPointer { address(compiled.functionOffsets[index]) }
    /// A defined function's own fast entry, if the optimizing tier gave it one.
    func fastEntry(defined index: Int) -> UnsafeRawPointer? {
        let offset = compiled.fastEntries[index]
        return offset == 0 ? nil : address(offset)
    }
    var entryTrampoline: UnsafeRawPointer { address(compiled.entryTrampoline) }
    var hostStub: UnsafeRawPointer { address(compiled.hostStub) }

    /// The module function index whose code contains `pc`, if any.
    func functionIndex(pc: UInt) -> Int? {
        let start = UInt(bitPattern: base)
        guard pc >= start, pc < start + UInt(codeSize) else { return nil }
        return compiled.functionIndex(containing: Int(pc - start))
    }
}
