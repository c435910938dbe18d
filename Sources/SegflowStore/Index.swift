import Foundation
import GRDB
import GRDBSQLite
import SegflowCore
import SegflowGraph

/// A cached result: the outputs one key produced.
public struct ResultRecord: Sendable {
    public var key: Digest
    public var node: String
    public var stage: String
    /// The item stem for map stages; nil for a whole node.
    public var item: String?
    public var outputs: [String: FileTree]
    public var runID: Int64
    public var duration: Double
    /// Canonical JSON of the key's params and inputs, for `lineage` and `why`.
    public var params: String
    public var inputs: String

    public init(key: Digest, node: String, stage: String, item: String?, outputs: [String: FileTree],
                runID: Int64, duration: Double, params: String, inputs: String) {
        self.key = key; self.node = node; self.stage = stage; self.item = item; self.outputs = outputs
        self.runID = runID; self.duration = duration; self.params = params; self.inputs = inputs
    }
}

/// One item or node execution in a run (ran or failed; cache hits are counted per node).
public struct ExecutionRecord: Sendable {
    public var node: String
    public var item: String?
    public var key: Digest?
    public var status: String
    public var reason: String
    public var duration: Double
    public var error: String?
    public init(node: String, item: String?, key: Digest?, status: String, reason: String, duration: Double, error: String? = nil) {
        self.node = node; self.item = item; self.key = key; self.status = status; self.reason = reason
        self.duration = duration; self.error = error
    }
}

/// The SQLite index (GRDB, WAL, busy timeout, migrations). Only the coordinating process writes it.
public final class Index: @unchecked Sendable {
    public let db: DatabaseWriter
    /// The store's unsynced objects: every write transaction makes them durable first, so nothing the
    /// index names can be lost in a crash after it commits (nil: an index without a store, in tests).
    public let durability: DurabilityBarrier?
    /// Checkpoints of the write-ahead log, after commits rather than inside them (see `Checkpointer`).
    let checkpointer: Checkpointer
    /// The page size of a new index (SQLite's default is 4 KB; see `init`).
    static let pageSize = 16384

    /// Held by `write` for a whole write when there is no store (SQLite runs one writer at a time anyway).
    private let writing = NSRecursiveLock()

    /// Opens (and migrates) `path`; `nil` gives an in-memory index for tests.
    ///
    /// Safe when several processes open one new cache at once: the switch to WAL and the migrations run
    /// under an exclusive lock on `path.lock`. GRDB's migrator reads which migrations are applied
    /// before its write transaction, so two openers would otherwise both create the schema ("table
    /// results already exists", "UNIQUE constraint failed: grdb_migrations.identifier").
    public init(path: String?, durability: DurabilityBarrier? = nil) throws {
        self.durability = durability
        checkpointer = Checkpointer(path: path)
        var config = Configuration()
        config.busyMode = .timeout(10)
        let checkpointer = self.checkpointer
        config.prepareDatabase { db in
            guard !db.configuration.readonly else { return }
            // The writer's page cache holds a whole dataset import's transaction (10k items: ~23 MB of rows
            // and indexes). At SQLite's default 2 MB it spilled dirty pages into the WAL mid-transaction and
            // read them back: 64k page writes and 52k reads for 20k files. Readers keep the default.
            try db.execute(sql: "PRAGMA cache_size = -65536")
            // 16 KB pages for a new index (an existing one keeps its size): the log gets a frame per page, and
            // SQLite writes each frame with two pwrite calls. A first import's packs and fingerprint blobs
            // (~5 MB for 20k small files) were ~2,600 frames at 4 KB (the commit ~8 ms), a quarter at 16 KB
            // (~4 ms); the cached 10k-item plan reads as fast (interleaved runs, within noise).
            try db.execute(sql: "PRAGMA page_size = \(Self.pageSize)")
            checkpointer.install(on: db)
        }
        do {
            if let path {
                db = try FileLock.withLock(path + ".lock") {
                    let pool = try DatabasePool(path: path, configuration: config)
                    try Self.migrator.migrate(pool)
                    return pool
                }
            } else {
                db = try DatabaseQueue(configuration: config)
                try Self.migrator.migrate(db)
            }
            durability?.small.attach(db)
        } catch let e as DatabaseError where path != nil && (e.resultCode == .SQLITE_FULL || DiskFull.explainsIOError(e, at: path!)) {
            throw DiskFull.error(cache: (path! as NSString).deletingLastPathComponent, while: "opening the index")
        } catch let e as DatabaseError {
            throw SegflowError.user("cannot open the cache index \(path ?? ":memory:"): \(e.message ?? "\(e)")",
                                    hint: "another segflow may hold it, or it is damaged: move the cache folder aside and run again")
        }
    }

    /// A write transaction, after the pending objects are durable (see `DurabilityBarrier`). Every
    /// write of the index goes through here: results, run records, memos and import marks all name objects.
    /// Pending small objects are inserted first, in the same transaction: they commit with the rows that
    /// name them, or (rolled back) stay pending for the next write.
    func write<T>(_ updates: (Database) throws -> T) throws -> T {
        // One write at a time from barrier to `committed` (the fingerprint save runs on its own thread while a
        // plan goes on): a second writer must not commit rows naming objects the first has in flight.
        let writing = durability?.small.writes ?? self.writing
        writing.lock(); defer { writing.unlock() }
        let small = try durability?.sync() ?? []
        var written: SmallObjects.Written?
        let result: T
        do {
            result = try db.write { db in
                written = try durability?.small.insert(small, into: db)
                return try updates(db)
            }
        } catch {
            // Not committed: the objects wait for the next write.
            durability?.small.rolledBack(small)
            throw error
        }
        durability?.small.committed(small, written)
        checkpointer.afterWrite()
        return result
    }

    /// Waits for a checkpoint of the log started by an earlier write (a command's last step: what it wrote
    /// is in the database file when it returns, not left to the next process).
    public func finishCheckpoints() { checkpointer.wait() }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
            CREATE TABLE results (key TEXT PRIMARY KEY, node TEXT NOT NULL, stage TEXT NOT NULL, item TEXT,
              outputs TEXT NOT NULL, run_id INTEGER NOT NULL, created REAL NOT NULL, duration REAL NOT NULL,
              params TEXT NOT NULL, inputs TEXT NOT NULL);
            CREATE INDEX results_node_item ON results(node, item, run_id);
            CREATE TABLE result_files (digest TEXT NOT NULL, key TEXT NOT NULL);
            CREATE INDEX result_files_digest ON result_files(digest);
            CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, pipeline TEXT NOT NULL, file TEXT NOT NULL DEFAULT '', command TEXT NOT NULL,
              started REAL NOT NULL, finished REAL, status TEXT NOT NULL, ran INTEGER DEFAULT 0,
              cached INTEGER DEFAULT 0, failed INTEGER DEFAULT 0);
            CREATE TABLE run_nodes (run_id INTEGER NOT NULL, node TEXT NOT NULL, stage TEXT NOT NULL, port TEXT NOT NULL,
              tree TEXT, status TEXT NOT NULL, ran INTEGER NOT NULL, cached INTEGER NOT NULL, failed INTEGER NOT NULL,
              duration REAL NOT NULL, params TEXT NOT NULL DEFAULT '{}', metrics TEXT,
              PRIMARY KEY (run_id, node, port));
            CREATE TABLE executions (run_id INTEGER NOT NULL, node TEXT NOT NULL, item TEXT, key TEXT, status TEXT NOT NULL,
              reason TEXT NOT NULL, duration REAL NOT NULL, error TEXT);
            CREATE INDEX executions_run ON executions(run_id, node);
            CREATE TABLE fingerprints (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
              inode INTEGER NOT NULL, digest TEXT NOT NULL);
            """)
        }
        m.registerMigration("v2: fingerprints remember imports") { db in
            try db.execute(sql: "ALTER TABLE fingerprints ADD COLUMN imported INTEGER NOT NULL DEFAULT 0")
            try db.execute(sql: "CREATE INDEX fingerprints_digest ON fingerprints(digest)")
        }
        m.registerMigration("v3: fingerprints clustered by path") { db in
            // WITHOUT ROWID keeps each row in the primary-key b-tree: a folder's fingerprints are one range
            // scan instead of an index scan plus a table lookup per file.
            try db.execute(sql: """
            CREATE TABLE fingerprints_v3 (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
              inode INTEGER NOT NULL, digest TEXT NOT NULL, imported INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
            INSERT INTO fingerprints_v3 SELECT path, size, mtime_ns, inode, digest, imported FROM fingerprints;
            DROP TABLE fingerprints;
            ALTER TABLE fingerprints_v3 RENAME TO fingerprints;
            CREATE INDEX fingerprints_digest ON fingerprints(digest);
            """)
        }
        m.registerMigration("v4: node scans read one index") { db in
            // A covering index for the per-node scan of a map node's plan: one b-tree walk instead of a
            // table lookup per row (the node's rows are what a 10k-item plan reads).
            try db.execute(sql: "CREATE INDEX results_node_scan ON results(node, key, outputs)")
        }
        m.registerMigration("v5: result files by key") { db in
            // Committing a result first deletes its old file rows by key: without this index every commit
            // scanned the whole table, and a first import of 100k files went quadratic.
            try db.execute(sql: "CREATE INDEX result_files_key ON result_files(key)")
        }
        m.registerMigration("v6: node memos") { db in
            // A map node whose inputs are unchanged as a whole is looked up once (see NodeMemos.swift).
            try db.execute(sql: """
            CREATE TABLE node_memos (key TEXT PRIMARY KEY, node TEXT NOT NULL, outputs TEXT NOT NULL,
              items INTEGER NOT NULL) WITHOUT ROWID
            """)
        }
        m.registerMigration("v7: small objects inline") { db in
            // See SmallObjects.swift. A rowid table with a unique index on the digest rather than WITHOUT ROWID:
            // rows reach 4 KB (SQLite advises WITHOUT ROWID only for rows under ~1/20 of a page), and the
            // digest index alone is what gc and `contains` scan, without reading the bytes' pages.
            try db.execute(sql: """
            CREATE TABLE small_objects (id INTEGER PRIMARY KEY, digest BLOB NOT NULL, bytes BLOB NOT NULL);
            CREATE UNIQUE INDEX small_objects_digest ON small_objects(digest);
            """)
        }
        m.registerMigration("v8: fingerprint digests as bytes") { db in
            // 32 bytes instead of 64 hex characters, in each row and in the digest index: a dataset import
            // writes both once per file (a third of a 10k-item import's index).
            try db.execute(sql: """
                CREATE TABLE fingerprints_v8 (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
                  inode INTEGER NOT NULL, digest BLOB NOT NULL, imported INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID
                """)
            let insert = try RawStatement(db, "INSERT INTO fingerprints_v8 VALUES (?,?,?,?,?,?)", cached: false)
            try Self.forEachRow(db, "SELECT path, size, mtime_ns, inode, digest, imported FROM fingerprints", []) { s in
                // A row whose digest does not parse is dropped: that file is hashed again.
                guard let d = Self.digestColumn(s, 4), let path = sqlite3_column_text(s, 0) else { return }
                insert.bind(1, String(cString: path)); insert.bind(2, sqlite3_column_int64(s, 1))
                insert.bind(3, sqlite3_column_int64(s, 2)); insert.bind(4, sqlite3_column_int64(s, 3))
                insert.bind(5, raw: d); insert.bind(6, sqlite3_column_int64(s, 5))
                try insert.step()
            }
            try db.execute(sql: """
                DROP TABLE fingerprints;
                ALTER TABLE fingerprints_v8 RENAME TO fingerprints;
                CREATE INDEX fingerprints_digest ON fingerprints(digest);
                """)
        }
        m.registerMigration("v9: fingerprints as one blob per folder") { db in
            // See FolderPrints (Fingerprints.swift): a first import wrote two b-tree entries per file.
            try Self.migrateToFolderPrints(db)
        }
        m.registerMigration("v10: small objects in packs") { db in
            // See SmallPack: one row per write transaction instead of one per object.
            try SmallObjects.migrateToPacks(db)
        }
        return m
    }

    // MARK: - Results

    /// Looks up many keys at once; missing keys are absent from the answer.
    public func results(for keys: [Digest]) throws -> [Digest: ResultRecord] {
        guard !keys.isEmpty else { return [:] }
        return try db.read { db in
            var out: [Digest: ResultRecord] = [:]
            out.reserveCapacity(keys.count)
            let stmt = try db.cachedStatement(sql: "SELECT node, stage, item, outputs, run_id, duration, params, inputs FROM results WHERE key = ?")
            for k in keys {
                if let row = try Row.fetchOne(stmt, arguments: [k.hex]) {
                    out[k] = ResultRecord(key: k, node: row[0], stage: row[1], item: row[2],
                                          outputs: TreeCodec.decode(row[3]), runID: row[4], duration: row[5],
                                          params: row[6], inputs: row[7])
                }
            }
            return out
        }
    }

    /// Outputs of many keys of one node: one scan of the node's rows instead of a query per key
    /// (a 10k-item plan is dominated by per-statement overhead otherwise). Keys found under another
    /// node name (a renamed stage) are looked up one by one.
    public func outputs(node: String, keys: [Digest]) throws -> [Digest: [String: FileTree]] {
        guard !keys.isEmpty else { return [:] }
        let wanted = Set(keys)
        var out: [Digest: [String: FileTree]] = [:]
        out.reserveCapacity(keys.count)
        try db.read { db in
            try Self.forEachRow(db, Self.nodeScanSQL, [node]) { s in
                guard let k = Self.digestColumn(s, 0), wanted.contains(k), let text = sqlite3_column_text(s, 1) else { return }
                out[k] = TreeCodec.decode(UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(s, 1))))
            }
        }
        let missing = keys.filter { out[$0] == nil }
        if !missing.isEmpty { for (k, r) in try results(for: missing) { out[k] = r.outputs } }
        return out
    }

    /// Every result row of a node as raw text (key -> outputs), for a planner that reads ahead while
    /// earlier nodes are planned; `outputs(keys:from:)` decodes the wanted ones.
    public func rawOutputs(node: String) throws -> [Digest: String] {
        try db.read { db in
            var out: [Digest: String] = [:]
            try Self.forEachRow(db, Self.nodeScanSQL, [node]) { s in
                guard let k = Self.digestColumn(s, 0), let text = sqlite3_column_text(s, 1) else { return }
                out[k] = String(decoding: UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(s, 1))), as: UTF8.self)
            }
            return out
        }
    }

    /// `outputs(node:keys:)` from rows read ahead by `rawOutputs(node:)`.
    public func outputs(keys: [Digest], from raw: [Digest: String]) throws -> [Digest: [String: FileTree]] {
        var out: [Digest: [String: FileTree]] = [:]
        out.reserveCapacity(keys.count)
        var missing: [Digest] = []
        for k in keys {
            if let text = raw[k] { out[k] = TreeCodec.decode(text) } else { missing.append(k) }
        }
        if !missing.isEmpty { for (k, r) in try results(for: missing) { out[k] = r.outputs } }
        return out
    }

    /// The most recent result of a node's item (or of the node, item nil): what `why` compares against.
    public func latestResult(node: String, item: String?) throws -> ResultRecord? {
        try db.read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT key, stage, outputs, run_id, duration, params, inputs FROM results
                WHERE node = ? AND item IS ? ORDER BY run_id DESC, created DESC LIMIT 1
                """, arguments: [node, item])
            return row.flatMap { row in
                Digest(hex: row[0]).map {
                    ResultRecord(key: $0, node: node, stage: row[1], item: item, outputs: TreeCodec.decode(row[2]),
                                 runID: row[3], duration: row[4], params: row[5], inputs: row[6])
                }
            }
        }
    }

    /// Results producing a digest (for lineage).
    public func results(producing d: Digest) throws -> [ResultRecord] {
        let keys = try db.read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT key FROM result_files WHERE digest = ?", arguments: [d.hex])
        }
        return try results(for: keys.compactMap(Digest.init(hex:))).values.sorted { $0.runID > $1.runID }
    }

    /// Commits results and execution records in ONE transaction, after their objects are in the store.
    /// Statements are prepared once per transaction (a dataset import commits tens of thousands of rows).
    public func commit(results: [ResultRecord], executions: [ExecutionRecord], runID: Int64) throws {
        try write { db in
            let now = Date().timeIntervalSince1970
            let insertResult = try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO results (key, node, stage, item, outputs, run_id, created, duration, params, inputs)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            let dropFiles = try db.cachedStatement(sql: "DELETE FROM result_files WHERE key = ?")
            let insertFile = try db.cachedStatement(sql: "INSERT INTO result_files (digest, key) VALUES (?, ?)")
            for r in results {
                let key = r.key.hex
                try insertResult.execute(arguments: [key, r.node, r.stage, r.item, TreeCodec.encode(r.outputs), r.runID, now,
                                                     r.duration, r.params, r.inputs])
                try dropFiles.execute(arguments: [key])
                var seen = Set<Digest>()
                for tree in r.outputs.values {
                    for d in tree.files.values where seen.insert(d).inserted {
                        try insertFile.execute(arguments: [d.hex, key])
                    }
                }
            }
            try Self.insertExecutions(executions, runID: runID, into: db)
            CrashPoint.reached("commit")
        }
    }

    /// Forgets results whose outputs include a digest (a corrupt object), so they are recomputed.
    public func forgetResults(producing d: Digest) throws {
        try write { db in
            let keys = try String.fetchAll(db, sql: "SELECT key FROM result_files WHERE digest = ?", arguments: [d.hex])
            for k in keys {
                try db.execute(sql: "DELETE FROM results WHERE key = ?", arguments: [k])
                try db.execute(sql: "DELETE FROM result_files WHERE key = ?", arguments: [k])
            }
            if !keys.isEmpty { try Self.forgetNodeMemos(db) }
        }
    }

    // MARK: - Reading rows

    /// The per-node result scan (covering index, migration v4).
    static let nodeScanSQL = "SELECT key, outputs FROM results INDEXED BY results_node_scan WHERE node = ?"

    /// Steps a query through SQLite's C API, handing each row's statement to `row`: the plan reads tens
    /// of thousands of rows, where GRDB's `Row` objects cost more than the scan.
    static func forEachRow(_ db: Database, _ sql: String, _ arguments: StatementArguments,
                           _ row: (SQLiteStatement) throws -> Void) throws {
        let stmt = try db.makeStatement(sql: sql)
        try stmt.setArguments(arguments)
        let s = stmt.sqliteStatement
        while true {
            let rc = sqlite3_step(s)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else {
                throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
            }
            try row(s)
        }
    }

    /// A 32-byte digest column (fingerprints, migration v8).
    static func digestBlobColumn(_ s: SQLiteStatement, _ column: Int32) -> Digest? {
        guard sqlite3_column_bytes(s, column) == 32, let blob = sqlite3_column_blob(s, column) else { return nil }
        return Digest(bytes: UnsafeRawBufferPointer(start: blob, count: 32))
    }

    /// A hex digest column parsed in place.
    static func digestColumn(_ s: SQLiteStatement, _ column: Int32) -> Digest? {
        guard let text = sqlite3_column_text(s, column) else { return nil }
        return Digest(hexBytes: UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(s, column))))
    }
}
