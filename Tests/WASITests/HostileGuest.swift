import Compiler
import Foundation
import IOUring
import Runtime
import RuntimeABI
import ShoalWASI
import WasmCore
import WasmText
#if canImport(Glibc)
import Glibc
#endif

/// A guest that puts every WASI function in the test's hands: a WebAssembly module, generated
/// from the functions' own signatures, that imports each wasi_snapshot_preview1 function and
/// exports a wrapper of the same name passing its arguments straight through. A test plays the
/// hostile guest by calling any WASI function with any arguments — from the guest's side, so the
/// calls see the guest's memory and park on I/O exactly as a real program's do — and by reading
/// and writing the guest's memory directly.
final class HostileGuest {
    let wasi: WASIContext
    let store: Store
    let instance: Instance
    let memory: LinearMemory
    let heap: HeapMode
    /// How many times the guest's calls parked (their fiber switched out to wait for I/O).
    private(set) var parks = 0
    /// Runs on the test's thread each time a call parks, before it waits: where a test supplies
    /// the data the parked call waits for.
    var whileParked: (() -> Void)?

    /// `pages`: the memory's size (65,536 is the whole 4 GiB a 32-bit pointer can name).
    init(heap: HeapMode, pages: Int = 1, configuration: WASIConfiguration = WASIConfiguration(captureOutput: true),
         io: (any AsyncIO)? = nil) throws {
        self.heap = heap
        wasi = try io.map { try WASIContext(configuration, io: $0) } ?? WASIContext(configuration)
        let bytes = try TextFormat.wat2wasm(Self.source(pages: pages))
        store = Store(heapMode: heap)
        instance = try store.instantiate(try ModuleCompiler.compile(bytes: bytes, heapMode: heap), resolver: wasi.resolver())
        guard case .memory(let memory)? = instance.export("memory") else { throw WASIError("no memory") }
        self.memory = memory
    }

    /// The module: every WASI function imported and re-exported through a wasm wrapper.
    static func source(pages: Int) throws -> String {
        let functions = try WASIContext(WASIConfiguration()).hostFunctions.sorted { $0.key < $1.key }
        func signature(_ type: FuncType) -> String {
            let params = type.params.isEmpty ? "" : " (param " + type.params.map { "\($0)" }.joined(separator: " ") + ")"
            let results = type.results.isEmpty ? "" : " (result " + type.results.map { "\($0)" }.joined(separator: " ") + ")"
            return params + results
        }
        var text = "(module\n"
        for (name, function) in functions {
            text += "  (import \"wasi_snapshot_preview1\" \"\(name)\" (func $\(name)\(signature(function.type))))\n"
        }
        text += "  (memory (export \"memory\") \(pages))\n"
        for (name, function) in functions {
            let arguments = function.type.params.indices.map { "(local.get \($0))" }.joined(separator: " ")
            text += "  (func (export \"\(name)\")\(signature(function.type)) (call $\(name) \(arguments)))\n"
        }
        return text + ")\n"
    }

    /// Calls a WASI function from inside the guest and returns its errno (0: success).
    @discardableResult
    func call(_ name: String, _ arguments: UInt64...) throws -> UInt32 { try call(name, arguments) }

    @discardableResult
    func call(_ name: String, _ arguments: [UInt64]) throws -> UInt32 {
        guard case .function(let function)? = instance.export(name) else { throw WASIError("no export \(name)") }
        let values = zip(arguments, function.type.params).map { Value(slot: $0, type: $1) }
        let execution = try Execution(function, arguments: values, stackSize: 4 << 20)
        while true {
            switch try execution.resume() {
            case .exited(let results):
                guard case .i32(let errno)? = results.first else { return 0 }
                return errno
            case .trapped(let trap): throw trap
            case .parked:
                parks += 1
                whileParked?()
                let ready = DispatchSemaphore(value: 0)
                execution.whenResumable { ready.signal() }
                ready.wait()
            default: continue
            }
        }
    }

    // Memory, as the guest sees it (addresses are 64-bit so a test can name the very top).

    func poke(_ address: UInt64, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { memory.bytes.baseAddress!.advanced(by: Int(address)).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    func poke(_ address: UInt64, _ string: String) { poke(address, Array(string.utf8)) }

    func pokeU32(_ address: UInt64, _ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { poke(address, Array($0)) }
    }

    func peek(_ address: UInt64, _ count: Int) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: memory.bytes.baseAddress!.advanced(by: Int(address)), count: count))
    }

    func peekU32(_ address: UInt64) -> UInt32 {
        peek(address, 4).withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }.littleEndian
    }

    /// Writes `count` iovecs at `address`, each (base, length).
    func pokeIovecs(_ address: UInt64, _ iovecs: [(base: UInt32, length: UInt32)]) {
        for (i, iovec) in iovecs.enumerated() {
            pokeU32(address + UInt64(8 * i), iovec.base)
            pokeU32(address + UInt64(8 * i + 4), iovec.length)
        }
    }

    /// Opens `path` under the preopen at guest fd 3 and returns the new guest fd (or the errno).
    func open(_ path: String, create: Bool = false, write: Bool = false, follow: Bool = true, scratch: UInt64 = 0x100) throws -> Result<UInt32, WASIErrno> {
        poke(scratch, path)
        // Every right but read, readdir and write (which choose O_RDONLY/O_WRONLY/O_RDWR), then those asked for.
        let all = WASIRights.all, read = WASIRights.fdRead, readdir = WASIRights.fdReaddir, writing = WASIRights.fdWrite
        let rights = (all & ~(read | readdir | writing)) | read | (write ? writing : readdir)
        let errno = try call("path_open", 3, follow ? 1 : 0, scratch, UInt64(path.utf8.count), create ? 1 : 0,
                             rights, all, 0, scratch + 0x800)
        return errno == 0 ? .success(peekU32(scratch + 0x800)) : .failure(WASIErrno(errno))
    }
}

/// A WASI errno a test expects (by its WASI name).
struct WASIErrno: Error, Equatable, CustomStringConvertible {
    let value: UInt32
    init(_ value: UInt32) { self.value = value }
    static let success = WASIErrno(0), badf = WASIErrno(8), exist = WASIErrno(20), fault = WASIErrno(21), inval = WASIErrno(28)
    static let loop = WASIErrno(32), mfile = WASIErrno(33), nametoolong = WASIErrno(37), noent = WASIErrno(44)
    static let notconn = WASIErrno(53), notdir = WASIErrno(54), nospc = WASIErrno(51), notcapable = WASIErrno(76)
    var description: String { "errno \(value)" }
}

/// A directory tree on the host, for sandboxes and for what must stay untouched beside them.
struct HostDirectory {
    let path: String

    init(_ label: String) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-\(label)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    func write(_ name: String, _ contents: String) throws {
        let url = URL(fileURLWithPath: path).appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try contents.write(to: url, atomically: false, encoding: .utf8)
    }

    func symlink(_ name: String, to target: String) throws {
        try FileManager.default.createSymbolicLink(atPath: "\(path)/\(name)", withDestinationPath: target)
    }

    /// Every entry below, with what could change: type, size, permissions, links, mtime, and for
    /// files atime (ns). Compared before and after, it shows that nothing in the tree was touched.
    /// (A directory's atime is left out: listing it for the snapshot may itself update it.)
    func snapshot() -> [String: String] {
        var result: [String: String] = [:]
        func visit(_ relative: String) {
            var s = stat()
            guard lstat("\(path)/\(relative)", &s) == 0 else { return }
            let isDirectory = s.st_mode & S_IFMT == S_IFDIR
            let atime = isDirectory ? "" : " \(s.st_atim.tv_sec).\(s.st_atim.tv_nsec)"
            result[relative] = "\(s.st_mode) \(s.st_size) \(s.st_nlink) \(s.st_mtim.tv_sec).\(s.st_mtim.tv_nsec)" + atime
            if isDirectory, let names = try? FileManager.default.contentsOfDirectory(atPath: "\(path)/\(relative)") {
                for name in names { visit(relative.isEmpty ? name : "\(relative)/\(name)") }
            }
        }
        visit("")
        return result
    }
}
