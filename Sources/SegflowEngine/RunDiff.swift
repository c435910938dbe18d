import Foundation
import SegflowCore
import SegflowStore

/// What changed between two runs: per node, params, outputs (items added, removed, changed) and metrics.
public enum RunDiff {
    public static func render(_ a: Int64, _ b: Int64, workspace ws: Workspace) throws -> String {
        let na = try ws.index.runNodes(a), nb = try ws.index.runNodes(b)
        guard !na.isEmpty || !nb.isEmpty else {
            throw SegflowError.user("no nodes recorded for runs \(a) and \(b)", hint: "`segflow log` lists the runs")
        }
        func key(_ r: RunNodeRecord) -> String { "\(r.node).\(r.port)" }
        let ma = Dictionary(na.map { (key($0), $0) }, uniquingKeysWith: { x, _ in x })
        let mb = Dictionary(nb.map { (key($0), $0) }, uniquingKeysWith: { x, _ in x })
        var lines: [String] = []
        for k in Set(ma.keys).union(mb.keys).sorted() {
            guard let x = ma[k] else { lines.append("+ \(k): only in run \(b)"); continue }
            guard let y = mb[k] else { lines.append("- \(k): only in run \(a)"); continue }
            var notes: [String] = []
            if x.params != y.params { notes.append("params \(paramChanges(x.params, y.params))") }
            if x.tree != y.tree {
                let ta = try tree(x.tree, ws), tb = try tree(y.tree, ws)
                let added = Set(tb.keys).subtracting(ta.keys).count, removed = Set(ta.keys).subtracting(tb.keys).count
                let changed = Set(ta.keys).intersection(tb.keys).filter { ta[$0] != tb[$0] }.count
                notes.append("outputs: \(changed) changed, \(added) added, \(removed) removed")
            }
            if x.metrics != y.metrics, let mx = x.metrics, let my = y.metrics { notes.append("metrics \(metricChanges(mx, my))") }
            if !notes.isEmpty { lines.append("~ \(k): " + notes.joined(separator: "; ")) }
        }
        return lines.isEmpty ? "runs \(a) and \(b) produced the same outputs" : lines.joined(separator: "\n")
    }

    static func tree(_ d: Digest?, _ ws: Workspace) throws -> [String: Digest] {
        guard let d, let data = try? ws.objects.read(d) else { return [:] }
        return TreeCodec.parseManifest(data).files
    }

    static func object(_ json: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] ?? [:]
    }

    static func paramChanges(_ a: String, _ b: String) -> String {
        let x = object(a), y = object(b)
        return Set(x.keys).union(y.keys).sorted().compactMap { k -> String? in
            let va = CanonicalValue.from(any: x[k]), vb = CanonicalValue.from(any: y[k])
            return va == vb ? nil : "\(k): \(va) -> \(vb)"
        }.joined(separator: ", ")
    }

    static func metricChanges(_ a: String, _ b: String) -> String {
        let x = object(a), y = object(b)
        return Set(x.keys).union(y.keys).sorted().compactMap { k -> String? in
            guard let va = x[k] as? Double, let vb = y[k] as? Double, va != vb else { return nil }
            return String(format: "%@ %.4f -> %.4f", k, va, vb)
        }.joined(separator: ", ")
    }
}
