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

    /// A node port's tree as runs recorded it.
    public struct RecordedTree: Sendable {
        public var node: String
        public var stage: String
        public var port: String
        public var manifest: Digest
        /// The first run that recorded this tree, and the node's params as that run recorded them.
        public var firstRun: Int64
        public var params: String
    }

    /// Every node port tree recorded by a run (its manifest object), newest first, each once: a whole-port
    /// input is recorded by its tree digest, and these say which node port held that tree (and, for a
    /// source, which dataset files it imported: sources keep no result row per item).
    public func recordedTrees() throws -> [RecordedTree] {
        let rows = try db.read { db in
            try Row.fetchAll(db, sql: "SELECT node, port, tree, stage, run_id, params FROM run_nodes WHERE tree IS NOT NULL ORDER BY run_id DESC")
        }
        var out: [RecordedTree] = []
        var position: [String: Int] = [:]
        for row in rows {
            guard let manifest = Digest(hex: row[2]) else { continue }
            let node: String = row[0], port: String = row[1]
            let id = node + "\u{0}" + port + "\u{0}" + manifest.hex
            // Newest first: a later row of the same tree is an older run, the one that first recorded it.
            if let i = position[id] { out[i].firstRun = row[4]; out[i].params = row[5]; continue }
            position[id] = out.count
            out.append(RecordedTree(node: node, stage: row[3], port: port, manifest: manifest, firstRun: row[4], params: row[5]))
        }
        return out
    }
}
