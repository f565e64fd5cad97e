/// Versions that compiled code depends on. An artifact records both; a build loads only artifacts
/// of its own ABI version, and its compile cache keys entries by the compiler version.
public enum ShoalVersion {
    /// The compiler's version: changes whenever the code it generates for the same input may
    /// change. Part of the compile cache's key.
    public static let compiler = "shoal-compiler 0.16.0"
    /// The contract between generated code and the runtime: vmctx and execution-state layouts,
    /// builtins' order and signatures, trap codes, funcref and table layouts, the calling
    /// convention. Bump it with any change to RuntimeABI or CShoal's shoal_abi.h.
    public static let abi: UInt32 = 2
}

/// Optional x86-64 instructions that generated code may contain. The compiler uses each one only
/// when the compiling machine has it, so code compiled here needs it where it runs.
public struct CPUFeatureSet: OptionSet, Sendable, Hashable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let lzcnt = CPUFeatureSet(rawValue: 1 << 0)
    public static let bmi1 = CPUFeatureSet(rawValue: 1 << 1)
    public static let popcnt = CPUFeatureSet(rawValue: 1 << 2)
    public static let sse41 = CPUFeatureSet(rawValue: 1 << 3)
    /// Required (with sse41) by code that has SIMD instructions: pshufb, pabs*, pmulhrsw.
    public static let ssse3 = CPUFeatureSet(rawValue: 1 << 4)

    /// Names, for messages and `shoal inspect`.
    public var names: [String] {
        [(Self.lzcnt, "lzcnt"), (.bmi1, "bmi1"), (.popcnt, "popcnt"), (.sse41, "sse4.1"), (.ssse3, "ssse3")]
            .filter { contains($0.0) }.map(\.1)
    }
}
