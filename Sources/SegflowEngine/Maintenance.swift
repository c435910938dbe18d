import Foundation
import SegflowCore
import SegflowGraph
import SegflowStore

/// `gc` and `verify`.
public enum Maintenance {
    /// Deletes objects no longer reachable from the latest run of each pipeline, and the results that used them.
    public static func collectGarbage(_ ws: Workspace) throws -> (objects: Int, bytes: Int64, results: Int) {
        var live = Set<Digest>()
        for t in try ws.index.liveTrees() {
            live.insert(t)
            if let data = try? ws.objects.read(t) { live.formUnion(TreeCodec.parseManifest(data).files.values) }
        }
        let keep = try ws.index.resultKeys(referencing: live)
        let droppedResults = try ws.index.dropResults(notIn: keep)
        var removed = 0
        var bytes: Int64 = 0
        for d in ws.objects.allObjects() where !live.contains(d) {
            let p = ws.objects.path(of: d)
            bytes += Int64((try? FileManager.default.attributesOfItem(atPath: p)[.size] as? Int) ?? 0)
            ws.objects.evict(d)
            try ws.index.forgetImports(of: d)
            removed += 1
        }
        // Only what dead processes left: a run going on beside gc keeps its half-written files.
        ws.objects.temp.sweep()
        return (removed, bytes, droppedResults)
    }

    /// Re-hashes every object; evicts the corrupt ones so the next run recomputes them.
    public static func verify(_ ws: Workspace, progress: (Int, Int) -> Void = { _, _ in }) -> (checked: Int, corrupt: [Digest]) {
        let all = ws.objects.allObjects()
        var corrupt: [Digest] = []
        for (i, d) in all.enumerated() {
            if !ws.objects.isIntact(d) { corrupt.append(d); ws.objects.evict(d); try? ws.index.forgetImports(of: d) }
            if i % 500 == 0 { progress(i, all.count) }
        }
        return (all.count, corrupt)
    }
}
