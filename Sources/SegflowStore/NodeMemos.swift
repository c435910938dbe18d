import Foundation
import GRDB
import SegflowCore

// MARK: - Node memos

/// What a map node produced when all of its items were done: its output trees (as the digests of
/// their manifest objects) and its item count.
///
/// A memo is keyed by the node's key prefix (stage, version, params, classes) and the digests of all
/// of its input trees, so it is a pure function of the item keys it stands for: when the inputs are
/// unchanged as a whole, the plan reads one row instead of keying, looking up and checking every
/// item (a 10k-item node: 10k SHA-256s, 10k rows, 10k stats). Any change of an input misses it and
/// plans item by item as before. Evicting an object or forgetting a result forgets every memo, since
/// a memo does not list the objects it vouches for.
public struct NodeMemo: Sendable, Equatable {
    /// Output port -> digest of the tree manifest object.
    public var outputs: [String: Digest]
    public var items: Int

    public init(outputs: [String: Digest], items: Int) {
        self.outputs = outputs; self.items = items
    }
}

extension Index {
    /// The memo recorded under `key`, if any.
    public func nodeMemo(_ key: Digest) throws -> NodeMemo? {
        try db.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT outputs, items FROM node_memos WHERE key = ?",
                                             arguments: [key.hex]) else { return nil }
            let json = (try? JSONSerialization.jsonObject(with: Data((row[0] as String).utf8))) as? [String: String] ?? [:]
            var outputs: [String: Digest] = [:]
            for (port, hex) in json {
                guard let d = Digest(hex: hex) else { return nil }
                outputs[port] = d
            }
            return NodeMemo(outputs: outputs, items: row[1])
        }
    }

    /// Whether `node` has any memo (its plan will most likely come from one).
    public func hasNodeMemo(node: String) throws -> Bool {
        try db.read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM node_memos WHERE node = ? LIMIT 1", arguments: [node]) ?? false }
    }

    /// Records (or replaces) the memo of `node` under `key`.
    public func recordNodeMemo(_ key: Digest, node: String, memo: NodeMemo) throws {
        let outputs = CanonicalValue.map(memo.outputs.mapValues { .string($0.hex) }).json
        try write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO node_memos (key, node, outputs, items) VALUES (?, ?, ?, ?)",
                           arguments: [key.hex, node, outputs, memo.items])
        }
    }

    /// Forgets every memo (inside a write that evicted or forgot something).
    static func forgetNodeMemos(_ db: Database) throws {
        try db.execute(sql: "DELETE FROM node_memos")
    }
}
