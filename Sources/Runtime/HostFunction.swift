import RuntimeABI
import WasmCore

/// A function implemented in Swift that WebAssembly code can import.
public struct HostFunction: Sendable {
    public let type: FuncType
    public let body: @Sendable (Caller, [Value]) throws -> [Value]

    public init(type: FuncType, body: @escaping @Sendable (Caller, [Value]) throws -> [Value]) {
        self.type = type
        self.body = body
    }
}

/// A host function that finishes later: its body starts the work and returns; the instance parks
/// (its fiber switches out, no thread waits) until `completion` is delivered and the execution
/// resumed. It can only be called from code running in an `Execution`.
public struct AsyncHostFunction: Sendable {
    public let type: FuncType
    public let body: @Sendable (Caller, [Value], Completion) -> Void

    public init(type: FuncType, body: @escaping @Sendable (Caller, [Value], Completion) -> Void) {
        self.type = type
        self.body = body
    }
}

/// What a host function sees of the instance that called it.
public struct Caller {
    /// The calling instance's memory, if it has one.
    public let memory: LinearMemory?

    /// Reads `count` bytes at a guest address, or nil if any of them is out of bounds.
    public func read(_ address: UInt32, count: UInt32) -> [UInt8]? {
        guard let memory, memory.contains(UInt64(address), count: UInt64(count)) else { return nil }
        return Array(UnsafeRawBufferPointer(rebasing: memory.bytes[Int(address)..<Int(address) + Int(count)]))
    }

    /// Writes bytes at a guest address; false (and nothing written) if out of bounds.
    @discardableResult
    public func write(_ address: UInt32, _ bytes: [UInt8]) -> Bool {
        guard let memory, memory.contains(UInt64(address), count: UInt64(bytes.count)) else { return false }
        bytes.withUnsafeBytes { memory.bytes.baseAddress!.advanced(by: Int(address)).copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        return true
    }
}

/// The host context an import slot carries for a host function (see `HostContextLayout`): word 0
/// is the C entry the module's host stub calls, word 1 points back to this box.
final class HostFunctionBox: @unchecked Sendable {  // immutable after init but for the lazily made funcref
    let function: HostFunction
    let asyncBody: (@Sendable (Caller, [Value], Completion) -> Void)?
    let context: UnsafeMutableRawPointer
    let typeID: UInt32
    /// The funcref record for this function, made the first time a module imports it (its code is
    /// that module's host stub, which every module has).
    var funcRef: UnsafeMutableRawPointer?
    /// Keeps the module whose host stub the funcref uses alive.
    var stubOwner: LoadedModule?

    convenience init(_ function: AsyncHostFunction) {
        self.init(HostFunction(type: function.type) { _, _ in
            throw RuntimeError("an asynchronous host function was called outside an Execution")
        }, async: function.body)
    }

    init(_ function: HostFunction, async asyncBody: (@Sendable (Caller, [Value], Completion) -> Void)? = nil) {
        self.function = function
        self.asyncBody = asyncBody
        typeID = TypeRegistry.id(of: function.type)
        context = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 16)
        context.storeBytes(of: unsafeBitCast(hostEntry, to: UInt.self), toByteOffset: HostContextLayout.entry, as: UInt.self)
        context.storeBytes(of: UInt(bitPattern: Unmanaged.passUnretained(self).toOpaque()), toByteOffset: 8, as: UInt.self)
    }

    deinit {
        context.deallocate()
        funcRef?.deallocate()
    }

    func reference(stubFrom module: LoadedModule) -> UnsafeMutableRawPointer {
        if let funcRef { return funcRef }
        let record = FuncRefRecord.allocate(count: 1)
        FuncRefRecord(record).set(code: module.hostStub, vmctx: context, typeID: typeID)
        funcRef = record
        stubOwner = module
        return record
    }

    /// Runs the Swift body on slots (arguments in, results out); a thrown error becomes the
    /// `hostError` trap, with the error kept by the caller's store (it becomes `Trap.underlying`).
    func call(caller: Instance?, slots: UnsafeMutablePointer<UInt64>) -> UInt32 {
        let type = function.type
        let arguments = Value.load(type.params, from: slots)
        do {
            let results: [Value]
            if let asyncBody, let caller, let execution = Execution.current(vmctx: caller.vmctx) {
                let completion = Completion()
                asyncBody(Caller(memory: caller.memory), arguments, completion)
                guard execution.park(on: completion), let delivered = try completion.results() else {
                    caller.store.hostError = RuntimeError("interrupted")
                    return TrapCode.interrupted.rawValue
                }
                results = delivered
            } else {
                results = try function.body(Caller(memory: caller?.memory), arguments)
            }
            guard results.count == type.results.count, zip(results, type.results).allSatisfy({ $0.type == $1 }) else {
                caller?.store.hostError = RuntimeError("host function returned \(results), expected \(type.results)")
                return TrapCode.hostError.rawValue
            }
            Value.store(results, into: slots)
            return 0
        } catch {
            caller?.store.hostError = error
            return TrapCode.hostError.rawValue
        }
    }
}

/// The C entry of every host function: (context, caller vmctx, slots) -> trap code.
private let hostEntry: @convention(c) (UnsafeMutableRawPointer, UnsafeMutableRawPointer, UnsafeMutablePointer<UInt64>) -> UInt32 = {
    context, callerVMContext, slots in
    let box = Unmanaged<HostFunctionBox>.fromOpaque(UnsafeRawPointer(bitPattern: context.load(fromByteOffset: 8, as: UInt.self))!)
        .takeUnretainedValue()
    return box.call(caller: Instance.from(vmctx: callerVMContext), slots: slots)
}
