import Glibc

/// wasi_snapshot_preview1 errno values.
enum Errno: UInt16, Error {
    case success = 0, toobig = 1, acces = 2, again = 6, badf = 8, busy = 10, exist = 20, fault = 21, fbig = 22, ilseq = 25,
         intr = 27, inval = 28, io = 29, isdir = 31, loop = 32, mfile = 33, nametoolong = 37, nfile = 41, noent = 44,
         nomem = 48, nospc = 51, nosys = 52, notdir = 54, notempty = 55, notsup = 58, perm = 63, pipe = 64, rofs = 69,
         spipe = 70, xdev = 75, notcapable = 76, notsock = 57, notconn = 53, connreset = 15, connrefused = 14,
         connaborted = 13, timedout = 73, overflow = 61

    /// The WASI errno for a host errno.
    init(host code: Int32) {
        switch code {
        case EACCES: self = .acces
        case EAGAIN: self = .again
        case EBADF: self = .badf
        case EBUSY: self = .busy
        case EEXIST: self = .exist
        case EFAULT: self = .fault
        case EFBIG: self = .fbig
        case EINTR: self = .intr
        case EINVAL: self = .inval
        case EISDIR: self = .isdir
        case ELOOP: self = .loop
        case EMFILE: self = .mfile
        case ENAMETOOLONG: self = .nametoolong
        case ENFILE: self = .nfile
        case ENOENT: self = .noent
        case ENOMEM: self = .nomem
        case ENOSPC: self = .nospc
        case ENOSYS: self = .nosys
        case ENOTDIR: self = .notdir
        case ENOTEMPTY: self = .notempty
        case EOPNOTSUPP: self = .notsup
        case EPERM: self = .perm
        case EPIPE: self = .pipe
        case EROFS: self = .rofs
        case ESPIPE: self = .spipe
        case EXDEV: self = .xdev
        case ENOTCONN: self = .notconn
        case ENOTSOCK: self = .notsock
        case ECONNRESET: self = .connreset
        case ECONNREFUSED: self = .connrefused
        case ECONNABORTED: self = .connaborted
        case ETIMEDOUT: self = .timedout
        case EOVERFLOW: self = .overflow
        default: self = .io
        }
    }
}
