import Foundation
import GRDB
import SegflowCore

/// Out of disk space while writing the cache: one clear error, whichever write hit it (an object,
/// the index's WAL, a stage's scratch file, a plugin worker's output). Nothing is lost: an object is
/// renamed into place only when complete, and an index transaction that cannot be written rolls back.
public enum DiskFull {
    /// Whether `error` says the filesystem (or a quota) is full, however it was wrapped.
    public static func matches(_ error: Error) -> Bool {
        if let e = error as? DatabaseError { return e.resultCode == .SQLITE_FULL }
        if let e = error as? SegflowError { return isExplained(e) || mentions(e.description) }
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain, ns.code == Int(ENOSPC) || ns.code == Int(EDQUOT) { return true }
        if ns.domain == NSCocoaErrorDomain, ns.code == CocoaError.fileWriteOutOfSpace.rawValue { return true }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? Error { return matches(underlying) }
        return false
    }

    /// Whether a message carried as text (from a stage, a worker's traceback) says so.
    public static func mentions(_ text: String) -> Bool {
        text.contains(String(cString: strerror(ENOSPC))) || text.contains(String(cString: strerror(EDQUOT)))
            || text.contains("database or disk is full") || text.contains("There isn’t enough space")
    }

    /// Whether an SQLite I/O error at `path` is the disk being full: SQLite reports a write that found no
    /// space as SQLITE_FULL, but opening a WAL index (its shared-memory file) on a full disk as a plain
    /// I/O error; then the filesystem has next to nothing left.
    public static func explainsIOError(_ error: DatabaseError, at path: String) -> Bool {
        guard error.resultCode == .SQLITE_IOERR else { return false }
        var st = statvfs()
        return statvfs((path as NSString).deletingLastPathComponent, &st) == 0 && Int64(st.f_bavail) * Int64(st.f_frsize) < 1 << 20
    }

    /// Whether `error` is already the error below (not to be wrapped again).
    public static func isExplained(_ error: Error) -> Bool {
        (error as? SegflowError)?.description.contains(lead) == true
    }
    private static let lead = "the disk holding the cache "


    /// The user error: which cache, how much is free, what to do.
    public static func error(cache: String, while doing: String) -> SegflowError {
        var st = statvfs()
        let free = statvfs(cache, &st) == 0 ? Int64(st.f_bavail) * Int64(st.f_frsize) : -1
        let freeText = free < 0 ? "" : " (\(ByteCountFormatter.string(fromByteCount: free, countStyle: .file)) free)"
        return .user("\(lead)\(cache) is full\(freeText): \(doing) failed",
                     hint: "free space on that filesystem (`segflow gc --cache \(cache)` deletes objects no latest run uses), "
                         + "or pass --cache a folder on a larger disk; then run again: what was committed is kept and not recomputed")
    }
}
