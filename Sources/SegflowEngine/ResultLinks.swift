import Foundation
import SegflowCore

/// `results/<pipeline>/<stage>/<port>/<file>`: read-only links into the store, refreshed after a run.
enum ResultLinks {
    static func refresh(workspace: Workspace, pipeline: String, nodes: [NodeSummary]) throws {
        let fm = FileManager.default
        let base = workspace.resultsDirectory + "/" + pipeline
        let staging = workspace.resultsDirectory + "/.\(pipeline)-\(UUID().uuidString.prefix(8))"
        try fm.createDirectory(atPath: staging, withIntermediateDirectories: true)
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
}
