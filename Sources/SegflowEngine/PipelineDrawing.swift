import Foundation
import SegflowCore
import SegflowGraph

/// The pipeline's DAG as text other tools draw: Graphviz DOT (what `snakemake --dag` and `dvc dag --dot`
/// print) and Mermaid. Matrix variants are grouped: the nodes of one variant (`cam=gradcampp/...`) form a
/// cluster labelled with it; nodes every variant shares stay outside.
public enum PipelineDrawing {
    /// The output formats of `segflow dag`.
    public enum Format: String, CaseIterable, Sendable {
        case dot, svg, mermaid
    }

    /// The graph in `format`; `svg` runs Graphviz's `dot`.
    public static func render(_ graph: PipelineGraph, format: Format) throws -> String {
        switch format {
        case .dot: return dot(graph)
        case .mermaid: return mermaid(graph)
        case .svg: return try Graphviz.svg(fromDOT: dot(graph))
        }
    }

    /// A node's variant (the axes its id carries) and its stage name: `("cam=cam,refine=crf", "crf")`.
    static func split(_ id: String) -> (variant: String?, stage: String) {
        guard let slash = id.lastIndex(of: "/") else { return (nil, id) }
        return (String(id[..<slash]), String(id[id.index(after: slash)...]))
    }

    /// Each producer once per consumer (a node reading two ports of another is one edge), with the ports.
    static func edges(_ graph: PipelineGraph) -> [(from: String, to: String, ports: [String])] {
        var out: [(String, String, [String])] = []
        for n in graph.nodes {
            var byProducer: [String: [String]] = [:]
            for (port, src) in n.inputs.sorted(by: { $0.key < $1.key }) { byProducer[src.node, default: []].append("\(src.port) -> \(port)") }
            for (src, ports) in byProducer.sorted(by: { $0.key < $1.key }) where graph.node(src) != nil { out.append((src, n.id, ports)) }
        }
        return out
    }

    /// Variants in the order their first node appears, each with its nodes; shared nodes under nil.
    static func groups(_ graph: PipelineGraph) -> [(variant: String?, nodes: [GraphNode])] {
        var order: [String?] = []
        var members: [String?: [GraphNode]] = [:]
        for n in graph.nodes {
            let v = split(n.id).variant
            if members[v] == nil { order.append(v) }
            members[v, default: []].append(n)
        }
        return order.map { ($0, members[$0]!) }
    }

    // MARK: - DOT

    /// Graphviz DOT, left to right, one box per node (stage name over stage type).
    public static func dot(_ graph: PipelineGraph) -> String {
        var lines = ["digraph \(dotQuote(graph.name)) {",
                     "  rankdir=LR;",
                     "  graph [fontname=\"Helvetica\", fontsize=11, nodesep=0.25, ranksep=0.45];",
                     "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#f4f7fb\", color=\"#5588cc\", fontname=\"Helvetica\", fontsize=11];",
                     "  edge [color=\"#999999\", arrowsize=0.7];"]
        func nodeLine(_ n: GraphNode, indent: String) -> String {
            let label = "\(split(n.id).stage)\n\(n.descriptor.name)"
            return "\(indent)\(dotQuote(n.id)) [label=\(dotQuote(label)), tooltip=\(dotQuote(n.id))];"
        }
        for (i, group) in groups(graph).enumerated() {
            guard let variant = group.variant else {
                for n in group.nodes { lines.append(nodeLine(n, indent: "  ")) }
                continue
            }
            lines.append("  subgraph \(dotQuote("cluster_\(i)")) {")
            lines.append("    label=\(dotQuote(variant)); style=\"rounded,dashed\"; color=\"#aaaaaa\"; fontcolor=\"#555555\";")
            for n in group.nodes { lines.append(nodeLine(n, indent: "    ")) }
            lines.append("  }")
        }
        for e in edges(graph) {
            lines.append("  \(dotQuote(e.from)) -> \(dotQuote(e.to)) [tooltip=\(dotQuote(e.ports.joined(separator: ", ")))];")
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    /// A DOT string literal: `"` and `\` escaped, a newline as DOT's centred line break.
    static func dotQuote(_ s: String) -> String {
        var out = "\""
        for c in s {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out + "\""
    }

    // MARK: - Mermaid

    /// A Mermaid flowchart (renders in GitHub and GitLab markdown): variants as subgraphs.
    public static func mermaid(_ graph: PipelineGraph) -> String {
        var ids: [String: String] = [:]
        for (i, n) in graph.nodes.enumerated() { ids[n.id] = "n\(i)" }
        var lines = ["flowchart LR"]
        for (i, group) in groups(graph).enumerated() {
            let indent = group.variant == nil ? "  " : "    "
            if let v = group.variant { lines.append("  subgraph v\(i)[\"\(mermaidText(v))\"]") }
            for n in group.nodes {
                lines.append("\(indent)\(ids[n.id]!)[\"\(mermaidText(split(n.id).stage))<br/>\(mermaidText(n.descriptor.name))\"]")
            }
            if group.variant != nil { lines.append("  end") }
        }
        for e in edges(graph) { lines.append("  \(ids[e.from]!) --> \(ids[e.to]!)") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Mermaid label text: quotes and markup characters as entities.
    static func mermaidText(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "#quot;")
            .replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
