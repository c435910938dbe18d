import Foundation
import SegflowCore

/// An advisory lock on a file, flock(2): between processes and between threads that each open the
/// file. The kernel drops it when the holder ends, however it ends (SIGKILL included), so a lock file
/// never needs cleaning up and a held lock always means a live holder.
public final class FileLock {
    private var fd: Int32

    private init(fd: Int32) { self.fd = fd }

    /// Waits for the exclusive lock on `path` (created if missing). On a filesystem without locks
    /// (Lustre mounted without `flock`, some FUSE mounts) it goes on unlocked, as segflow did before it
    /// took locks, rather than refusing to run there.
    public static func acquire(_ path: String) throws -> FileLock {
        let fd = try open(path)
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            if unsupported(errno) { break }
            let reason = String(cString: strerror(errno))
            close(fd)
            throw SegflowError.user("cannot lock \(path): \(reason)", hint: "the cache folder must be on a filesystem with file locks")
        }
        return FileLock(fd: fd)
    }

    /// The exclusive lock on `path` if nobody holds it now; nil if someone does (or if the filesystem
    /// cannot tell).
    public static func tryAcquire(_ path: String) throws -> FileLock? {
        let fd = try open(path)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            close(fd)
            return nil
        }
        return FileLock(fd: fd)
    }

    private static func unsupported(_ e: Int32) -> Bool { e == ENOLCK || e == EOPNOTSUPP || e == ENOSYS }

    /// Runs `body` holding the lock on `path`.
    public static func withLock<T>(_ path: String, _ body: () throws -> T) throws -> T {
        let lock = try acquire(path)
        defer { lock.release() }
        return try body()
    }

    public func release() {
        guard fd >= 0 else { return }
        flock(fd, LOCK_UN); close(fd); fd = -1
    }

    deinit { release() }

    private static func open(_ path: String) throws -> Int32 {
        let fd = Foundation.open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw SegflowError.user("cannot open the lock file \(path): \(String(cString: strerror(errno)))",
                                    hint: "the cache folder must be writable")
        }
        return fd
    }
}
