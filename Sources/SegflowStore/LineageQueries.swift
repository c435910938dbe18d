import Foundation
import GRDB
import SegflowCore

/// Index reads that `segflow lineage` needs to walk from an output back to the dataset files.
extension Index {
    /// One run by id.
    public func run(id: Int64) throws -> RunRecord? {
        try db.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.runColumns) FROM runs WHERE id = ?", arguments: [id]).map(Self.runRecord)
        }
    }

    /// Every node port tree recorded by a run (its manifest object), newest first, each once: a whole-port
    /// input is recorded by its tree digest, and these say which node port held that tree.
    public func recordedTrees() throws -> [(node: String, port: String, manifest: Digest)] {
        try db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT node, port, tree FROM run_nodes WHERE tree IS NOT NULL GROUP BY node, port, tree ORDER BY MAX(run_id) DESC
                """).compactMap { row in
                (Digest(hex: row[2]) as Digest?).map { (row[0], row[1], $0) }
            }
        }
    }
}
