import Foundation
import SegflowCore
import SegflowGraph
import SegflowStore

/// One row per matrix variant: its axis values, the metrics of its evaluation stages, its compute time.
public struct Comparison: Sendable {
    public struct Row: Sendable {
        public var variant: String
        public var values: [String: String]
        /// column ("scoreVal.miou") -> value
        public var metrics: [String: Double]
        public var seconds: Double
        public var best = false
    }
    public var axes: [String]
    public var columns: [String]
    public var rows: [Row]
    public var sortColumn: String?

    /// Reads the latest run of the pipeline: metrics from each variant's evaluate/labelEval nodes.
    /// `metric` is a metric name (`miou`: every scoring stage's, sorted by the first) or one column
    /// (`scoreVal.miou`: sorted by that stage's).
    public static func make(graph: PipelineGraph, index: Index, metric requested: String?) throws -> Comparison {
        // "scoreVal.miou" -> sort column "scoreVal.miou", metric "miou".
        let column = requested?.contains(".") == true ? requested : nil
        let metric = column.map { String($0[$0.index(after: $0.lastIndex(of: ".")!)...]) } ?? requested
        guard let run = try index.runs(pipeline: graph.name, limit: 1).first else {
            throw SegflowError.user("\(graph.name) has not run yet", hint: "segflow run \(graph.spec.file)")
        }
        var byNode: [String: RunNodeRecord] = [:]
        for r in try index.runNodes(run.id) { byNode[r.node] = r }
        // Every stage with a Metrics output scores the variant (evaluate, labelEval, or a plugin's).
        let scoring = graph.spec.stages.map(\.name).filter { stage in
            graph.variantNodes.values.contains { ids in
                ids[stage].flatMap { graph.node($0) }?.descriptor.outputs.contains { $0.type == .metrics } == true
            }
        }
        var columns: [String] = []
        var rows: [Row] = []
        let axes = graph.variants.first?.values.map(\.axis) ?? []
        for v in graph.variants {
            let ids = graph.variantNodes[v] ?? [:]
            var row = Row(variant: v.name.isEmpty ? graph.name : v.name,
                          values: Dictionary(uniqueKeysWithValues: v.values.map { ($0.axis, $0.value) }), metrics: [:], seconds: 0)
            for stage in scoring {
                guard let id = ids[stage], let json = byNode[id]?.metrics,
                      let obj = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] else { continue }
                for key in [metric ?? "miou", "miou", "macroF1", "microF1", "pixelAccuracy"] where obj[key] is Double {
                    let col = "\(stage).\(key)"
                    if !columns.contains(col) { columns.append(col) }
                    row.metrics[col] = obj[key] as? Double
                    if metric == nil || key == metric { break }
                }
            }
            // Compute time: every node the variant uses, as long as it took when it last ran.
            for id in Set(ids.values) { row.seconds += try index.lastDuration(node: id) }
            rows.append(row)
        }
        if let column, !columns.contains(column) {
            throw SegflowError.user("no column '\(column)' in the comparison of \(graph.name)",
                                    hint: columns.isEmpty ? "run the pipeline first" : "columns: \(columns.joined(separator: ", "))")
        }
        let sortColumn = column ?? columns.first { metric == nil || $0.hasSuffix("." + metric!) }
        if let c = sortColumn {
            rows.sort { ($0.metrics[c] ?? -1) > ($1.metrics[c] ?? -1) }
            if rows.first?.metrics[c] != nil { rows[0].best = true }
        }
        return Comparison(axes: axes, columns: columns, rows: rows, sortColumn: sortColumn)
    }

    public func render(format: String) -> String {
        let header = ["variant"] + axes + columns + ["seconds"]
        func cells(_ r: Row) -> [String] {
            [r.variant + (r.best ? " *" : "")] + axes.map { r.values[$0] ?? "" }
                + columns.map { r.metrics[$0].map { String(format: "%.4f", $0) } ?? "-" } + [String(format: "%.1f", r.seconds)]
        }
        switch format {
        case "csv":
            return ([header] + rows.map { cells($0).map { $0.replacingOccurrences(of: " *", with: "") } })
                .map { $0.map { $0.contains(",") ? "\"\($0)\"" : $0 }.joined(separator: ",") }.joined(separator: "\n")
        case "json":
            let objs: [[String: Any]] = rows.map { ["variant": $0.variant, "values": $0.values, "metrics": $0.metrics,
                                                    "seconds": $0.seconds, "best": $0.best] }
            let data = (try? JSONSerialization.data(withJSONObject: objs, options: [.prettyPrinted, .sortedKeys])) ?? Data()
            return String(decoding: data, as: UTF8.self)
        case "markdown":
            return (["| " + header.joined(separator: " | ") + " |", "|" + header.map { _ in "---" }.joined(separator: "|") + "|"]
                    + rows.map { "| " + cells($0).joined(separator: " | ") + " |" }).joined(separator: "\n")
        default:
            let all = [header] + rows.map(cells)
            let widths = header.indices.map { i in all.map { $0[i].count }.max() ?? 0 }
            return all.map { r in r.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ") }.joined(separator: "\n")
                + (sortColumn.map { "\n(sorted by \($0); * = best)" } ?? "")
        }
    }
}
