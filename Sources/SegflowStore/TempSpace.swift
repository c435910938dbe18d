import Foundation
import SegflowCore

/// This process's folder under the cache's `tmp/` (half-written objects, stage scratch folders), and
/// the sweep of those that dead processes left: a run killed mid-call leaves its worker's outputs
/// there, which nothing else would ever remove (a model checkpoint per kill).
///
/// `tmp/XXXXXXXX` (8 upper-case hex digits) belongs to whoever holds `locks/tmp-XXXXXXXX.lock`; the
/// lock is taken before the folder exists and the kernel drops it when the holder dies, so a folder
/// whose lock is free is garbage. Created on first use: read-only commands make none.
public final class TempSpace: @unchecked Sendable {
    /// `<cache>/tmp`.
    public let root: String
    private let locks: String
    private let name = String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(8))
    private let mutex = NSLock()
    private var held: FileLock?

    public init(cache: String) {
        root = cache + "/tmp"
        locks = cache + "/locks"
    }

    /// This process's folder (created, and its lock taken, on first use); `tmp/` itself if the lock
    /// cannot be taken, as before there were sessions.
    public var directory: String {
        mutex.lock(); defer { mutex.unlock() }
        let dir = root + "/" + name
        if held != nil { return dir }
        do {
            try FileManager.default.createDirectory(atPath: locks, withIntermediateDirectories: true)
            let lock = try FileLock.acquire(lockPath(name))
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            held = lock
            return dir
        } catch {
            return root
        }
    }

    /// Removes the folders of processes that have ended; a live process's folder is left alone.
    /// Entries of other shapes (older segflow versions' loose files) are not recognisable as dead: kept.
    public func sweep() {
        let fm = FileManager.default
        for entry in (try? fm.contentsOfDirectory(atPath: root)) ?? [] where Self.isSession(entry) && entry != name {
            guard let lock = try? FileLock.tryAcquire(lockPath(entry)) else { continue }
            try? fm.removeItem(atPath: root + "/" + entry)
            unlink(lockPath(entry))
            lock.release()
        }
    }

    private func lockPath(_ session: String) -> String { locks + "/tmp-\(session).lock" }

    static func isSession(_ entry: String) -> Bool {
        entry.count == 8 && entry.allSatisfy { $0.isHexDigit && !$0.isLowercase }
    }
}
