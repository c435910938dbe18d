import ArgumentParser
import Foundation
import SegflowCore
import SegflowEngine

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run a pipeline; only what changed is computed.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The pipeline YAML file.") var pipeline: String
    @Argument(help: "Run only these stages and what they read from (stage names, or node ids such as cam=cam/cams).")
    var targets: [String] = []
    @Option(name: .short, help: "Stage calls at once.") var j: Int = 1
    @Option(name: .long, help: "Rerun this stage even if cached (repeatable).") var force: [String] = []
    @Option(name: [.customShort("p"), .customLong("param")], help: "Override a pipeline param: NAME=VALUE.") var params: [String] = []

    func run() async throws {
        try await guarded {
            let (session, full, graph) = try loadPipeline(pipeline, params: params, targets: targets, force: force, global: global)
            let cancellation = Cancellation()
            installInterruptHandler(cancellation)
            var options = RunOptions(jobs: j, force: Set(force), command: CommandLine.arguments.joined(separator: " "),
                                     cancellation: cancellation)
            options.partial = graph.nodes.count < full.nodes.count
            let t0 = Date()
            let summary = try await session.engine.run(graph, options: options, reporter: ConsoleReporter())
            let secs = Date().timeIntervalSince(t0)
            print(String(format: "run %lld of %@: %d ran, %d cached, %d failed in %.1f s", summary.runID, graph.name,
                         summary.ran, summary.cached, summary.failed, secs))
            print("results: \(session.workspace.resultsDirectory)/\(graph.name)/")
            if let failed = summary.nodes.first(where: { $0.status == "failed" }) {
                throw SegflowError.stageFailed(node: failed.node, item: nil, message: failed.error ?? "failed")
            }
        }
    }
}
