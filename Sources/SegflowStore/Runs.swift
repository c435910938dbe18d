import Foundation
import GRDB
import SegflowCore
import SegflowGraph

/// A run as the index remembers it.
public struct RunRecord: Sendable {
    public var id: Int64
    public var pipeline: String
    /// The pipeline file, absolute.
    public var file: String
    public var command: String
    public var started: Date
    public var finished: Date?
    public var status: String
    public var ran: Int
    public var cached: Int
    public var failed: Int
}

/// One node port of a run: its tree, status and counts.
public struct RunNodeRecord: Sendable {
    public var node: String
    public var stage: String
    public var port: String
    public var tree: Digest?
    public var status: String
    public var ran: Int
    public var cached: Int
    public var failed: Int
    public var duration: Double
    public var params: String
    public var metrics: String?
    public init(node: String, stage: String, port: String, tree: Digest?, status: String, ran: Int, cached: Int,
                failed: Int, duration: Double, params: String, metrics: String?) {
        self.node = node; self.stage = stage; self.port = port; self.tree = tree; self.status = status
        self.ran = ran; self.cached = cached; self.failed = failed; self.duration = duration
        self.params = params; self.metrics = metrics
    }
}

extension Index {
    public func beginRun(pipeline: String, file: String, command: String) throws -> Int64 {
        try beginRun(pipeline: pipeline, file: file, command: command, locks: nil).id
    }

    /// Records a run as running, holding `<locks>/run-<id>.lock` from before the row is visible to
    /// other processes until `finishRun`: a "running" row whose lock is free belongs to a process that
    /// died (see `markDeadRuns`). Release the lock after `finishRun`.
    public func beginRun(pipeline: String, file: String, command: String, locks: String?) throws -> (id: Int64, lock: FileLock?) {
        try write { db in
            try db.execute(sql: "INSERT INTO runs (pipeline, file, command, started, status) VALUES (?, ?, ?, ?, 'running')",
                           arguments: [pipeline, file, command, Date().timeIntervalSince1970])
            let id = db.lastInsertedRowID
            // Inside the transaction: nobody can see the row before its lock is held.
            let lock = try locks.map { try FileLock.acquire(Self.runLockPath(locks: $0, run: id)) }
            return (id, lock)
        }
    }

    static func runLockPath(locks: String, run: Int64) -> String { locks + "/run-\(run).lock" }

    /// Marks runs still "running" whose process is gone (SIGKILL, a crash, power loss) as "killed",
    /// so `segflow log` does not show them running for ever and gc stops keeping their outputs.
    /// Runs of segflow versions without run locks count as dead too. Returns the ids marked.
    @discardableResult
    public func markDeadRuns(locks: String) throws -> [Int64] {
        let running = try db.read { try Int64.fetchAll($0, sql: "SELECT id FROM runs WHERE status = 'running'") }
        var dead: [Int64] = []
        for id in running {
            let path = Self.runLockPath(locks: locks, run: id)
            guard let lock = try? FileLock.tryAcquire(path) else { continue }
            defer { lock.release() }
            // A run that finished meanwhile released its lock after its status: the WHERE keeps it.
            try write { db in
                try db.execute(sql: "UPDATE runs SET status = 'killed', finished = COALESCE(finished, ?) WHERE id = ? AND status = 'running'",
                               arguments: [Date().timeIntervalSince1970, id])
            }
            unlink(path)
            dead.append(id)
        }
        return dead
    }

    public func finishRun(_ id: Int64, status: String, ran: Int, cached: Int, failed: Int) throws {
        try write { db in
            try db.execute(sql: "UPDATE runs SET finished = ?, status = ?, ran = ?, cached = ?, failed = ? WHERE id = ?",
                           arguments: [Date().timeIntervalSince1970, status, ran, cached, failed, id])
        }
    }

    public func recordRunNode(_ runID: Int64, _ r: RunNodeRecord) throws {
        try recordRunNodes(runID, [r])
    }

    /// Records a node's ports in one write: one transaction and one durability barrier for all their tree
    /// objects (a write per port was one sync each; a dataset source has five ports).
    public func recordRunNodes(_ runID: Int64, _ records: [RunNodeRecord]) throws {
        guard !records.isEmpty else { return }
        try write { db in
            let insert = try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO run_nodes (run_id, node, stage, port, tree, status, ran, cached, failed, duration, params, metrics)
                VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
                """)
            for r in records {
                try insert.execute(arguments: [runID, r.node, r.stage, r.port, r.tree?.hex, r.status, r.ran, r.cached, r.failed,
                                               r.duration, r.params, r.metrics])
            }
        }
    }

    /// How long a node took the last time it computed anything (0 if never).
    public func lastDuration(node: String) throws -> Double {
        try db.read { db in
            try Double.fetchOne(db, sql: "SELECT duration FROM run_nodes WHERE node = ? AND (ran > 0 OR status = 'ran') ORDER BY run_id DESC LIMIT 1",
                                arguments: [node]) ?? 0
        }
    }

    public func runs(pipeline: String? = nil, limit: Int = 20) throws -> [RunRecord] {
        try db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT \(Self.runColumns) FROM runs
                \(pipeline == nil ? "" : "WHERE pipeline = ?") ORDER BY id DESC LIMIT \(limit)
                """, arguments: pipeline.map { [$0] } ?? []).map(Self.runRecord)
        }
    }

    /// The columns `runRecord` reads, in its order.
    static let runColumns = "id, pipeline, command, started, finished, status, ran, cached, failed, file"

    static func runRecord(_ row: Row) -> RunRecord {
        RunRecord(id: row[0], pipeline: row[1], file: row[9], command: row[2], started: Date(timeIntervalSince1970: row[3]),
                  finished: (row[4] as Double?).map { Date(timeIntervalSince1970: $0) }, status: row[5],
                  ran: row[6], cached: row[7], failed: row[8])
    }

    public func runNodes(_ runID: Int64) throws -> [RunNodeRecord] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT node, stage, port, tree, status, ran, cached, failed, duration, params, metrics FROM run_nodes WHERE run_id = ? ORDER BY rowid",
                             arguments: [runID]).map { row in
                RunNodeRecord(node: row[0], stage: row[1], port: row[2], tree: (row[3] as String?).flatMap(Digest.init(hex:)),
                              status: row[4], ran: row[5], cached: row[6], failed: row[7], duration: row[8],
                              params: row[9], metrics: row[10])
            }
        }
    }

    public func executions(run runID: Int64, node: String? = nil) throws -> [ExecutionRecord] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT node, item, key, status, reason, duration, error FROM executions WHERE run_id = ? \(node == nil ? "" : "AND node = ?") ORDER BY rowid",
                             arguments: node.map { [runID, $0] } ?? [runID]).map { row in
                ExecutionRecord(node: row[0], item: row[1], key: (row[2] as String?).flatMap(Digest.init(hex:)),
                                status: row[3], reason: row[4], duration: row[5], error: row[6])
            }
        }
    }

    /// Tree digests referenced by the latest finished run of each pipeline, and by running ones.
    public func liveTrees() throws -> [Digest] {
        try db.read { db in
            try String.fetchAll(db, sql: """
                SELECT tree FROM run_nodes WHERE tree IS NOT NULL AND run_id IN
                  (SELECT MAX(id) FROM runs GROUP BY pipeline UNION SELECT id FROM runs WHERE status = 'running')
                """).compactMap(Digest.init(hex:))
        }
    }

    /// Drops results whose files are not all in `live`; returns how many.
    public func dropResults(notIn liveKeys: Set<String>) throws -> Int {
        try write { db in
            let all = try String.fetchAll(db, sql: "SELECT key FROM results")
            var dropped = 0
            for k in all where !liveKeys.contains(k) {
                try db.execute(sql: "DELETE FROM results WHERE key = ?", arguments: [k])
                try db.execute(sql: "DELETE FROM result_files WHERE key = ?", arguments: [k])
                dropped += 1
            }
            if dropped > 0 { try Self.forgetNodeMemos(db) }
            return dropped
        }
    }

    /// Keys of results whose outputs are all within a set of digests.
    public func resultKeys(referencing digests: Set<Digest>) throws -> Set<String> {
        try db.read { db in
            var keep = Set<String>()
            var notAll = Set<String>()
            let rows = try Row.fetchCursor(db, sql: "SELECT key, digest FROM result_files")
            while let row = try rows.next() {
                let k: String = row[0]
                if let d = Digest(hex: row[1]), digests.contains(d) { keep.insert(k) } else { notAll.insert(k) }
            }
            return keep.subtracting(notAll)
        }
    }
}
