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
    /// Objects of at most this many bytes are kept inline. 4096 is one filesystem block: below it a file
    /// costs a whole block and an inode for a few bytes; above it the file's own cost is small beside its
    /// bytes, and large blobs are what SQLite stores slower than a filesystem (fasterthanfs.html: the
    /// crossover is around 100 KB, far above this).
    public static let threshold = 4096
    /// Pending bytes above which the adding thread writes the batch in a transaction of its own (an import
    /// of millions of small files must not hold them all in memory until its commit).
    static let pendingByteLimit = 32 << 20

    /// Where a committed inline object is: its pack's row id and its slice of the pack's bytes.
    struct Location { var pack: Int64; var offset: Int; var length: Int }

    private let lock = NSLock()
    /// Held for a whole write that carries small objects, from taking them to `committed` (`Index.write`, and
    /// the flush of a full buffer): objects in flight are not yet durable, so no other write may commit
    /// rows that name them meanwhile. Recursive: a write never waits on itself.
    let writes = NSRecursiveLock()
    private var pending: [Digest: Data] = [:]
    private var pendingBytes = 0
    /// Objects taken by a write transaction that has not committed yet (`takeBatch`): still answered from
    /// memory, and put back with the pending ones if the transaction fails.
    private var inFlight: [Digest: Data] = [:]
    /// Committed objects' locations: nil until first needed, then every pack with an id up to `through`
    /// (read from their directories, not their bytes) plus the packs this process wrote.
    private var located: Locations?
    private var through: Int64 = 0
    private var database: DatabaseWriter?

    init() {}

    /// The index this store's small objects live in: from now on they are kept inline.
    func attach(_ db: DatabaseWriter) { lock.lock(); database = db; lock.unlock() }

    /// Whether objects are kept inline (an index is attached).
    public var enabled: Bool { lock.lock(); defer { lock.unlock() }; return database != nil }

    // MARK: - Adding

    /// Buffers a new small object until the next index write (writing the buffer out itself when it is
    /// large), unless it is inline already: what `enabled` and `contains(d, ask: false)` answer, in one
    /// critical section with the adding on the common path (a first import adds an object per file from
    /// every core; three lock round trips per file meant thousands of futex calls per 20k files). False
    /// when no index is attached (the caller writes a file); true when `d` is inline now, added by this
    /// call or already there. `beforeAdding` (the ingest crash point) is called for a new object only.
    /// The caller copies `bytes` before the call (a copy of a few KB, which held the lock twice as long as
    /// the rest: the waits doubled).
    func addIfAbsent(_ d: Digest, _ bytes: Data, beforeAdding: () -> Void = {}) throws -> Bool {
        lock.lock()
        guard let db = database else { lock.unlock(); return false }
        if isInline(d) { lock.unlock(); return true }
        if located == nil {
            // The first question: the packs' directories are read once (outside the lock), then asked again.
            lock.unlock()
            readNewerPacks(db)
            lock.lock()
            if isInline(d) { lock.unlock(); return true }
        }
        // A crash point returns at once or kills the process: no other work under the lock.
        beforeAdding()
        if pending.updateValue(bytes, forKey: d) == nil { pendingBytes += bytes.count }
        let flush = pendingBytes > Self.pendingByteLimit
        lock.unlock()
        if flush { try flushPending() }
        return true
    }

    /// Small objects one worker gathers without taking the store's lock per object, handed over in bulk
    /// (`flush`, also when it holds 256 objects or 1 MB): a first import's workers each add one object per
    /// file, and the shared lock was their one point of contention (2,300-6,000 futex calls per 20k files,
    /// ~150 with batches). Not
    /// thread-safe: one per worker. Objects in it are not yet pending: flush before the index write that
    /// must carry them (`Fingerprinter.lookupAll` flushes before it returns).
    public final class Batch {
        private let owner: SmallObjects
        private var objects: [(Digest, Data)] = []
        private var bytes = 0
        init(_ owner: SmallObjects) { self.owner = owner; objects.reserveCapacity(256) }

        func add(_ d: Digest, _ data: Data) throws {
            objects.append((d, data)); bytes += data.count
            if objects.count >= 256 || bytes >= 1 << 20 { try flush() }
        }

        /// Hands what it holds to the store's pending objects (one lock).
        public func flush() throws {
            guard !objects.isEmpty else { return }
            defer { objects.removeAll(keepingCapacity: true); bytes = 0 }
            try owner.addAll(objects)
        }
    }

    /// A batch for one worker; nil when objects are not kept inline (no index attached).
    public func batch() -> Batch? { enabled ? Batch(self) : nil }

    /// `addIfAbsent` for many objects, in one critical section (a batch's flush).
    private func addAll(_ objects: [(Digest, Data)]) throws {
        lock.lock()
        // A batch exists only once an index is attached, which stays: never reached, but never a silent loss.
        guard let db = database else { lock.unlock(); throw SegflowError.internal("small objects handed over with no index attached") }
        if located == nil { lock.unlock(); readNewerPacks(db); lock.lock() }
        for (d, data) in objects where !isInline(d) {
            if pending.updateValue(data, forKey: d) == nil { pendingBytes += data.count }
        }
        let flush = pendingBytes > Self.pendingByteLimit
        lock.unlock()
        if flush { try flushPending() }
    }

    /// Room for `count` more pending objects (a dataset import about to add them from every core: the table
    /// is not regrown, with the lock held, as they arrive).
    public func expect(_ count: Int) {
        lock.lock(); pending.reserveCapacity(pending.count + count); lock.unlock()
    }

    /// Writes the pending objects out as a pack of their own (the buffer passed `pendingByteLimit`).
    private func flushPending() throws {
        if let db = attachedDatabase {
            writes.lock(); defer { writes.unlock() }
            let batch = takeBatch()
            do {
                let written = try db.write { try self.insert(batch, into: $0) }
                committed(batch, written)
            } catch {
                rolledBack(batch)
                throw error
            }
        }
    }

    /// Pending objects, for the transaction about to start, in digest order (a pack's directory is sorted).
    /// They are in flight until it has committed (`committed`) or failed (`rolledBack`).
    func takeBatch() -> [(Digest, Data)] {
        lock.lock()
        let batch = pending.map { ($0.key, $0.value) }
        if inFlight.isEmpty { inFlight = pending } else { inFlight.merge(pending) { a, _ in a } }
        pending = [:]; pendingBytes = 0
        lock.unlock()
        return batch.sorted { $0.0 < $1.0 }
    }

    /// A pack this process wrote: its row id and its objects' locations, in digest order.
    struct Written {
        var pack: Int64
        var objects: [(Digest, Location)]
        /// Binary search.
        func location(of d: Digest) -> Location? {
            var low = 0, high = objects.count
            while low < high {
                let mid = (low + high) / 2
                if objects[mid].0 < d { low = mid + 1 } else { high = mid }
            }
            return low < objects.count && objects[low].0 == d ? objects[low].1 : nil
        }
    }

    /// Where committed objects are: a table of the packs read from the index, and the packs this process
    /// wrote, each kept as written (sorted) and searched: entering a first import's 10k-object pack into
    /// the table was ~6 ms of its index write. Folded into the table once there are more than a few.
    struct Locations {
        var table: [Digest: Location] = [:]
        var own: [Written] = []
        static let ownLimit = 8

        subscript(d: Digest) -> Location? {
            if let at = table[d] { return at }
            for w in own { if let at = w.location(of: d) { return at } }
            return nil
        }

        mutating func add(_ written: Written) {
            own.append(written)
            guard own.count > Self.ownLimit else { return }
            table.reserveCapacity(table.count + own.reduce(0) { $0 + $1.objects.count })
            for w in own { for (d, at) in w.objects where table[d] == nil { table[d] = at } }
            own = []
        }

        var digests: Set<Digest> {
            var all = Set(table.keys)
            for w in own { for (d, _) in w.objects { all.insert(d) } }
            return all
        }
    }

    /// Whether `d` is pending, in flight or committed, as known now. Call with the lock held.
    private func isInline(_ d: Digest) -> Bool { pending[d] != nil || inFlight[d] != nil || located?[d] != nil }

    /// Inserts a batch as one pack inside the caller's transaction, leaving out objects already in a pack
    /// this process knows of (one written by another process meanwhile is stored twice: harmless, and
    /// `gc` removes both copies together).
    func insert(_ batch: [(Digest, Data)], into db: Database) throws -> Written? {
        guard !batch.isEmpty else { return nil }
        lock.lock(); let known = located; lock.unlock()
        let fresh = known.map { k in batch.filter { k[$0.0] == nil } } ?? batch
        guard !fresh.isEmpty else { return nil }
        let id = try Self.insertPack(fresh, into: db)
        var offset = 0
        return Written(pack: id, objects: fresh.map { d, b in
            defer { offset += b.count }
            return (d, Location(pack: id, offset: offset, length: b.count))
        })
    }

    /// The transaction holding `batch` committed: its objects are in the table now.
    func committed(_ batch: [(Digest, Data)], _ written: Written?) {
        guard !batch.isEmpty else { return }
        lock.lock()
        // Usually the whole of what is in flight (one write at a time): dropped at once, not key by key.
        var dropped: [Digest: Data] = [:]
        if inFlight.count == batch.count { swap(&dropped, &inFlight) } else { for (d, _) in batch { inFlight.removeValue(forKey: d) } }
        if located != nil, let written { located!.add(written) }
        lock.unlock()
        // The bytes are freed here, outside the lock (10k objects' buffers).
        _ = dropped
    }

    /// The transaction that took `batch` failed: its objects are pending again, for the next write.
    func rolledBack(_ batch: [(Digest, Data)]) {
        guard !batch.isEmpty else { return }
        lock.lock(); defer { lock.unlock() }
        for (d, bytes) in batch where inFlight.removeValue(forKey: d) != nil {
            if pending.updateValue(bytes, forKey: d) == nil { pendingBytes += bytes.count }
        }
    }

    /// Objects waiting for the next index write.
    public var pendingCount: Int { lock.lock(); defer { lock.unlock() }; return pending.count }

    // MARK: - Asking

    /// Whether `d` is inline (pending or in a pack). `ask`: on a miss of the packs known so far, read the
    /// directories of newer packs (another process may have added it); without, a miss is final (the ingest
    /// path: a false "no" costs only a second copy of the object).
    func contains(_ d: Digest, ask: Bool = true) -> Bool {
        // One critical section on the common path: a first import asks once per file, from every core.
        lock.lock()
        guard let db = database else { lock.unlock(); return false }
        if isInline(d) { lock.unlock(); return true }
        let loaded = located != nil
        lock.unlock()
        if loaded && !ask { return false }
        readNewerPacks(db)
        lock.lock(); defer { lock.unlock() }
        return located?[d] != nil
    }

    /// The bytes of an inline object; nil if it is not inline.
    func bytes(of d: Digest) -> Data? {
        guard let db = attachedDatabase else { return nil }
        lock.lock()
        if let b = pending[d] ?? inFlight[d] { lock.unlock(); return b }
        lock.unlock()
        guard let at = location(of: d, db: db, ask: true) else { return nil }
        if let b = Self.read(at, db) { return b }
        // Its pack is gone (another process's gc rewrote it): read every directory again, once.
        reload(db)
        return location(of: d, db: db, ask: false).flatMap { Self.read($0, db) }
    }

    /// Every inline digest, committed or pending (for gc and verify), from every pack as it is now.
    func all() -> [Digest] {
        guard let db = attachedDatabase else { return [] }
        reload(db)
        lock.lock(); defer { lock.unlock() }
        return Array((located?.digests ?? []).union(pending.keys).union(inFlight.keys))
    }

    /// Removes inline objects (corrupt, or garbage), in one transaction: the packs holding them are written
    /// again without them.
    func remove(_ ds: [Digest]) throws {
        guard let db = attachedDatabase, !ds.isEmpty else { return }
        lock.lock()
        for d in ds {
            if let b = pending.removeValue(forKey: d) { pendingBytes -= b.count }
            inFlight.removeValue(forKey: d)
        }
        lock.unlock()
        let drop = Set(ds)
        try db.write { try Self.rewritePacks($0, affecting: drop.contains) { _, _ in nil } }
        reload(db)
    }

    /// Replaces an inline object's bytes under its name, as a disk's damage would (tests of `verify`).
    func damage(_ d: Digest, with bytes: Data) throws {
        guard let db = attachedDatabase else { return }
        try db.write { try Self.rewritePacks($0, affecting: { $0 == d }) { _, _ in bytes } }
        reload(db)
    }

    // MARK: - Private

    private var attachedDatabase: DatabaseWriter? { lock.lock(); defer { lock.unlock() }; return database }

    /// Where `d` is: from the packs read so far (read now if none was); `ask`: on a miss, read newer packs.
    private func location(of d: Digest, db: DatabaseWriter, ask: Bool) -> Location? {
        lock.lock()
        let loaded = located != nil, found = located?[d]
        lock.unlock()
        if let found { return found }
        guard !loaded || ask else { return nil }
        readNewerPacks(db)
        lock.lock(); defer { lock.unlock() }
        return located?[d]
    }

    /// Reads the directories of packs newer than `through` into `located`.
    private func readNewerPacks(_ db: DatabaseWriter) {
        lock.lock(); let after = through; lock.unlock()
        var found: [(Int64, [SmallPack.Entry])] = []
        try? db.read { db in
            try Index.forEachRow(db, "SELECT id, directory FROM small_packs WHERE id > ? ORDER BY id", [after]) { s in
                let dir = UnsafeRawBufferPointer(start: sqlite3_column_blob(s, 1), count: Int(sqlite3_column_bytes(s, 1)))
                found.append((sqlite3_column_int64(s, 0), SmallPack.entries(dir)))
            }
        }
        lock.lock(); defer { lock.unlock() }
        if located == nil { located = Locations() }
        for (pack, entries) in found {
            for e in entries where located![e.digest] == nil {
                located!.table[e.digest] = Location(pack: pack, offset: e.offset, length: e.length)
            }
            through = max(through, pack)
        }
    }

    /// Forgets every location and reads all packs again (after packs were rewritten).
    private func reload(_ db: DatabaseWriter) {
        lock.lock(); located = nil; through = 0; lock.unlock()
        readNewerPacks(db)
    }

    /// One object's bytes from its pack, through SQLite's incremental blob reads (not the whole pack);
    /// nil if the pack is gone or too short.
    private static func read(_ at: Location, _ db: DatabaseWriter) -> Data? {
        try? db.read { db -> Data? in
            var blob: OpaquePointer?
            guard sqlite3_blob_open(db.sqliteConnection, "main", "small_packs", "bytes", at.pack, 0, &blob) == SQLITE_OK,
                  let blob else { return nil }
            defer { sqlite3_blob_close(blob) }
            guard at.offset + at.length <= Int(sqlite3_blob_bytes(blob)) else { return nil }
            var out = Data(count: at.length)
            guard at.length == 0 || out.withUnsafeMutableBytes({
                sqlite3_blob_read(blob, $0.baseAddress, Int32(at.length), Int32(at.offset))
            }) == SQLITE_OK else { return nil }
            return out
        }
    }

    /// Writes every pack holding an object `affecting` selects again as a new pack (a new id), with each such
    /// object's bytes replaced by `transform` (nil: left out), and deletes the old pack.
    static func rewritePacks(_ db: Database, affecting: (Digest) -> Bool, transform: (Digest, Data) -> Data?) throws {
        var touched: [(Int64, [SmallPack.Entry])] = []
        try Index.forEachRow(db, "SELECT id, directory FROM small_packs ORDER BY id", []) { s in
            let entries = SmallPack.entries(UnsafeRawBufferPointer(start: sqlite3_column_blob(s, 1), count: Int(sqlite3_column_bytes(s, 1))))
            if entries.contains(where: { affecting($0.digest) }) { touched.append((sqlite3_column_int64(s, 0), entries)) }
        }
        for (id, entries) in touched {
            guard let bytes = try Data.fetchOne(db, sql: "SELECT bytes FROM small_packs WHERE id = ?", arguments: [id]) else { continue }
            var kept: [(Digest, Data)] = []
            for e in entries where e.offset + e.length <= bytes.count {
                let own = bytes.subdata(in: e.offset..<(e.offset + e.length))
                if !affecting(e.digest) { kept.append((e.digest, own)) } else if let b = transform(e.digest, own) { kept.append((e.digest, b)) }
            }
            try db.execute(sql: "DELETE FROM small_packs WHERE id = ?", arguments: [id])
            guard !kept.isEmpty else { continue }
            try insertPack(kept, into: db)
        }
    }

    /// Writes objects (in digest order) as a new pack; its row id.
    @discardableResult
    static func insertPack(_ objects: [(Digest, Data)], into db: Database) throws -> Int64 {
        let pack = SmallPack.encode(objects)
        let insert = try RawStatement(db, "INSERT INTO small_packs (directory, bytes) VALUES (?, ?)")
        insert.bind(1, blob: pack.directory); insert.bind(2, blob: pack.bytes)
        try insert.step()
        return db.lastInsertedRowID
    }

    /// v10: the rows of `small_objects` (v7) as packs of at most `pendingByteLimit` bytes each.
    static func migrateToPacks(_ db: Database) throws {
        try db.execute(sql: "CREATE TABLE small_packs (id INTEGER PRIMARY KEY AUTOINCREMENT, directory BLOB NOT NULL, bytes BLOB NOT NULL)")
        var batch: [(Digest, Data)] = [], size = 0
        func flush() throws {
            guard !batch.isEmpty else { return }
            try insertPack(batch, into: db)
            batch = []; size = 0
        }
        try Index.forEachRow(db, "SELECT digest, bytes FROM small_objects ORDER BY digest", []) { s in
            guard let d = Index.digestBlobColumn(s, 0) else { return }
            let n = Int(sqlite3_column_bytes(s, 1))
            batch.append((d, n == 0 ? Data() : Data(bytes: sqlite3_column_blob(s, 1), count: n)))
            size += n
            if size > pendingByteLimit { try flush() }
        }
        try flush()
        try db.execute(sql: "DROP TABLE small_objects")
    }
}

extension Digest {
    /// The 32 raw bytes as `Data`, how the index stores an object's name.
    var rawData: Data { withUnsafeBytes { Data($0) } }
}
