import Glibc
import RuntimeABI

/// Names Shoal's machine code for `perf`: with `SHOAL_PERF_MAP=1` in the environment, every module
/// mapped executable appends one line per function (`start size name`, hex) to
/// `/tmp/perf-<pid>.map`, the file `perf report` reads to name addresses in anonymous executable
/// memory (otherwise shown as `[JIT] tid N` and a bare address). wasmtime's `--profile=perfmap`
/// does the same for its code.
///
/// A module's lines go out in one `write` to a file opened with O_APPEND, so modules loaded on
/// several threads at once do not interleave inside each other's lines. Names are the name
/// section's, else `wasm-function[i]`; the stubs below the functions are one `shoal-stubs` entry.
/// Unloaded modules are not removed (perf reads the file after the run, and a later module may
/// reuse the addresses: as with any perf map, the newest line for an address wins in practice).
/// The file is never followed through a symbolic link (O_NOFOLLOW).
enum PerfMap {
    /// Read once: whether the environment asked for a map.
    static let enabled: Bool = {
        guard let value = getenv("SHOAL_PERF_MAP") else { return false }
        let text = String(cString: value)
        return !text.isEmpty && text != "0"
    }()

    /// Appends `compiled`'s functions, mapped at `base`, to this process's perf map.
    static func record(_ compiled: CompiledModule, at base: UnsafeRawPointer) {
        guard enabled else { return }
        let start = UInt(bitPattern: base)
        var text = ""
        if compiled.functionsStart > 0 { text += line(start, compiled.functionsStart, "shoal-stubs") }
        let imported = compiled.module.importedFunctionCount
        for (i, offset) in compiled.functionOffsets.enumerated() {
            let index = UInt32(imported + i)
            let name = compiled.module.functionNames[index] ?? "wasm-function[\(index)]"
            text += line(start + UInt(offset), compiled.functionEnds[i] - offset, name)
        }
        // O_NOFOLLOW: /tmp is shared, and a link planted at the name must not make us append
        // to whatever it points at.
        let fd = open("/tmp/perf-\(getpid()).map", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { return }  // a profiling aid: no map is not an error
        _ = Array(text.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    private static func line(_ address: UInt, _ size: Int, _ name: String) -> String {
        // perf splits on the first two spaces: the name may contain anything but a newline.
        let clean = name.map { $0.isNewline ? " " : $0 }
        return "\(String(address, radix: 16)) \(String(size, radix: 16)) \(String(clean))\n"
    }
}
