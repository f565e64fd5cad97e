import Optimizer
import RuntimeABI
import WasmCore
import X64

/// The fast entry (`FastCallABI`) of a function the baseline compiled (a fallback, or a function
/// using SIMD inside a scalar signature), so that optimized callers need not know which tier
/// compiled their callee. It saves the callee-saved registers (the baseline clobbers them),
/// stores the register params to standard slots, calls the standard entry and moves the results
/// back to the fast convention's places.
///
/// The linker places adapters after every function, outside the function ranges: a trap in the
/// callee then has a backtrace of the callee and the caller, as without the adapter.
enum FastEntryAdapter {
    static func assemble(_ type: FuncType, definedIndex: Int) -> FunctionPiece {
        let abi = FastCallABI(type)
        var asm = Assembler()
        let exhausted = asm.newLabel()
        asm.push(.rbp)
        asm.mov(.b64, .rbp, .rsp)
        for r in FastCallABI.calleeSaved { asm.push(r) }
        // rbp is 16-byte aligned; 24 bytes of saves and this area put rsp on a boundary again.
        let slots = max(type.params.count, type.results.count)
        let area = ((8 * slots + 15) & ~15) + 8
        asm.alu(.sub, .b64, .rsp, imm: Int32(area))
        asm.alu(.cmp, .b64, .rsp, Mem(.r14, Int32(VMContextLayout.realStackLimit)))
        asm.jcc(.b, exhausted)
        for (i, place) in abi.params.enumerated() {
            let slot = Mem(.rsp, Int32(8 * i))
            switch place {
            case .reg(let r): asm.store(.b64, slot, r)
            case .xreg(let x): asm.fstore(.double, slot, x)
            case .stack(let k):
                asm.load(.b64, .rax, Mem(.rbp, Int32(16 + 8 * k)))
                asm.store(.b64, slot, .rax)
            }
        }
        asm.mov(.b64, .rdi, .r14)
        let callee = asm.newExternalLabel(symbol: LinkSymbol.function(definedIndex).rawValue)
        asm.call(callee)
        for (i, (place, t)) in zip(abi.results, type.results).enumerated() {
            let slot = Mem(.rsp, Int32(8 * i))
            switch place {
            case .reg(let r): asm.load(t == .i32 ? .b32 : .b64, r, slot)
            case .xreg(let x): asm.fload(t == .f32 ? .single : .double, x, slot)
            case .stack(let k):
                asm.load(.b64, .rax, slot)
                asm.store(.b64, Mem(.rbp, Int32(16 + 8 * k)), .rax)
            }
        }
        asm.lea(.b64, .rsp, Mem(.rbp, Int32(-8 * FastCallABI.calleeSaved.count)))
        for r in FastCallABI.calleeSaved.reversed() { asm.pop(r) }
        asm.pop(.rbp)
        asm.ret()
        asm.bind(exhausted)
        asm.mov(.b64, .rsp, .rbp)
        asm.mov(.b32, .rsi, imm: Int64(TrapCode.callStackExhausted.rawValue))
        asm.lea(.rdx, exhausted)
        let trapExit = asm.newExternalLabel(symbol: LinkSymbol.trapExit.rawValue)
        asm.jmp(trapExit)
        let code = asm.finish()
        return FunctionPiece(code: code, trapSites: [], fixups: asm.externalFixups)
    }
}
