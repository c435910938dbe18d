import Foundation
import GRDB
import GRDBSQLite
import SegflowCore

/// Small objects kept inline in the index (`small_objects`, migration v7) instead of a file each.
///
/// A file per object costs an inode, a directory entry in `objects/ab/` and its fsync: for a dataset of
/// 10,000 small images and masks that was most of a first import (1.61 s where `sha256sum` takes 0.16 s,
/// ~40 % of it in the kernel creating inodes and linking names). SQLite stores small blobs faster than a
/// filesystem stores small files (sqlite.org/fasterthanfs.html); git and restic pack small objects for the
/// same reason. So objects of at most `threshold` bytes that come in through `ingest(copyingFile:)` and
/// `ingest(data:)` are buffered here, in memory, and inserted at the start of the next index write
/// transaction (`Index.write`), the same transaction as the rows that name them: an object the index names
/// is durable by construction. A crash before that commit loses only objects nothing names yet.
///
/// Only a store whose index is open (`attach`) keeps objects inline: a `segflow worker` on a cluster node
/// opens no SQLite and writes files, and callers that need a path ask `ObjectStore.file(of:)`, which writes
/// an inline object out as an ordinary object file the first time.
public final class SmallObjects: @unchecked Sendable {
    /// Objects of at most this many bytes are kept inline. 4096 is one filesystem block and one SQLite page:
    /// below it a file costs a whole block and an inode for a few bytes, and a row fits a page or two;
    /// above it the file's own cost is small beside its bytes, and large blobs are what SQLite stores slower
    /// than a filesystem (fasterthanfs.html: the crossover is around 100 KB, far above this).
    public static let threshold = 4096
    /// Pending bytes above which the adding thread writes the batch in a transaction of its own (an import
    /// of millions of small files must not hold them all in memory until its commit).
    static let pendingByteLimit = 32 << 20

    private let lock = NSLock()
    private var pending: [Digest: Data] = [:]
    private var pendingBytes = 0
    /// Digests known to be in the table (loaded once, from the digest index alone, on the first question
    /// it cannot answer otherwise; kept up to date with this process's own inserts and deletes).
    private var known: Set<Digest>?
    private var database: DatabaseWriter?

    init() {}

    /// The index this store's small objects live in: from now on they are kept inline.
    func attach(_ db: DatabaseWriter) { lock.lock(); database = db; lock.unlock() }

    /// Whether objects are kept inline (an index is attached).
    public var enabled: Bool { lock.lock(); defer { lock.unlock() }; return database != nil }

    // MARK: - Adding

    /// Buffers a new small object until the next index write. Writes the buffer out itself when it is large.
    func add(_ d: Digest, _ bytes: Data) throws {
        lock.lock()
        if pending.updateValue(bytes, forKey: d) == nil { pendingBytes += bytes.count }
        let flush = pendingBytes > Self.pendingByteLimit
        lock.unlock()
        if flush, let db = attachedDatabase {
            let batch = takeBatch()
            try db.write { try Self.insert(batch, into: $0) }
            committed(batch)
        }
    }

    /// Pending objects, for the transaction about to start (they stay pending until it has committed), in
    /// digest order: the rows then go into the digest index one after the other (in hash order each insert
    /// lands on a random page of it: 10k objects took 30 ms instead of 9).
    func takeBatch() -> [(Digest, Data)] {
        lock.lock()
        let batch = pending.map { ($0.key, $0.value) }
        lock.unlock()
        return batch.sorted { $0.0 < $1.0 }
    }

    /// Inserts a batch inside the caller's transaction (bound through the C API: a first import inserts tens
    /// of thousands of rows).
    static func insert(_ batch: [(Digest, Data)], into db: Database) throws {
        guard !batch.isEmpty else { return }
        let insert = try RawStatement(db, "INSERT OR IGNORE INTO small_objects (digest, bytes) VALUES (?, ?)")
        for (d, bytes) in batch {
            insert.bind(1, raw: d); insert.bind(2, blob: bytes)
            try insert.step()
        }
    }

    /// The transaction holding `batch` committed: its objects are in the table now.
    func committed(_ batch: [(Digest, Data)]) {
        guard !batch.isEmpty else { return }
        lock.lock(); defer { lock.unlock() }
        for (d, bytes) in batch where pending.removeValue(forKey: d) != nil {
            pendingBytes -= bytes.count
            known?.insert(d)
        }
    }

    /// Objects waiting for the next index write.
    public var pendingCount: Int { lock.lock(); defer { lock.unlock() }; return pending.count }

    // MARK: - Asking

    /// Whether `d` is inline (pending or in the table). `ask`: on a miss of the digests known so far, ask the
    /// table (another process may have added it); without, a miss is final (the ingest path: a false "no"
    /// costs only an insert that is ignored).
    func contains(_ d: Digest, ask: Bool = true) -> Bool {
        guard let db = attachedDatabase else { return false }
        lock.lock()
        if pending[d] != nil { lock.unlock(); return true }
        let knownSet = known
        lock.unlock()
        if let knownSet, knownSet.contains(d) { return true }
        if knownSet == nil { loadKnown(db); if knownContains(d) { return true } }
        guard ask else { return false }
        let found = (try? db.read { try Bool.fetchOne($0, sql: "SELECT 1 FROM small_objects WHERE digest = ?", arguments: [d.rawData]) }) ?? nil
        if found == true { lock.lock(); known?.insert(d); lock.unlock(); return true }
        return false
    }

    /// The bytes of an inline object; nil if it is not inline.
    func bytes(of d: Digest) -> Data? {
        guard let db = attachedDatabase else { return nil }
        lock.lock()
        if let b = pending[d] { lock.unlock(); return b }
        lock.unlock()
        return (try? db.read { try Data.fetchOne($0, sql: "SELECT bytes FROM small_objects WHERE digest = ?", arguments: [d.rawData]) }) ?? nil
    }

    /// Every inline digest, committed or pending (for gc and verify).
    func all() -> [Digest] {
        guard let db = attachedDatabase else { return [] }
        let stored = (try? db.read { try Self.fetchDigests($0) }) ?? []
        lock.lock(); defer { lock.unlock() }
        return Array(Set(stored).union(pending.keys))
    }

    /// Removes inline objects (corrupt, or garbage), in one transaction.
    func remove(_ ds: [Digest]) throws {
        guard let db = attachedDatabase, !ds.isEmpty else { return }
        lock.lock()
        for d in ds {
            if let b = pending.removeValue(forKey: d) { pendingBytes -= b.count }
            known?.remove(d)
        }
        lock.unlock()
        try db.write { db in
            let stmt = try db.cachedStatement(sql: "DELETE FROM small_objects WHERE digest = ?")
            for d in ds { try stmt.execute(arguments: [d.rawData]) }
        }
    }

    // MARK: - Private

    private var attachedDatabase: DatabaseWriter? { lock.lock(); defer { lock.unlock() }; return database }

    private func knownContains(_ d: Digest) -> Bool { lock.lock(); defer { lock.unlock() }; return known?.contains(d) ?? false }

    private func loadKnown(_ db: DatabaseWriter) {
        let loaded = Set((try? db.read { try Self.fetchDigests($0) }) ?? [])
        lock.lock(); if known == nil { known = loaded } else { known!.formUnion(loaded) }; lock.unlock()
    }

    /// The digests alone, from their index (not the table's pages, which hold the bytes).
    private static func fetchDigests(_ db: Database) throws -> [Digest] {
        var out: [Digest] = []
        try Index.forEachRow(db, "SELECT digest FROM small_objects INDEXED BY small_objects_digest", []) { s in
            guard sqlite3_column_bytes(s, 0) == 32, let p = sqlite3_column_blob(s, 0) else { return }
            out.append(Digest(bytes: UnsafeRawBufferPointer(start: p, count: 32)))
        }
        return out
    }
}

extension Digest {
    /// The 32 raw bytes as `Data`, how the index stores an inline object's name.
    var rawData: Data { withUnsafeBytes { Data($0) } }
}
