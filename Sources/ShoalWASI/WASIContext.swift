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
    enum Kind { case stdio, file, directory }
    var hostFD: Int32
    var kind: Kind
    /// For preopened directories: the name the guest knows it by.
    var preopenName: String?
    var ownsHostFD: Bool
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
    let ring: Ring

    public init(_ configuration: WASIConfiguration, ring: Ring = .shared) throws {
        self.configuration = configuration
        self.ring = ring
        descriptors[0] = Descriptor(hostFD: 0, kind: .stdio, ownsHostFD: false)
        descriptors[1] = Descriptor(hostFD: 1, kind: .stdio, ownsHostFD: false)
        descriptors[2] = Descriptor(hostFD: 2, kind: .stdio, ownsHostFD: false)
        for (host, guest) in configuration.preopens {
            let fd = Glibc.open(host, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else { throw WASIError("cannot open preopened directory \(host): \(String(cString: strerror(errno)))") }
            descriptors[nextFD] = Descriptor(hostFD: fd, kind: .directory, preopenName: guest, ownsHostFD: true)
            nextFD += 1
        }
    }

    deinit {
        for d in descriptors.values where d.ownsHostFD { Glibc.close(d.hostFD) }
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

    func remove(_ fd: UInt32) -> Descriptor? {
        lock.withLock { descriptors.removeValue(forKey: Int32(bitPattern: fd)) }
    }

    /// An import resolver for wasi_snapshot_preview1. The functions hold the context (it lives
    /// as long as an instance uses them); the context does not hold them, so nothing cycles.
    public func resolver() -> (String, String) -> Extern? {
        let functions = makeFunctions()
        return { module, name in module == Self.moduleName ? functions[name].map { .function($0) } : nil }
    }

    /// Every wasi_snapshot_preview1 function of this context, by name (made afresh each time).
    public var hostFunctions: [String: Function] { makeFunctions() }
    public static let moduleName = "wasi_snapshot_preview1"
}

public struct WASIError: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
