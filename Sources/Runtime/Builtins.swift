import CShoal
import Glibc
import RuntimeABI
import WasmCore

/// The runtime functions generated code calls (see `Builtin`), as C-ABI function pointers in one
/// table shared by every vmctx. Each finds its instance from the vmctx header.
enum Builtins {
    typealias VM = UnsafeMutableRawPointer

    /// Written once, read-only afterwards.
    nonisolated(unsafe) static let table: UnsafeMutablePointer<UInt> = {
        let entries: [UInt] = Builtin.allCases.map { builtin in
            switch builtin {
            case .memoryGrow: unsafeBitCast(memoryGrow, to: UInt.self)
            case .memoryFill: unsafeBitCast(memoryFill, to: UInt.self)
            case .memoryCopy: unsafeBitCast(memoryCopy, to: UInt.self)
            case .memoryInit: unsafeBitCast(memoryInit, to: UInt.self)
            case .dataDrop: unsafeBitCast(dataDrop, to: UInt.self)
            case .tableGrow: unsafeBitCast(tableGrow, to: UInt.self)
            case .tableFill: unsafeBitCast(tableFill, to: UInt.self)
            case .tableCopy: unsafeBitCast(tableCopy, to: UInt.self)
            case .tableInit: unsafeBitCast(tableInit, to: UInt.self)
            case .elemDrop: unsafeBitCast(elemDrop, to: UInt.self)
            case .recordTrap: unsafeBitCast(recordTrap, to: UInt.self)
            case .yield: unsafeBitCast(yieldBuiltin, to: UInt.self)
            case .outOfFuel: unsafeBitCast(outOfFuelBuiltin, to: UInt.self)
            }
        }
        let table = UnsafeMutablePointer<UInt>.allocate(capacity: entries.count)
        table.initialize(from: entries, count: entries.count)
        return table
    }()

    static func instance(_ vmctx: VM) -> Instance { Instance.from(vmctx: vmctx)! }

    /// Fiber switches happen in C so that no Swift frame is suspended across them.
    static let yieldBuiltin: @convention(c) (UnsafeMutableRawPointer?) -> UInt32 = shoal_builtin_yield
    static let outOfFuelBuiltin: @convention(c) (UnsafeMutableRawPointer?) -> UInt32 = shoal_builtin_out_of_fuel

    static let ok: UInt32 = 0
    static let memoryOOB = TrapCode.outOfBoundsMemoryAccess.rawValue
    static let tableOOB = TrapCode.outOfBoundsTableAccess.rawValue

    static let memoryGrow: @convention(c) (VM, UInt32) -> UInt32 = { vmctx, delta in
        guard let memory = instance(vmctx).memory, let old = memory.grow(by: UInt64(delta)) else { return UInt32.max }
        return UInt32(old)
    }

    static let memoryFill: @convention(c) (VM, UInt32, UInt32, UInt32) -> UInt32 = { vmctx, dst, value, count in
        guard let memory = instance(vmctx).memory, memory.contains(UInt64(dst), count: UInt64(count)) else { return memoryOOB }
        memset(memory.bytes.baseAddress! + Int(dst), Int32(value & 0xFF), Int(count))
        return ok
    }

    static let memoryCopy: @convention(c) (VM, UInt32, UInt32, UInt32) -> UInt32 = { vmctx, dst, src, count in
        guard let memory = instance(vmctx).memory, memory.contains(UInt64(dst), count: UInt64(count)),
              memory.contains(UInt64(src), count: UInt64(count))
        else { return memoryOOB }
        memmove(memory.bytes.baseAddress! + Int(dst), memory.bytes.baseAddress! + Int(src), Int(count))
        return ok
    }

    static let memoryInit: @convention(c) (VM, UInt32, UInt32, UInt32, UInt32) -> UInt32 = { vmctx, segment, dst, src, count in
        let instance = instance(vmctx)
        let data = instance.wasmModule.data[Int(segment)]
        let length = instance.droppedData[Int(segment)] ? 0 : UInt64(data.range.count)
        guard UInt64(src) <= length, UInt64(count) <= length - UInt64(src),
              let memory = instance.memory, memory.contains(UInt64(dst), count: UInt64(count))
        else { return memoryOOB }
        if count > 0 {
            instance.wasmModule.bytes.withUnsafeBytes {
                (memory.bytes.baseAddress! + Int(dst)).copyMemory(from: $0.baseAddress! + data.range.lowerBound + Int(src), byteCount: Int(count))
            }
        }
        return ok
    }

    static let dataDrop: @convention(c) (VM, UInt32) -> UInt32 = { vmctx, segment in
        instance(vmctx).droppedData[Int(segment)] = true
        return ok
    }

    static let tableGrow: @convention(c) (VM, UInt32, UInt64, UInt32) -> UInt32 = { vmctx, table, initial, delta in
        guard let old = instance(vmctx).tables[Int(table)].grow(by: UInt64(delta), initial: initial) else { return UInt32.max }
        return UInt32(old)
    }

    static let tableFill: @convention(c) (VM, UInt32, UInt32, UInt64, UInt32) -> UInt32 = { vmctx, table, start, value, count in
        instance(vmctx).tables[Int(table)].fill(UInt64(start), value, count: UInt64(count)) ? ok : tableOOB
    }

    static let tableCopy: @convention(c) (VM, UInt32, UInt32, UInt32, UInt32, UInt32) -> UInt32 = {
        vmctx, destination, source, dst, src, count in
        let instance = instance(vmctx)
        return Table.copy(from: instance.tables[Int(source)], UInt64(src), to: instance.tables[Int(destination)], UInt64(dst),
                          count: UInt64(count)) ? ok : tableOOB
    }

    static let tableInit: @convention(c) (VM, UInt32, UInt32, UInt32, UInt32, UInt32) -> UInt32 = {
        vmctx, table, segment, dst, src, count in
        let instance = instance(vmctx)
        let elements = instance.elementSegments[Int(segment)]
        guard UInt64(src) <= UInt64(elements.count), UInt64(count) <= UInt64(elements.count) - UInt64(src) else { return tableOOB }
        return instance.tables[Int(table)].write(UInt64(dst), elements[Int(src)..<Int(src) + Int(count)]) ? ok : tableOOB
    }

    static let elemDrop: @convention(c) (VM, UInt32) -> UInt32 = { vmctx, segment in
        instance(vmctx).elementSegments[Int(segment)] = []
        return ok
    }

    /// Runs on the trapping stack before the unwind: saves the trap and the return addresses of
    /// the frames between the trap and the entry trampoline (frame pointers chain them).
    static let recordTrap: @convention(c) (VM, UInt32, UInt, UInt) -> UInt32 = { vmctx, code, pc, fp in
        ExecutionState(raw: instance(vmctx).store.state).recordTrap(code: code, pc: pc, fp: fp)
        return ok
    }
}
