import CShoal
import Glibc
import RuntimeABI
import WasmCore

/// A compiled module's code mapped into memory: written while read-write, then made read+execute
/// (never both), and registered with the signal handler so faults in it become traps.
public final class LoadedModule: @unchecked Sendable {  // immutable after init
    public let compiled: CompiledModule
    let base: UnsafeMutableRawPointer
    let mappedSize: Int
    /// Canonical type ids of the module's types, looked up once.
    let typeIDs: [UInt32]
    /// The initial contents of the module's own memory, as sparse runs (see `MemoryImage`), when
    /// every active data segment has a constant offset. Nil means segment by segment.
    public let memoryImage: MemoryImage?

    public init(_ compiled: CompiledModule) throws {
        self.compiled = compiled
        typeIDs = compiled.module.types.map(TypeRegistry.id(of:))
        memoryImage = MemoryImage(module: compiled.module)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let size = max(page, (compiled.code.count + page - 1) / page * page)
        guard let memory = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), memory != MAP_FAILED else {
            throw RuntimeError("cannot map \(size) bytes of code memory")
        }
        compiled.code.withUnsafeBytes { memory.copyMemory(from: $0.baseAddress!, byteCount: compiled.code.count) }
        guard mprotect(memory, size, PROT_READ | PROT_EXEC) == 0 else {
            munmap(memory, size)
            throw RuntimeError("cannot make code memory executable")
        }
        base = memory
        mappedSize = size
        shoal_install_signal_handlers()
        let start = UInt(bitPattern: memory)
        guard shoal_register_code(start, start + UInt(compiled.code.count), start + UInt(compiled.trapExit)) == 0 else {
            munmap(memory, size)
            throw RuntimeError("cannot register code memory with the signal handler")
        }
    }

    deinit {
        shoal_unregister_code(UInt(bitPattern: base))
        munmap(base, mappedSize)
    }

    func address(_ offset: Int) -> UnsafeRawPointer { UnsafeRawPointer(base + offset) }

    /// Entry address of a defined function (index among the module's own functions).
    func function(defined index: Int) -> UnsafeRawPointer { address(compiled.functionOffsets[index]) }
    var entryTrampoline: UnsafeRawPointer { address(compiled.entryTrampoline) }
    var hostStub: UnsafeRawPointer { address(compiled.hostStub) }

    /// The module function index whose code contains `pc`, if any.
    func functionIndex(pc: UInt) -> Int? {
        let start = UInt(bitPattern: base)
        guard pc >= start, pc < start + UInt(compiled.code.count) else { return nil }
        return compiled.functionIndex(containing: Int(pc - start))
    }
}
