import ArgumentParser
import Foundation
import SegflowCore
import SegflowEngine

struct WhyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "why", abstract: "Explain why a stage (or one item) is cached or must run.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "STAGE or STAGE/ITEM.") var target: String
    @Option(name: .long, help: "The pipeline (default: the one of the latest run).") var pipeline: String?

    func run() async throws {
        try await guarded {
            let ws = try Workspace(root: global.cacheRoot)
            guard let file = try pipeline ?? ws.index.runs(limit: 1).first?.file, !file.isEmpty else {
                throw SegflowError.user("no runs in \(ws.root) yet", hint: "pass --pipeline FILE")
            }
            let (session, graph) = try Session.loadGraph(path: file, params: [:], cache: global.cacheRoot)
            let parts = target.split(separator: "/", maxSplits: 1).map(String.init)
            guard graph.node(parts[0]) != nil else {
                throw SegflowError.user("no stage '\(parts[0])' in \(file)", hint: "stages: \(graph.nodes.map(\.id).joined(separator: ", "))")
            }
            // Item by item (no memos): an item's answer shows its key and the run that produced it.
            let plan = try session.engine.plan(graph, memos: parts.count < 2)
            guard let np = plan.nodes.first(where: { $0.node.id == parts[0] }) else { return }
            if parts.count == 2 {
                guard let item = np.items.first(where: { $0.stem == parts[1] }) else {
                    throw SegflowError.user("stage \(parts[0]) has no item '\(parts[1])'\(np.waiting ? " yet (its inputs must run first)" : "")")
                }
                print("\(parts[0])/\(item.stem): \(item.status.rawValue)")
                if let k = item.key { print("  key \(k.hex)") }
                for r in item.reasons { print("  because: \(r)") }
                if item.status == .cached, let k = item.key, let rec = try session.workspace.index.results(for: [k])[k] {
                    print("  produced by run \(rec.runID)")
                    for (port, tree) in rec.outputs.sorted(by: { $0.key < $1.key }) {
                        for (name, d) in tree.files.sorted(by: { $0.key < $1.key }) { print("  \(port)/\(name) = \(d.short)") }
                    }
                }
            } else {
                print("\(np.node.id) (\(np.node.descriptor.name)): \(np.status.rawValue), \(np.runCount) to run, \(np.cachedCount) cached")
                for r in np.reasons { print("  because: \(r)") }
                var byReason: [String: Int] = [:]
                for i in np.items where i.status == .run { byReason[i.reasons.joined(separator: "; "), default: 0] += 1 }
                for (r, c) in byReason.sorted(by: { $0.value > $1.value }) { print("  \(c) item(s): \(r)") }
            }
        }
    }
}
