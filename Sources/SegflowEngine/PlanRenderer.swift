import Foundation
import SegflowCore

/// Text and JSON forms of a plan.
public enum PlanRenderer {
    /// `{"nodes": [{"cached", "id", "items": [{"id", "reasons", "status"}], "reasons", "run", "stage", "status"}],
    /// "summary": {"cached": M, "run": N}}`, keys sorted, streamed to `sink` in chunks.
    public static func writeJSON(_ plan: Plan, to sink: @escaping ([UInt8]) -> Void) {
        var w = JSONWriter(sink: sink)
        w.beginObject()
        w.key("nodes"); w.beginArray()
        for n in plan.nodes {
            w.beginObject()
            w.key("cached"); w.int(n.cachedCount)
            w.key("id"); w.string(n.node.id)
            if !n.items.isEmpty {
                w.key("items"); w.beginArray()
                let prefix = n.node.id + "/"
                for item in n.items {
                    w.beginObject()
                    w.key("id"); w.string(prefix + item.stem)
                    w.key("reasons"); w.strings(item.reasons)
                    w.key("status"); w.string(item.status.rawValue)
                    w.endObject()
                }
                w.endArray()
            }
            w.key("reasons"); w.strings(n.reasons)
            w.key("run"); w.int(n.runCount)
            w.key("stage"); w.string(n.node.descriptor.name)
            w.key("status"); w.string(n.status.rawValue)
            w.endObject()
        }
        w.endArray()
        w.key("summary"); w.beginObject()
        w.key("cached"); w.int(plan.cachedCount)
        w.key("run"); w.int(plan.runCount)
        w.endObject()
        w.endObject()
        w.flush()
    }

    /// The JSON plan as one string (tests, small plans).
    public static func json(_ plan: Plan) -> String {
        var bytes: [UInt8] = []
        writeJSON(plan) { bytes += $0 }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A readable plan; at most `itemLimit` items per node are listed (all with verbose).
    public static func text(_ plan: Plan, itemLimit: Int = 5) -> String {
        var lines = ["plan for \(plan.pipeline): \(plan.runCount) to run, \(plan.cachedCount) cached"]
        let width = plan.nodes.map(\.node.id.count).max() ?? 4
        for n in plan.nodes {
            let id = n.node.id.padding(toLength: width, withPad: " ", startingAt: 0)
            var counts = n.node.descriptor.granularity == .reduce ? "" : "  (\(n.runCount) run, \(n.cachedCount) cached)"
            if n.waiting { counts = n.node.descriptor.granularity == .map && n.pendingCount > 0 ? "  (\(n.pendingCount) items, after its inputs)" : "" }
            lines.append("  \(id)  \(n.status == .run ? "run   " : "cached")  \(n.node.descriptor.name)\(counts)")
            if !n.reasons.isEmpty { lines.append("      " + n.reasons.joined(separator: "; ")) }
            let toRun = n.items.filter { $0.status == .run }
            for item in toRun.prefix(itemLimit) {
                lines.append("      run \(item.stem): \(item.reasons.joined(separator: "; "))")
            }
            if toRun.count > itemLimit {
                // Summarise the rest by reason so a 10k-item plan stays readable.
                var byReason: [String: Int] = [:]
                // By kind of reason ("changed input", "new params"), not by item.
                for item in toRun.dropFirst(itemLimit) {
                    byReason[item.reasons.map { String($0.split(separator: ":").first ?? Substring($0)) }.joined(separator: "; "), default: 0] += 1
                }
                for (r, c) in byReason.sorted(by: { $0.value > $1.value }) { lines.append("      ... and \(c) more: \(r)") }
            }
        }
        return lines.joined(separator: "\n")
    }
}
