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
    /// Capture stdout/stderr into buffers (for embedders) instead of inheriting the host's.
    public var captureOutput: Bool
    /// Standard input as a buffer (for embedders); nil inherits the host's stdin.
    public var stdin: [UInt8]? = nil
    /// Listening TCP sockets handed to the guest as preopened descriptors (for sock_accept),
    /// as "ADDRESS:PORT" (IPv4).
    public var tcpListeners: [String] = []
    /// Listening sockets made by the host and shared by many instances (not closed by them),
    /// e.g. one listener for a thousand instances that each serve a connection.
    public var sharedListeners: [Int32] = []

    public init(arguments: [String] = [], environment: [(String, String)] = [], preopens: [(host: String, guest: String)] = [],
                captureOutput: Bool = false) {
        self.arguments = arguments
        self.environment = environment
        self.preopens = preopens
        self.captureOutput = captureOutput
    }
}

/// The guest called proc_exit.
public struct WASIExit: Error, CustomStringConvertible {
    public let code: Int32
    public var description: String { "exit(\(code))" }
}

/// One open descriptor in a guest's table.
struct Descriptor {
    enum Kind { case stdio, file, directory, socket }
    var hostFD: Int32
    var kind: Kind
    /// For preopened directories: the name the guest knows it by.
    var preopenName: String?
    var ownsHostFD: Bool
    /// WASI rights: what this descriptor may do, and what descriptors opened through it may get.
    var rightsBase: UInt64 = Rights.all
    var rightsInheriting: UInt64 = Rights.all
}

/// wasi_snapshot_preview1 rights bits that Shoal enforces.
enum Rights {
    static let fdDatasync: UInt64 = 1 << 0, fdRead: UInt64 = 1 << 1, fdSeek: UInt64 = 1 << 2, fdSync: UInt64 = 1 << 4
    static let fdTell: UInt64 = 1 << 5, fdWrite: UInt64 = 1 << 6, fdAdvise: UInt64 = 1 << 7, fdAllocate: UInt64 = 1 << 8
    static let pathCreateDirectory: UInt64 = 1 << 9, pathLinkSource: UInt64 = 1 << 11, pathLinkTarget: UInt64 = 1 << 12
    static let pathOpen: UInt64 = 1 << 13, fdReaddir: UInt64 = 1 << 14, pathReadlink: UInt64 = 1 << 15
    static let pathRenameSource: UInt64 = 1 << 16, pathRenameTarget: UInt64 = 1 << 17, pathFilestatGet: UInt64 = 1 << 18
    static let fdFilestatGet: UInt64 = 1 << 21, fdFilestatSetSize: UInt64 = 1 << 22, fdFilestatSetTimes: UInt64 = 1 << 23
    static let pathSymlink: UInt64 = 1 << 24, pathRemoveDirectory: UInt64 = 1 << 25, pathUnlinkFile: UInt64 = 1 << 26
    static let sockShutdown: UInt64 = 1 << 28, sockAccept: UInt64 = 1 << 29
    static let all: UInt64 = (1 << 30) - 1
}

/// The state of one WASI instance: descriptors, exit status, captured output.
public final class WASIContext: @unchecked Sendable {  // used by the instance's fiber, one slice at a time
    public let configuration: WASIConfiguration
    var descriptors: [Int32: Descriptor] = [:]
    var nextFD: Int32 = 3
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
        descriptors[0] = Descriptor(hostFD: 0, kind: .stdio, ownsHostFD: false)
        descriptors[1] = Descriptor(hostFD: 1, kind: .stdio, ownsHostFD: false)
        descriptors[2] = Descriptor(hostFD: 2, kind: .stdio, ownsHostFD: false)
        for (host, guest) in configuration.preopens {
            let fd = Glibc.open(host, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else { throw WASIError("cannot open preopened directory \(host): \(String(cString: strerror(errno)))") }
            descriptors[nextFD] = Descriptor(hostFD: fd, kind: .directory, preopenName: guest, ownsHostFD: true)
            nextFD += 1
        }
        for listener in configuration.tcpListeners {
            descriptors[nextFD] = Descriptor(hostFD: try Self.listen(listener), kind: .socket, ownsHostFD: true)
            nextFD += 1
        }
        for fd in configuration.sharedListeners {
            descriptors[nextFD] = Descriptor(hostFD: fd, kind: .socket, ownsHostFD: false)
            nextFD += 1
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

    deinit {
        for d in descriptors.values where d.ownsHostFD { Glibc.close(d.hostFD) }
    }

    /// The ports of the preopened listening sockets (useful with port 0: the kernel picks).
    public var tcpPorts: [UInt16] {
        lock.withLock {
            descriptors.keys.sorted().compactMap { key -> UInt16? in
                guard let d = descriptors[key], d.kind == .socket else { return nil }
                var sin = sockaddr_in()
                var length = socklen_t(MemoryLayout<sockaddr_in>.size)
                let ok = withUnsafeMutablePointer(to: &sin) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(d.hostFD, $0, &length) }
                }
                return ok == 0 ? UInt16(bigEndian: sin.sin_port) : nil
            }
        }
    }

    public var stdout: [UInt8] { lock.withLock { capturedStdout } }
    public var stderr: [UInt8] { lock.withLock { capturedStderr } }

    func recordExit(_ code: Int32) { exitCode = code }

    func add(_ descriptor: Descriptor) -> Int32 {
        lock.withLock {
            let fd = nextFD
            nextFD += 1
            descriptors[fd] = descriptor
            return fd
        }
    }

    func descriptor(_ fd: UInt32) throws(Errno) -> Descriptor {
        guard let d = lock.withLock({ descriptors[Int32(bitPattern: fd)] }) else { throw .badf }
        return d
    }

    /// The descriptor, if it holds `right` (else ENOTCAPABLE).
    func descriptor(_ fd: UInt32, requiring right: UInt64) throws(Errno) -> Descriptor {
        let d = try descriptor(fd)
        guard d.rightsBase & right == right else { throw .notcapable }
        return d
    }

    func replace(_ fd: UInt32, with descriptor: Descriptor) {
        lock.withLock { descriptors[Int32(bitPattern: fd)] = descriptor }
    }

    func remove(_ fd: UInt32) -> Descriptor? {
        lock.withLock { descriptors.removeValue(forKey: Int32(bitPattern: fd)) }
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
        for (name, make) in makeFunctions() where names?.contains(name) ?? true { result[name] = make() }
        return result
    }

    /// Every wasi_snapshot_preview1 function of this context, by name (made afresh each time).
    public var hostFunctions: [String: Function] { hostFunctions(named: nil) }

    /// The wasi_snapshot_preview1 names a module imports.
    public static func importedNames(of module: Module) -> Set<String> {
        Set(module.imports.filter { $0.module == moduleName }.map(\.name))
    }

    public static let moduleName = "wasi_snapshot_preview1"
}

public struct WASIError: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
