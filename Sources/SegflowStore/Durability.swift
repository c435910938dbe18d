import CFileSync
import Foundation
import SegflowCore

/// Objects written (or taken over) since the index last wrote, and the barrier that makes them durable
/// before the index names them.
///
/// Objects are named into place (linked, or renamed) without an fsync each: one fsync per object was most of a first
/// import's time (10k images + masks: 7.4 of 15.9 s in system time). Instead every index write
/// transaction first calls `sync()`: a few pending objects are fsynced one by one (with the folders
/// their names were added to), a batch is flushed by one `syncfs` of the cache's filesystem. So an
/// object the index names is on disk before the transaction that names it commits; a crash before
/// that leaves objects nothing names (garbage for `gc`), or, after a power loss, files whose bytes
/// never reached the disk: `ObjectStore` re-hashes an object it did not write itself before reusing it.
public final class DurabilityBarrier: @unchecked Sendable {
    /// How the last batch was made durable (for the hook and the tests).
    public enum Method: String, Sendable { case files, filesystem }
    /// One completed sync: the object paths it covered and how.
    public struct Report: Sendable {
        public let paths: [String]
        public let method: Method
    }

    /// Above this many pending objects one `syncfs` is cheaper than an fsync per file.
    public static let perFileLimit = 16

    private let lock = NSLock()
    /// Held for a whole sync: a second caller must not commit while the first is still flushing its objects.
    private let syncing = NSLock()
    private var pending: [String] = []
    private let objectsDirectory: String
    /// The objects folder held open: the anchor of `syncfs` and of the folders' own fsync.
    private let anchor: FolderHandle
    private var hook: (@Sendable (Report) -> Void)?
    /// Small objects waiting to be inserted inline (see `SmallObjects`): handed over by `sync()` to the
    /// transaction that names them.
    public let small = SmallObjects()
    /// Copies whose writeback is under way (see `WriteBehind`): closed at each sync.
    let writeBehind = WriteBehind()

    init(objectsDirectory: String) {
        self.objectsDirectory = objectsDirectory
        anchor = FolderHandle(path: objectsDirectory)
    }

    /// Called after every sync, before the caller's transaction (tests record the order with it).
    public func onSync(_ hook: (@Sendable (Report) -> Void)?) {
        lock.lock(); self.hook = hook; lock.unlock()
    }

    /// An object file (its final path) that must be durable before the index names it.
    func add(_ path: String) {
        lock.lock(); pending.append(path); lock.unlock()
    }

    /// Objects waiting for the next sync.
    public var pendingCount: Int { lock.lock(); defer { lock.unlock() }; return pending.count }

    /// Makes every pending object file durable; returns once they are on disk, with the pending small objects,
    /// which the caller inserts in its transaction and reports with `small.committed` once it committed, or
    /// `small.rolledBack` if it did not (until then they are in flight: answered, but in no table). Only
    /// `Index.write` calls it, holding `small.writes`. Throws when the disk reports an error (or an object
    /// vanished): the caller must not commit then.
    @discardableResult
    func sync() throws -> [(Digest, Data)] {
        syncing.lock(); defer { syncing.unlock() }
        try syncFiles()
        return small.takeBatch()
    }

    /// Makes the object files pending now durable, ahead of the index write that will name them (which
    /// then finds them done): for a caller that stored objects on another core while this one works on,
    /// so the fsyncs (each a journal commit on ext4) wait there instead of inside that write.
    public func makeFilesDurable() throws {
        syncing.lock(); defer { syncing.unlock() }
        try syncFiles()
    }

    private func syncFiles() throws {
        writeBehind.drain()
        lock.lock(); let paths = pending; let hook = self.hook; lock.unlock()
        guard !paths.isEmpty else { return }
        // Only what this sync covered leaves the list (objects added meanwhile wait for the next one), also
        // when it fails: the transaction that needed them is not made, and the run reports the error.
        defer { lock.lock(); pending.removeFirst(min(paths.count, pending.count)); lock.unlock() }
        var method = Method.files
        if paths.count > Self.perFileLimit, anchor.fd >= 0 {
            if sf_syncfs(anchor.fd) == 0 { method = .filesystem }
            else if errno != ENOSYS { throw failure("syncfs of \(objectsDirectory): \(String(cString: strerror(errno)))") }
        }
        if method == .files { try syncEach(paths) }
        hook?(Report(paths: paths, method: method))
    }

    /// Each file, then each folder a name was added to (a link or rename is durable once its folder is), then
    /// the objects folder (which may have gained a new `ab/` folder).
    private func syncEach(_ paths: [String]) throws {
        var folders: Set<Substring> = []
        for p in paths {
            try fsyncPath(p, flags: O_RDONLY)
            if let slash = p.lastIndex(of: "/") { folders.insert(p[..<slash]) }
        }
        for f in folders { try fsyncPath(String(f), flags: O_RDONLY | O_DIRECTORY) }
        if anchor.fd >= 0, fsync(anchor.fd) != 0 { throw failure("fsync of \(objectsDirectory): \(String(cString: strerror(errno)))") }
    }

    private func fsyncPath(_ path: String, flags: Int32) throws {
        let fd = open(path, flags | O_CLOEXEC)
        guard fd >= 0 else { throw failure("cannot open \(path) to make it durable: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        if fsync(fd) != 0 { throw failure("fsync of \(path): \(String(cString: strerror(errno)))") }
    }

    private func failure(_ what: String) -> SegflowError {
        .user("the cache's disk reported an error: \(what)", hint: "check the disk (dmesg) and free space, then run again")
    }
}
