import Foundation
import SegflowCore

/// Text and JSON forms of a plan.
public enum PlanRenderer {
    /// `{"summary": {"run": N, "cached": M}, "nodes": [{"id", "stage", "status", "reasons", "items": [...]}]}`
    public static func json(_ plan: Plan) -> String {
        var nodes: [Any] = []
        for n in plan.nodes {
            var obj: [String: Any] = ["id": n.node.id, "stage": n.node.descriptor.name, "status": n.status.rawValue,
                                      "reasons": n.reasons, "run": n.runCount, "cached": n.cachedCount]
            if !n.items.isEmpty {
                obj["items"] = n.items.map { ["id": "\(n.node.id)/\($0.stem)", "status": $0.status.rawValue, "reasons": $0.reasons] as [String: Any] }
            }
            nodes.append(obj)
        }
        let root: [String: Any] = ["summary": ["run": plan.runCount, "cached": plan.cachedCount], "nodes": nodes]
        let data = (try? JSONSerialization.data(withJSONObject: root, options: [.sortedKeys, .prettyPrinted])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// A readable plan; at most `itemLimit` items per node are listed (all with verbose).
    public static func text(_ plan: Plan, itemLimit: Int = 5) -> String {
        var lines = ["plan for \(plan.pipeline): \(plan.runCount) to run, \(plan.cachedCount) cached"]
        let width = plan.nodes.map(\.node.id.count).max() ?? 4
        for n in plan.nodes {
            let id = n.node.id.padding(toLength: width, withPad: " ", startingAt: 0)
            var counts = n.node.descriptor.granularity == .reduce ? "" : "  (\(n.runCount) run, \(n.cachedCount) cached)"
            if n.waiting { counts = n.pendingCount > 0 ? "  (\(n.pendingCount) items after inputs)" : "" }
            lines.append("  \(id)  \(n.status == .run ? "run   " : "cached")  \(n.node.descriptor.name)\(counts)")
            if !n.reasons.isEmpty { lines.append("      " + n.reasons.joined(separator: "; ")) }
            let toRun = n.items.filter { $0.status == .run }
            for item in toRun.prefix(itemLimit) {
                lines.append("      run \(item.stem): \(item.reasons.joined(separator: "; "))")
            }
            if toRun.count > itemLimit {
                // Summarise the rest by reason so a 10k-item plan stays readable.
                var byReason: [String: Int] = [:]
                for item in toRun.dropFirst(itemLimit) { byReason[item.reasons.joined(separator: "; "), default: 0] += 1 }
                for (r, c) in byReason.sorted(by: { $0.value > $1.value }) { lines.append("      ... and \(c) more: \(r)") }
            }
        }
        return lines.joined(separator: "\n")
    }
}
