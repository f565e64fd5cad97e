import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `shoal run --cache-dir DIR`: the engine's on-disk compile cache (`EngineConfiguration.cacheDirectory`),
/// so that a module compiled once starts from its cached artifact on the next run, as wasmtime's
/// CLI does with its cache.
///
/// A cache entry is code this process will run, so the directory must be one only this user can
/// write: it is created with mode 0700 if missing, and refused (with a warning, and the run goes
/// on without a cache) if it belongs to another user or others may write to it. Entries are still
/// verified like any artifact when read (checksum and contract).
enum CacheDirectory {
    /// The directory to give the engine, or nil with the reason it cannot be used.
    static func prepare(_ path: String) -> (url: URL?, problem: String?) {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            // The parents may be missing: make them (with the usual mode), then the cache itself.
            try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                     withIntermediateDirectories: true)
            if mkdir(path, 0o700) != 0 && errno != EEXIST {
                return (nil, "cannot create \(path): \(String(cString: strerror(errno)))")
            }
        }
        var info = stat()
        guard lstat(path, &info) == 0 else { return (nil, "cannot read \(path): \(String(cString: strerror(errno)))") }
        guard info.st_mode & S_IFMT == S_IFDIR else { return (nil, "\(path) is not a directory (a symbolic link is not accepted)") }
        guard info.st_uid == geteuid() else { return (nil, "\(path) belongs to another user") }
        guard info.st_mode & 0o022 == 0 else { return (nil, "others may write to \(path) (mode \(String(info.st_mode & 0o777, radix: 8)))") }
        return (URL(fileURLWithPath: path, isDirectory: true), nil)
    }
}
