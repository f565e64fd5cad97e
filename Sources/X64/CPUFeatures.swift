#if canImport(Glibc)
import Glibc
#endif

/// The optional instructions the code generator uses when present, read with CPUID once.
///
/// Swift has no inline assembly, so CPUID runs in a tiny function this module assembles into its
/// own read+execute page (written while writable, then made executable: never both at once).
public enum CPUFeatures {
    /// lzcnt (ABM): CPUID 0x80000001 ECX bit 5.
    public static let hasLZCNT: Bool = cpuid(0x8000_0001).ecx & (1 << 5) != 0
    /// tzcnt (BMI1): CPUID 7.0 EBX bit 3.
    public static let hasBMI1: Bool = cpuid(7).ebx & (1 << 3) != 0
    /// popcnt: CPUID 1 ECX bit 23.
    public static let hasPOPCNT: Bool = cpuid(1).ecx & (1 << 23) != 0
    /// roundss/roundsd (SSE4.1): CPUID 1 ECX bit 19.
    public static let hasSSE41: Bool = cpuid(1).ecx & (1 << 19) != 0
    /// pshufb, pabs*, pmulhrsw (SSSE3): CPUID 1 ECX bit 9. Every SSE4.1 CPU has it; SIMD code checks both.
    public static let hasSSSE3: Bool = cpuid(1).ecx & (1 << 9) != 0

    struct Registers {
        var eax: UInt32 = 0, ebx: UInt32 = 0, ecx: UInt32 = 0, edx: UInt32 = 0
    }

    typealias CPUIDFunction = @convention(c) (UInt32, UInt32, UnsafeMutablePointer<UInt32>) -> Void

    /// `void cpuid(leaf, subleaf, uint32_t out[4])`, assembled once.
    nonisolated(unsafe) static let function: CPUIDFunction = {
        var asm = Assembler()
        asm.push(.rbx)  // cpuid clobbers rbx, which the C convention preserves
        asm.mov(.b32, .rax, .rdi)
        asm.mov(.b32, .rcx, .rsi)
        asm.mov(.b64, .r8, .rdx)
        asm.emit([0x0F, 0xA2])  // cpuid
        asm.store(.b32, Mem(.r8, 0), .rax)
        asm.store(.b32, Mem(.r8, 4), .rbx)
        asm.store(.b32, Mem(.r8, 8), .rcx)
        asm.store(.b32, Mem(.r8, 12), .rdx)
        asm.pop(.rbx)
        asm.ret()
        let code = asm.finish()
        let page = 4096
        guard let memory = mmap(nil, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              memory != MAP_FAILED
        else { fatalError("CPUFeatures: mmap failed") }
        code.withUnsafeBytes { memory.copyMemory(from: $0.baseAddress!, byteCount: code.count) }
        guard mprotect(memory, page, PROT_READ | PROT_EXEC) == 0 else { fatalError("CPUFeatures: mprotect failed") }
        return unsafeBitCast(memory, to: CPUIDFunction.self)
    }()

    static func cpuid(_ leaf: UInt32, _ subleaf: UInt32 = 0) -> Registers {
        var out = [UInt32](repeating: 0, count: 4)
        out.withUnsafeMutableBufferPointer { function(leaf, subleaf, $0.baseAddress!) }
        return Registers(eax: out[0], ebx: out[1], ecx: out[2], edx: out[3])
    }
}
