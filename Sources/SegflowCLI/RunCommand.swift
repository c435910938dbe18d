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
    @OptionGroup var remote: RemoteOptions
    @Flag(name: .long, help: "Upload what this run computed to the remote.") var push = false
    @Option(name: .long, help: "Where every stage runs: local or slurm (default: $SEGFLOW_EXECUTOR, else each stage's executor:, else local).")
    var executor: String?

    func run() async throws {
        try await guarded(cache: global.cacheRoot) {
            let (session, full, graph) = try loadPipeline(pipeline, params: params, targets: targets, force: force, global: global)
            Timeline.mark("pipeline loaded, cache open")
            let cancellation = Cancellation()
            installInterruptHandler(cancellation)
            var options = RunOptions(jobs: j, force: Set(force), command: CommandLine.arguments.joined(separator: " "),
                                     cancellation: cancellation)
            options.partial = graph.nodes.count < full.nodes.count
            if remote.url != nil || push { options.remote = try remote.open(session.workspace, label: "remote") }
            options.executor = executor ?? ProcessInfo.processInfo.environment["SEGFLOW_EXECUTOR"].flatMap { $0.isEmpty ? nil : $0 }
            let t0 = Date()
            let summary = try await session.engine.run(graph, options: options, reporter: ConsoleReporter())
            let secs = Date().timeIntervalSince(t0)
            print(String(format: "run %lld of %@: %d ran, %d cached, %d failed in %.1f s", summary.runID, graph.name,
                         summary.ran, summary.cached, summary.failed, secs))
            print("results: \(session.workspace.resultsDirectory)/\(graph.name)/")
            if let cache = options.remote {
                try await reportRemote(cache, session: session, runID: summary.runID, push: push)
            }
            if let failed = summary.nodes.first(where: { $0.status == "failed" }) {
                throw SegflowError.stageFailed(node: failed.node, item: nil, message: failed.error ?? "failed")
            }
        }
    }
}

/// After a run with a remote: what read-through downloaded and, with `--push`, what went up.
func reportRemote(_ cache: RemoteCache, session: Session, runID: Int64, push: Bool) async throws {
    let (pulled, adopted) = cache.pulled
    if adopted > 0 || pulled.failed > 0 {
        print("remote \(cache.remote.displayURL): \(adopted) results adopted, \(pulled.sent) objects downloaded "
              + "(\(ByteCountFormatter.string(fromByteCount: pulled.bytes, countStyle: .file))), \(pulled.rejected) rejected")
    }
    guard push else { return }
    let t0 = Date()
    let s = try await session.engine.push(run: runID, to: cache)
    print(transferLine("push to", cache.remote.displayURL, s, seconds: Date().timeIntervalSince(t0)))
    try throwIfFailed(s, cache.remote.displayURL)
}
