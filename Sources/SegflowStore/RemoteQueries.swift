import Foundation
import GRDB
import SegflowCore

// MARK: - What a push sends

extension Index {
    /// Result rows committed by one run (what it computed, or adopted from a remote).
    public func results(run runID: Int64) throws -> [ResultRecord] {
        let keys = try db.read { db in
            try String.fetchAll(db, sql: "SELECT key FROM results WHERE run_id = ?", arguments: [runID])
        }
        return Array(try results(for: keys.compactMap(Digest.init(hex:))).values)
    }

    /// The latest finished run of each pipeline (or of the pipelines named), newest first.
    public func latestFinishedRuns(pipelines: Set<String>? = nil) throws -> [RunRecord] {
        let ids = try db.read { db in
            try Int64.fetchAll(db, sql: "SELECT MAX(id) FROM runs WHERE status != 'running' GROUP BY pipeline")
        }
        return try runs(limit: 1_000_000).filter { ids.contains($0.id) && (pipelines?.contains($0.pipeline) ?? true) }
    }
}
