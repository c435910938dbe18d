import Foundation
import SegflowCore
import SegflowGraph
import SegflowStages

/// Cached or run: the decision for one work unit.
public enum WorkStatus: String, Sendable, Codable {
    case cached, run
}

/// One item of a map or source node.
public struct ItemPlan: Sendable {
    public var stem: String
    public var key: Digest?
    public var status: WorkStatus
    public var reasons: [String]
    /// This item's files per output port, when cached (map nodes; expanding sources' items). A plain
    /// source's item to import carries its files in `sourceFiles` and `sourceDigests` instead (a 10k-item
    /// import built a dictionary per port and item only to read it back).
    public var outputs: [String: FileTree]
    /// For sources: the files to import (port, name, path).
    public var sourceFiles: [SourceFile] = []
    /// For plain sources: each of `sourceFiles`' digest, in the same order.
    public var sourceDigests: [Digest] = []
    /// For plain sources: every file of the item on disk was copied into the store by this run's planner
    /// while it hashed it, so the import need not check its object again (content the source made is
    /// stored by the import itself, and always checked).
    public var copiedIn = false
    /// Input files this item reads: port -> file name -> digest.
    public var inputs: [String: [String: Digest]] = [:]
}

extension ItemPlan {
    /// The reasons as one line (`; ` between them), as execution records store them: sized once (an import
    /// writes one per item; `joined` cost more than the rest of the record).
    var reasonLine: String {
        guard reasons.count > 1 else { return reasons.first ?? "" }
        var line = ""
        line.reserveCapacity(reasons.reduce(2 * (reasons.count - 1)) { $0 + $1.utf8.count })
        for (k, r) in reasons.enumerated() {
            if k > 0 { line += "; " }
            line += r
        }
        return line
    }
}

/// The value of an output port as the plan sees it.
public enum PortValue: Sendable {
    case known(FileTree)
    /// Will be computed; the stems it will hold when known (map stages keep their input's stems).
    case pending(stems: [String]?)

    var tree: FileTree? { if case .known(let t) = self { return t }; return nil }
}

/// The plan of one node.
public struct NodePlan: Sendable {
    public var node: GraphNode
    public var status: WorkStatus
    /// Node-level reasons (reduce nodes, waiting nodes, forced).
    public var reasons: [String]
    /// Map and source nodes: one per item. Reduce nodes: empty.
    public var items: [ItemPlan]
    /// Reduce: the key; nil while an input is pending.
    public var key: Digest?
    /// Outputs when everything is known (all cached), else pending.
    public var outputs: [String: PortValue]
    /// True while an input is still pending (its items cannot be keyed yet).
    public var waiting: Bool
    /// Whole-input trees and item maps used to build the call.
    public var inputTrees: [String: FileTree] = [:]
    /// Merkle roots of input trees the planner computed (reduce nodes: every port; map nodes: the whole
    /// ports), so the executor does not sort and hash a 10k-file tree again to record them.
    var inputTreeDigests: [String: Digest] = [:]
    /// Canonical JSON of the key params (for lineage and `why`).
    public var paramsJSON: String = "{}"
    /// Sources: files whose objects exist but whose fingerprints do not say so yet.
    var unmarkedImports: [String] = []
    /// Plain sources: the files whose content the source made (port -> files), the only ones linked
    /// under results/ (the rest are the user's own dataset files).
    var madeFiles: [String: FileTree] = [:]
    /// Map nodes: the memo key of the whole node (none when forced or planned without memos).
    var memoKey: Digest?
    /// Map nodes: planned as a whole from a memo (its items carry no keys or per-item outputs).
    public internal(set) var fromMemo = false

    /// Work units to run: one per item of a map/source node, one per reduce node (set by `tally`).
    public private(set) var runCount = 0
    /// Work units cached.
    public private(set) var cachedCount = 0
    var pendingCount: Int = 0

    /// The Merkle root of an input port's tree: the planner's, when it computed it.
    func treeDigest(_ port: String) -> Digest { inputTreeDigests[port] ?? inputTrees[port]!.digest }

    /// Counts work units once (renderers read the counts many times; items may number 100k).
    mutating func tally() {
        if node.descriptor.granularity == .reduce {
            runCount = status == .run ? 1 : 0; cachedCount = status == .cached ? 1 : 0
        } else if waiting {
            runCount = pendingCount; cachedCount = 0
        } else {
            runCount = 0
            for i in items where i.status == .run { runCount += 1 }
            cachedCount = items.count - runCount
        }
    }
}

/// The whole plan: every node, in topological order.
public struct Plan: Sendable {
    public var pipeline: String
    public var nodes: [NodePlan]
    public var runCount: Int { nodes.reduce(0) { $0 + $1.runCount } }
    public var cachedCount: Int { nodes.reduce(0) { $0 + $1.cachedCount } }
}
