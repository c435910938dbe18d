import Foundation
import SegflowCore
import SegflowGraph
import SegflowStore

/// `results/<pipeline>/<stage>/<port>/<file>`: read-only links into the store, refreshed after a run
/// whose outputs differ from the linked ones (a cached run of a 10k-image pipeline rewrites nothing).
///
/// A run writes a pipeline's links holding that pipeline's lock (`locks/results-<pipeline>.lock`), so
/// runs of one pipeline finishing at once take turns, and every temporary folder of a pipeline found
/// while holding its lock was left by a run that died: the sweep removes them.
enum ResultLinks {
    /// The file in a results folder recording which outputs it links.
    static let stampName = ".segflow-links"

    static func lockPath(workspace: Workspace, pipeline: String) -> String {
        workspace.locksDirectory + "/results-\(pipeline).lock"
    }

    static func refresh(workspace: Workspace, pipeline: String, nodes: [NodeSummary]) throws {
        try withLock(workspace: workspace, pipeline: pipeline) {
            let fm = FileManager.default
            let base = workspace.resultsDirectory + "/" + pipeline
            let stamp = self.stamp(workspace: workspace, nodes: nodes)
            if (try? String(contentsOfFile: base + "/" + stampName, encoding: .utf8)) == stamp { return }
            let staging = workspace.resultsDirectory + "/" + Leftovers.name(pipeline, .staging)
            try fm.createDirectory(atPath: staging, withIntermediateDirectories: true)
            try stamp.write(toFile: staging + "/" + stampName, atomically: false, encoding: .utf8)
            for n in nodes { try link(n, workspace: workspace, into: staging + "/" + n.node) }
            try swap(staging, into: base, aside: workspace.resultsDirectory + "/" + Leftovers.name(pipeline, .old))
        }
    }

    /// After a run of part of the pipeline: replaces the links of these nodes only (each node's folder swapped
    /// whole) and drops the stamp, so the next full run checks every link again.
    static func update(workspace: Workspace, pipeline: String, nodes: [NodeSummary]) throws {
        try withLock(workspace: workspace, pipeline: pipeline) {
            let base = workspace.resultsDirectory + "/" + pipeline
            try? FileManager.default.removeItem(atPath: base + "/" + stampName)
            for n in nodes {
                // A node id is `stage` or `variant/stage`: its temporary folders sit beside it.
                let target = base + "/" + n.node
                let parent = (target as NSString).deletingLastPathComponent, stage = (target as NSString).lastPathComponent
                let staging = parent + "/" + Leftovers.name(stage, .staging)
                try link(n, workspace: workspace, into: staging)
                try swap(staging, into: target, aside: parent + "/" + Leftovers.name(stage, .old))
            }
        }
    }

    /// Runs `body` holding the pipeline's lock, after sweeping what dead runs left in `results/`.
    private static func withLock(workspace: Workspace, pipeline: String, _ body: () throws -> Void) throws {
        try FileLock.withLock(lockPath(workspace: workspace, pipeline: pipeline)) {
            Leftovers.sweep(workspace: workspace, holding: pipeline)
            try body()
        }
    }

    /// One node's port trees as links under `dir`.
    private static func link(_ n: NodeSummary, workspace: Workspace, into dir: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (port, tree) in n.outputs {
            try fm.createDirectory(atPath: dir + "/" + port, withIntermediateDirectories: true)
            for (name, d) in tree.files { symlink(workspace.objects.path(of: d), dir + "/" + port + "/" + name) }
        }
    }

    /// Puts `staging` at `target`, whole: readers see the old or the new set, never half. The old one is
    /// moved `aside` first and then deleted (the pipeline's lock keeps other runs out meanwhile).
    private static func swap(_ staging: String, into target: String, aside: String) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: target) { try fm.moveItem(atPath: target, toPath: aside) }
        try fm.moveItem(atPath: staging, toPath: target)
        try? fm.removeItem(atPath: aside)
    }

    /// What the links would be: every node's port trees, and the store they point into.
    static func stamp(workspace: Workspace, nodes: [NodeSummary]) -> String {
        var e = HashEncoder(domain: "segflow.links.v1")
        e.append(string: workspace.objects.objectsDirectory)
        for n in nodes.sorted(by: { $0.node < $1.node }) {
            for port in n.outputs.keys.sorted() {
                e.append(string: n.node); e.append(string: port); e.append(digest: n.outputs[port]!.digest)
            }
        }
        return e.finalize().hex + "\n"
    }
}
