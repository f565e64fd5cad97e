import Foundation
import Glibc
import IOUring
import Runtime
import WasmCore

/// What a WASI program sees: its arguments, environment, preopened directories and standard
/// streams. One context per instance (it holds the instance's descriptor table).
public struct WASIConfiguration: Sendable {
    public var arguments: [String]
    public var environment: [(String, String)]
    /// Host directory -> the path the guest sees it as.
    public var preopens: [(host: String, guest: String)]
    /// Standard input: the host's (the default), a buffer, or an async stream of chunks.
    public var standardInput: WASIInput = .inherit
    /// Standard output: the host's (the default), captured, discarded or streamed.
    public var standardOutput: WASIOutput = .inherit
    /// Standard error, as `standardOutput`.
    public var standardError: WASIOutput = .inherit
    /// Listening TCP sockets handed to the guest as preopened descriptors (for sock_accept),
    /// as "ADDRESS:PORT" (IPv4).
    public var tcpListeners: [String] = []
    /// Listening sockets made by the host and shared by many instances (not closed by them),
    /// e.g. one listener for a thousand instances that each serve a connection.
    public var sharedListeners: [Int32] = []
    /// The most descriptors the guest may have open at once, stdio, preopens and listeners
    /// included; opening or accepting past it fails with EMFILE. It keeps one tenant from using
    /// up the process's descriptors (RLIMIT_NOFILE), which every instance shares.
    public var descriptorLimit = 1024
    /// The most bytes one read or write call (fd_read, fd_pread, fd_write, fd_pwrite, sock_recv,
    /// sock_send) moves; the guest gets a short count for the rest, as POSIX allows. It bounds
    /// the host buffer a call holds while its guest is parked. See `defaultMaxTransferBytes`.
    public var maxTransferBytes = WASIConfiguration.defaultMaxTransferBytes
    /// With `captureOutput`, the most bytes kept of each of stdout and stderr (64 MiB by
    /// default): a write that would go past it stores what fits and the next one fails with
    /// ENOSPC, as on a full disk, so a guest cannot make the host hold unbounded output.
    public var captureLimit = 64 << 20
    /// With standard error captured, the most bytes kept of it, when that should differ from
    /// `captureLimit` (nil: the same limit). A server that runs thousands of instances and only
    /// logs what a failing guest said keeps this small: the host may otherwise hold up to
    /// 2 x `captureLimit` per instance, half of it error output nobody reads in full.
    public var errorCaptureLimit: Int? = nil

    public init(arguments: [String] = [], environment: [(String, String)] = [], preopens: [(host: String, guest: String)] = [],
                captureOutput: Bool = false) {
        self.arguments = arguments
        self.environment = environment
        self.preopens = preopens
        self.captureOutput = captureOutput
    }

    /// Both output streams captured (true) or inherited (false).
    public var captureOutput: Bool {
        get {
            if case .capture = standardOutput, case .capture = standardError { return true }
            return false
        }
        set {
            standardOutput = newValue ? .capture : .inherit
            standardError = newValue ? .capture : .inherit
        }
    }

    /// Standard input as a buffer; nil inherits the host's (a stream reads as nil).
    public var stdin: [UInt8]? {
        get {
            if case .bytes(let b) = standardInput { return b }
            return nil
        }
        set { standardInput = newValue.map { .bytes($0) } ?? .inherit }
    }
}

/// The guest called proc_exit.
public struct WASIExit: Error, CustomStringConvertible {
    public let code: Int32
    public var description: String { "exit(\(code))" }
}

/// wasi_snapshot_preview1 rights bits that Shoal enforces, and the sets descriptors start with.
/// Every "all rights" in the layer (and in its tests) is `WASIRights.all`: there is one definition.
public enum WASIRights {
    public static let fdDatasync: UInt64 = 1 << 0, fdRead: UInt64 = 1 << 1, fdSeek: UInt64 = 1 << 2, fdFdstatSetFlags: UInt64 = 1 << 3
    public static let fdSync: UInt64 = 1 << 4, fdTell: UInt64 = 1 << 5, fdWrite: UInt64 = 1 << 6, fdAdvise: UInt64 = 1 << 7
    public static let fdAllocate: UInt64 = 1 << 8, pathCreateDirectory: UInt64 = 1 << 9, pathCreateFile: UInt64 = 1 << 10
    public static let pathLinkSource: UInt64 = 1 << 11, pathLinkTarget: UInt64 = 1 << 12, pathOpen: UInt64 = 1 << 13
    public static let fdReaddir: UInt64 = 1 << 14, pathReadlink: UInt64 = 1 << 15, pathRenameSource: UInt64 = 1 << 16
    public static let pathRenameTarget: UInt64 = 1 << 17, pathFilestatGet: UInt64 = 1 << 18, pathFilestatSetSize: UInt64 = 1 << 19
    public static let pathFilestatSetTimes: UInt64 = 1 << 20
    public static let fdFilestatGet: UInt64 = 1 << 21, fdFilestatSetSize: UInt64 = 1 << 22, fdFilestatSetTimes: UInt64 = 1 << 23
    public static let pathSymlink: UInt64 = 1 << 24, pathRemoveDirectory: UInt64 = 1 << 25, pathUnlinkFile: UInt64 = 1 << 26
    public static let pollFdReadwrite: UInt64 = 1 << 27, sockShutdown: UInt64 = 1 << 28, sockAccept: UInt64 = 1 << 29
    /// Every right preview1 defines (bits 0–29).
    public static let all: UInt64 = (1 << 30) - 1
    /// What a preopened directory may do itself: list, stat and set its times, and every path
    /// operation — no data rights (no FD_READ, FD_WRITE, FD_SEEK...), which make no sense on a
    /// directory. The same set wasmtime reports for a preopen (0x7b7fe00).
    public static let directoryBase: UInt64 = pathCreateDirectory | pathCreateFile | pathLinkSource | pathLinkTarget | pathOpen
        | fdReaddir | pathReadlink | pathRenameSource | pathRenameTarget | pathFilestatGet | pathFilestatSetTimes
        | fdFilestatGet | fdFilestatSetTimes | pathSymlink | pathRemoveDirectory | pathUnlinkFile
    /// What a preopened directory hands on to what is opened beneath it: every file and
    /// directory right, no socket rights, and not PATH_FILESTAT_SET_SIZE (no preview1 function
    /// uses it). wasmtime reports the same set (0xff7ffff).
    public static let directoryInheriting: UInt64 = (all & ~(sockShutdown | sockAccept)) & ~pathFilestatSetSize
}

typealias Rights = WASIRights

/// The state of one WASI instance: descriptors, exit status, captured output.
public final class WASIContext: @unchecked Sendable {  // used by the instance's fiber, one slice at a time
    public let configuration: WASIConfiguration
    let table: DescriptorTable
    public private(set) var exitCode: Int32?
    let lock = NSLock()
    var capturedStdout: [UInt8] = []
    var capturedStderr: [UInt8] = []
    var stdinOffset = 0
    let ring: any AsyncIO

    /// `io` performs the I/O: by default io_uring — the running worker's own ring, or the shared
    /// ring off the scheduler (`CurrentRing`); tests may inject another.
    public init(_ configuration: WASIConfiguration, io: any AsyncIO = CurrentRing()) throws {
        self.configuration = configuration
        self.ring = io
        table = DescriptorTable(limit: configuration.descriptorLimit)
        // Stdio's rights are wasmtime's: stdin reads, stdout and stderr write. (Without FD_SEEK
        // and FD_TELL, wasi-libc's isatty() is true when the host's stream is a terminal.)
        var initial = [
            Descriptor(hostFD: 0, kind: .stdio, ownsHostFD: false, rightsBase: Rights.fdRead, rightsInheriting: Rights.fdRead),
            Descriptor(hostFD: 1, kind: .stdio, ownsHostFD: false, rightsBase: Rights.fdWrite, rightsInheriting: Rights.fdWrite),
            Descriptor(hostFD: 2, kind: .stdio, ownsHostFD: false, rightsBase: Rights.fdWrite, rightsInheriting: Rights.fdWrite),
        ]
        if case .inherit = configuration.standardInput {} else { initial[0].viaEmbedder = true }
        if case .inherit = configuration.standardOutput {} else { initial[1].viaEmbedder = true }
        if case .inherit = configuration.standardError {} else { initial[2].viaEmbedder = true }
        // Whatever fails below, what was opened so far is closed (by the table or here).
        do {
            for (host, guest) in configuration.preopens {
                let fd = Glibc.open(host, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                guard fd >= 0 else { throw WASIError("cannot open preopened directory \(host): \(String(cString: strerror(errno)))") }
                initial.append(Descriptor(hostFD: fd, kind: .directory, preopenName: guest, ownsHostFD: true,
                                          rightsBase: Rights.directoryBase, rightsInheriting: Rights.directoryInheriting))
            }
            for listener in configuration.tcpListeners {
                initial.append(Descriptor(hostFD: try Self.listen(listener), kind: .socket, ownsHostFD: true))
            }
        } catch {
            for d in initial where d.ownsHostFD { Glibc.close(d.hostFD) }
            throw error
        }
        for fd in configuration.sharedListeners {
            initial.append(Descriptor(hostFD: fd, kind: .socket, ownsHostFD: false))
        }
        for (i, d) in initial.enumerated() where table.addInitial(d) == nil {
            table.closeAll()  // what was added (and empties the table, so deinit closes nothing twice)
            for rest in initial[i...] where rest.ownsHostFD { Glibc.close(rest.hostFD) }
            throw WASIError("\(initial.count) preopened descriptors exceed the descriptor limit of \(configuration.descriptorLimit)")
        }
    }

    /// A listening IPv4 TCP socket for "ADDRESS:PORT".
    public static func listen(_ address: String) throws -> Int32 {
        guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...]) else {
            throw WASIError("--tcplisten wants ADDRESS:PORT, got \(address)")
        }
        let host = String(address[..<colon])
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw WASIError("socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host.isEmpty ? "0.0.0.0" : host, &sin.sin_addr) == 1 else {
            Glibc.close(fd)
            throw WASIError("--tcplisten: bad IPv4 address \(host)")
        }
        let bound = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 1024) == 0 else {
            let message = String(cString: strerror(errno))
            Glibc.close(fd)
            throw WASIError("cannot listen on \(address): \(message)")
        }
        return fd
    }

    deinit { table.closeAll() }

    /// The ports of the preopened listening sockets (useful with port 0: the kernel picks).
    public var tcpPorts: [UInt16] {
        table.snapshot.compactMap { entry -> UInt16? in
            guard entry.descriptor.kind == .socket else { return nil }
            var sin = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let ok = withUnsafeMutablePointer(to: &sin) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(entry.descriptor.hostFD, $0, &length) }
            }
            return ok == 0 ? UInt16(bigEndian: sin.sin_port) : nil
        }
    }

    /// How many descriptors the guest has open (stdio, preopens and listeners included).
    public var openDescriptorCount: Int { table.count }

    public var stdout: [UInt8] { lock.withLock { capturedStdout } }
    public var stderr: [UInt8] { lock.withLock { capturedStderr } }

    func recordExit(_ code: Int32) { exitCode = code }

    func descriptor(_ fd: UInt32) throws(Errno) -> Descriptor { try table.get(fd) }

    /// The descriptor, if it holds `right` (else ENOTCAPABLE).
    func descriptor(_ fd: UInt32, requiring right: UInt64) throws(Errno) -> Descriptor {
        let d = try descriptor(fd)
        guard d.rightsBase & right == right else { throw .notcapable }
        return d
    }

    /// An import resolver for wasi_snapshot_preview1. The functions hold the context (it lives
    /// as long as an instance uses them); the context does not hold them, so nothing cycles.
    public func resolver() -> (String, String) -> Extern? {
        let makers = makeFunctions()
        return { module, name in module == Self.moduleName ? makers[name].map { .function($0()) } : nil }
    }

    /// wasi_snapshot_preview1 functions of this context, by name: all of them, or only `names`.
    public func hostFunctions(named names: Set<String>? = nil) -> [String: Function] {
        var result: [String: Function] = [:]
        for (name, make) in makeFunctions(wanted: names) { result[name] = make() }
        return result
    }

    /// Every wasi_snapshot_preview1 function of this context, by name (made afresh each time).
    public var hostFunctions: [String: Function] { hostFunctions(named: nil) }

    /// The type of every wasi_snapshot_preview1 function, by name: what an import of one must
    /// match. Worked out once per process, from the table of functions without making them
    /// (only the two that do not return an errno are made, for their types).
    public static let functionTypes: [String: FuncType] = {
        guard let context = try? WASIContext(WASIConfiguration(captureOutput: true)) else { return [:] }
        let table = context.functionTable()
        var types = table.types
        for (name, make) in table.makers where types[name] == nil { types[name] = make().type }
        return types
    }()

    /// The wasi_snapshot_preview1 names a module imports.
    public static func importedNames(of module: Module) -> Set<String> {
        Set(module.imports.filter { $0.module == moduleName }.map(\.name))
    }

    public static let moduleName = "wasi_snapshot_preview1"
}

extension WASIConfiguration {
    /// 1 MiB. wasmtime (49) moves only the first non-empty iovec of a read or write, charges the
    /// host memory a call makes it copy against a per-call "hostcall fuel" (128 MiB by default),
    /// and caps host-side read buffers at 64 KiB (`MAX_READ_SIZE_ALLOC`). Shoal copies through a
    /// host buffer that lives while the guest is parked, so the cap is what one parked call may
    /// hold: 1 MiB is 16 times the 64 KiB chunks libc and most programs read and write in, and
    /// the cut is further bounded by the guest's own memory size, so no call makes the host hold
    /// more than the guest's memory. Measured: a guest reading a 512 MiB file in 4 MiB reads
    /// took 494–527 ms with this cap and 498–570 ms with a 64 MiB one (Docs/SECURITY.md ("The WASI sandbox")).
    public static let defaultMaxTransferBytes = 1 << 20
}

public struct WASIError: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
