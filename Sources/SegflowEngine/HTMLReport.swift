import Foundation
import SegflowCore
import SegflowGraph
import SegflowStore

/// `segflow report`: one static HTML page that works from file:// with no server — the DAG, the
/// comparison table, per-class IoU bars, galleries of the visualize stages, a timeline of node times.
public enum HTMLReport {
    /// Writes `dir/index.html` and `dir/assets/`; returns the index path.
    @discardableResult
    public static func write(graph: PipelineGraph, workspace ws: Workspace, to dir: String, galleryLimit: Int = 24) throws -> String {
        guard let run = try ws.index.runs(pipeline: graph.name, limit: 1).first else {
            throw SegflowError.user("\(graph.name) has not run yet", hint: "segflow run \(graph.spec.file)")
        }
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/assets", withIntermediateDirectories: true)
        let nodes = try ws.index.runNodes(run.id)
        var byNode: [String: [RunNodeRecord]] = [:]
        for n in nodes { byNode[n.node, default: []].append(n) }
        var html = """
        <!doctype html><html><head><meta charset="utf-8"><title>\(esc(graph.name)) — segflow report</title>
        <style>
        body{font:14px system-ui,sans-serif;margin:24px;color:#222} h1{margin:0 0 4px} h2{margin-top:28px;border-bottom:1px solid #ddd}
        table{border-collapse:collapse} td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:left} tr.best td{font-weight:bold;background:#eef8ee}
        .bar{background:#4a7;height:12px;display:inline-block} .tl{background:#58c;height:12px;display:inline-block}
        .gallery img{height:120px;margin:2px;border:1px solid #ccc} .muted{color:#777}
        </style></head><body>
        <h1>\(esc(graph.name))</h1><div class="muted">run \(run.id) · \(esc(run.status)) · \(run.ran) ran, \(run.cached) cached · \(esc(run.command))</div>
        """
        html += "<h2>Pipeline</h2>" + dagSection(graph)
        let cmp = try? Comparison.make(graph: graph, index: ws.index, metric: nil)
        if let cmp, !cmp.columns.isEmpty {
            html += "<h2>Comparison</h2><table id=\"comparison\"><tr><th>variant</th>" + cmp.axes.map { "<th>\(esc($0))</th>" }.joined()
                + cmp.columns.map { "<th>\(esc($0))</th>" }.joined() + "<th>seconds</th></tr>"
            for r in cmp.rows {
                html += "<tr\(r.best ? " class=\"best\"" : "")><td>\(esc(r.variant))</td>" + cmp.axes.map { "<td>\(esc(r.values[$0] ?? ""))</td>" }.joined()
                    + cmp.columns.map { c in "<td>\(r.metrics[c].map { String(format: "%.4f", $0) } ?? "-")</td>" }.joined()
                    + String(format: "<td>%.1f</td></tr>", r.seconds)
            }
            html += "</table>"
        }
        html += "<h2>Per-class IoU</h2>"
        for n in nodes where n.metrics != nil {
            guard let obj = (try? JSONSerialization.jsonObject(with: Data(n.metrics!.utf8))) as? [String: Any],
                  let iou = obj["iou"] as? [String: Any], let classes = obj["classes"] as? [String] else { continue }
            html += "<h3>\(esc(n.node))</h3><table class=\"iou\">"
            for c in classes {
                let v = iou[c] as? Double
                html += "<tr><td>\(esc(c))</td><td>\(v.map { String(format: "%.1f%%", $0 * 100) } ?? "-")</td><td><span class=\"bar\" style=\"width:\(Int((v ?? 0) * 300))px\"></span></td></tr>"
            }
            html += "</table>"
        }
        html += "<h2>Galleries</h2>"
        for n in nodes where n.port == "sheets" {
            guard let t = n.tree, let tree = try? TreeCodec.parseManifest(ws.objects.read(t)) else { continue }
            html += "<h3>\(esc(n.node))</h3><div class=\"gallery\">"
            for name in tree.files.keys.sorted().prefix(galleryLimit) {
                let asset = "assets/\(n.node.replacingOccurrences(of: "/", with: "_"))-\(name)"
                try? fm.removeItem(atPath: dir + "/" + asset)
                // From the bytes: the object may be inline in the index, with no file to copy.
                try ws.objects.read(tree.files[name]!).write(to: URL(fileURLWithPath: dir + "/" + asset))
                chmod(dir + "/" + asset, 0o644)
                html += "<a href=\"\(esc(asset))\"><img src=\"\(esc(asset))\" alt=\"\(esc(name))\" title=\"\(esc(name))\"></a>"
            }
            html += "</div>"
        }
        html += "<h2>Timeline</h2><table id=\"timeline\">"
        let maxSeconds = max(0.001, nodes.map(\.duration).max() ?? 1)
        var seen = Set<String>()
        for n in nodes where seen.insert(n.node).inserted {
            html += String(format: "<tr><td>%@</td><td>%@</td><td>%.2f s</td><td><span class=\"tl\" style=\"width:%dpx\"></span></td></tr>",
                           esc(n.node), esc(n.status), n.duration, Int(n.duration / maxSeconds * 400))
        }
        html += "</table></body></html>\n"
        let index = dir + "/index.html"
        try html.write(toFile: index, atomically: true, encoding: .utf8)
        return index
    }

    /// The DAG laid out by Graphviz (`segflow dag`'s drawing), in a box that scrolls when the drawing is
    /// wider than the page; the simple column layout below when `dot` is not installed.
    static func dagSection(_ graph: PipelineGraph) -> String {
        var drawing = "", note = ""
        if Graphviz.executable != nil, let svg = try? Graphviz.svg(fromDOT: PipelineDrawing.dot(graph)) {
            drawing = "<svg id=\"dag\"" + Graphviz.inlineSVG(svg).dropFirst(4)
        } else {
            drawing = dagSVG(graph)
            note = "<div class=\"muted\">drawn without Graphviz: apt-get install graphviz for a laid-out drawing</div>"
        }
        return "<div id=\"dag-box\" style=\"overflow:auto;max-width:100%\">" + drawing + "</div>" + note
    }

    /// The fallback drawing without Graphviz: one column per depth, one box per node, lines for inputs.
    static func dagSVG(_ graph: PipelineGraph) -> String {
        var depth: [String: Int] = [:]
        for n in graph.nodes { depth[n.id] = (n.inputs.values.compactMap { depth[$0.node] }.max() ?? -1) + 1 }
        var rows: [Int: Int] = [:]
        var pos: [String: (Int, Int)] = [:]
        for n in graph.nodes { let d = depth[n.id]!; pos[n.id] = (d, rows[d, default: 0]); rows[d, default: 0] += 1 }
        let (bw, bh, gx, gy) = (190, 34, 60, 14)
        let width = ((depth.values.max() ?? 0) + 1) * (bw + gx), height = (rows.values.max() ?? 1) * (bh + gy)
        func origin(_ id: String) -> (Int, Int) { let p = pos[id]!; return (p.0 * (bw + gx) + 4, p.1 * (bh + gy) + 4) }
        var svg = "<svg id=\"dag\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width + 8)\" height=\"\(height + 8)\" font-size=\"11\">"
        for n in graph.nodes {
            for src in Set(n.inputs.values.map(\.node)) where pos[src] != nil {
                let (x1, y1) = origin(src), (x2, y2) = origin(n.id)
                svg += "<line x1=\"\(x1 + bw)\" y1=\"\(y1 + bh / 2)\" x2=\"\(x2)\" y2=\"\(y2 + bh / 2)\" stroke=\"#999\"/>"
            }
        }
        for n in graph.nodes {
            let (x, y) = origin(n.id)
            svg += "<g><rect x=\"\(x)\" y=\"\(y)\" width=\"\(bw)\" height=\"\(bh)\" rx=\"5\" fill=\"#f4f7fb\" stroke=\"#58c\"/>"
                + "<text x=\"\(x + 6)\" y=\"\(y + 14)\">\(esc(String(n.id.suffix(30))))</text>"
                + "<text x=\"\(x + 6)\" y=\"\(y + 27)\" fill=\"#777\">\(esc(n.descriptor.name))</text></g>"
        }
        return svg + "</svg>"
    }

    static func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
