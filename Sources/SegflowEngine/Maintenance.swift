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
        let garbage = ws.objects.allObjects().filter { !live.contains($0) }
        let bytes = garbage.reduce(Int64(0)) { $0 + (ws.objects.size(of: $1) ?? 0) }
        // At once: inline objects are deleted in one index transaction, not one per object.
        ws.objects.evict(garbage)
        for d in garbage { try ws.index.forgetImports(of: d) }
        let removed = garbage.count
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
