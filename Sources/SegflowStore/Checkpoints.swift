import Foundation
import GRDB
import GRDBSQLite

/// WAL checkpoints beside the writer instead of inside its commits.
///
/// SQLite's own automatic checkpoint runs in the `COMMIT` that takes the log past 1000 pages: the
/// committing thread copies every page into the database file and syncs it before the commit returns.
/// A first import's records (10k execution rows, a folder's fingerprints, a pack of small objects: ~5 MB)
/// paid ~13-20 ms for that in the middle of the run. This replaces it (an installed WAL hook turns the
/// automatic one off): once the log holds `threshold` pages after a commit, a passive checkpoint starts on
/// a connection of its own, on another thread, while the writer goes on (passive mode takes no write lock:
/// neither this process's writer nor another's waits for it). What a checkpoint guarantees does not change:
/// a process killed during one leaves the log, which the next opener recovers from.
final class Checkpointer: @unchecked Sendable {
    /// Pages in the log after which a checkpoint is started (SQLite's automatic one: 1000, in the commit):
    /// 4 MB of 16 KB pages (`Index.pageSize`), SQLite's 1000 pages of 4 KB in bytes (an index made with
    /// 4 KB pages checkpoints after 1 MB).
    static let threshold = 256

    private let path: String?
    private let queue = DispatchQueue(label: "segflow.index.checkpoint")
    private let lock = NSLock()
    private var frames = 0
    private var queued = false
    /// The checkpointing connection, opened on the first checkpoint and used only on `queue`.
    private var connection: OpaquePointer?

    /// `path`: the database file (nil: an in-memory index, which has no log).
    init(path: String?) { self.path = path }

    deinit { if let connection { sqlite3_close_v2(connection) } }

    /// What the hook of a connection reaches. The store's small objects keep the index's pool and write through
    /// it after the `Index` is gone; the pool's configuration keeps this checkpointer alive with it today, but the
    /// hook does not rely on that: it holds this box (retained for the connection's life, a few bytes) and the
    /// checkpointer weakly.
    private final class HookTarget {
        weak var checkpointer: Checkpointer?
        init(_ c: Checkpointer) { checkpointer = c }
    }

    /// Replaces the automatic checkpoint on this (writer) connection.
    func install(on db: Database) {
        sqlite3_wal_hook(db.sqliteConnection, { context, _, _, frames in
            Unmanaged<HookTarget>.fromOpaque(context!).takeUnretainedValue().checkpointer?.committed(frames: Int(frames))
            return SQLITE_OK
        }, Unmanaged.passRetained(HookTarget(self)).toOpaque())
    }

    private func committed(frames: Int) { lock.lock(); self.frames = frames; lock.unlock() }

    /// After a write: starts a checkpoint if the log has grown past the threshold and none is running.
    func afterWrite() {
        guard path != nil else { return }
        lock.lock()
        let start = frames >= Self.threshold && !queued
        if start { queued = true; frames = 0 }
        lock.unlock()
        guard start else { return }
        queue.async {
            // One that cannot finish (a reader on an old snapshot, another process's checkpoint) is retried
            // after a later commit; SQLite's last close checkpoints what is left.
            self.checkpoint()
            self.lock.lock(); self.queued = false; self.lock.unlock()
        }
    }

    private func checkpoint() {
        if connection == nil, let path {
            var db: OpaquePointer?
            guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK else {
                sqlite3_close_v2(db); return
            }
            // A read first: a connection learns the file is in WAL mode (and opens its log) only when it
            // first reads it; until then a checkpoint does nothing.
            guard sqlite3_exec(db, "SELECT 1 FROM sqlite_master LIMIT 1", nil, nil, nil) == SQLITE_OK else {
                sqlite3_close_v2(db); return
            }
            connection = db
        }
        _ = sqlite3_wal_checkpoint_v2(connection, "main", SQLITE_CHECKPOINT_PASSIVE, nil, nil)
    }

    /// Whether a checkpoint is queued or running.
    var isQueued: Bool { lock.lock(); defer { lock.unlock() }; return queued }

    /// Returns once a started checkpoint has finished.
    func wait() { queue.sync {} }
}
