import Foundation
import SegflowCore
import SegflowGraph

/// `results/<pipeline>/<stage>/<port>/<file>`: read-only links into the store, refreshed after a run
/// whose outputs differ from the linked ones (a cached run of a 10k-image pipeline rewrites nothing).
enum ResultLinks {
    /// The file in a results folder recording which outputs it links.
    static let stampName = ".segflow-links"

    static func refresh(workspace: Workspace, pipeline: String, nodes: [NodeSummary]) throws {
        let fm = FileManager.default
        let base = workspace.resultsDirectory + "/" + pipeline
        let stamp = self.stamp(workspace: workspace, nodes: nodes)
        if (try? String(contentsOfFile: base + "/" + stampName, encoding: .utf8)) == stamp { return }
        let staging = workspace.resultsDirectory + "/.\(pipeline)-\(UUID().uuidString.prefix(8))"
        try fm.createDirectory(atPath: staging, withIntermediateDirectories: true)
        try stamp.write(toFile: staging + "/" + stampName, atomically: false, encoding: .utf8)
        for n in nodes {
            for (port, tree) in n.outputs {
                let dir = "\(staging)/\(n.node)/\(port)"
                try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
                for (name, d) in tree.files {
                    symlink(workspace.objects.path(of: d), dir + "/" + name)
                }
            }
        }
        // Swap in whole: readers see the old or the new set, never half.
        let old = base + ".old-\(UUID().uuidString.prefix(8))"
        if fm.fileExists(atPath: base) { try fm.moveItem(atPath: base, toPath: old) }
        try fm.moveItem(atPath: staging, toPath: base)
        try? fm.removeItem(atPath: old)
    }

    /// After a run of part of the pipeline: replaces the links of these nodes only (each node's folder swapped
    /// whole) and drops the stamp, so the next full run checks every link again.
    static func update(workspace: Workspace, pipeline: String, nodes: [NodeSummary]) throws {
        let fm = FileManager.default
        let base = workspace.resultsDirectory + "/" + pipeline
        try? fm.removeItem(atPath: base + "/" + stampName)
        for n in nodes {
            let target = base + "/" + n.node
            let staging = target + ".new-\(UUID().uuidString.prefix(8))"
            try fm.createDirectory(atPath: staging, withIntermediateDirectories: true)
            for (port, tree) in n.outputs {
                try fm.createDirectory(atPath: staging + "/" + port, withIntermediateDirectories: true)
                for (name, d) in tree.files { symlink(workspace.objects.path(of: d), staging + "/" + port + "/" + name) }
            }
            let old = target + ".old-\(UUID().uuidString.prefix(8))"
            if fm.fileExists(atPath: target) { try fm.moveItem(atPath: target, toPath: old) }
            try fm.moveItem(atPath: staging, toPath: target)
            try? fm.removeItem(atPath: old)
        }
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
