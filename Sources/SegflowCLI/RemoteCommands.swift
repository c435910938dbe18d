import ArgumentParser
import Foundation
import SegflowCore
import SegflowEngine
import SegflowRemote
import SegflowSpec

/// Options of the commands that talk to a remote cache.
struct RemoteOptions: ParsableArguments {
    @Option(name: .long, help: "Remote cache: s3://BUCKET/PREFIX or file:///PATH (default: $SEGFLOW_REMOTE).")
    var remote: String?
    @Option(name: .long, help: "S3 endpoint URL for S3-compatible stores (default: $AWS_ENDPOINT_URL).")
    var endpoint: String?
    @Option(name: .long, help: "Transfers at once.") var transfers: Int = 16

    /// The remote URL given or set by SEGFLOW_REMOTE; nil when neither.
    var url: String? {
        remote ?? ProcessInfo.processInfo.environment["SEGFLOW_REMOTE"].flatMap { $0.isEmpty ? nil : $0 }
    }

    func open(_ workspace: Workspace, label: String) throws -> RemoteCache {
        guard let url else {
            throw SegflowError.user("no remote given", hint: "pass --remote s3://BUCKET/PREFIX or file:///PATH, or set SEGFLOW_REMOTE")
        }
        return RemoteCache(remote: try RemoteURL.open(url, endpoint: endpoint), workspace: workspace,
                           concurrency: transfers, progress: TransferProgress(label: label))
    }
}

/// The line every transfer prints at the end.
func transferLine(_ verb: String, _ url: String, _ s: TransferSummary, seconds: Double) -> String {
    let moved = verb.hasPrefix("pull") ? "received" : "sent"
    var line = "\(verb) \(url): \(s.sent) objects \(moved) (\(ByteCountFormatter.string(fromByteCount: s.bytes, countStyle: .file))), "
        + "\(s.skipped) skipped (already there), \(s.failed) failed"
    if s.rows + s.rowsSkipped > 0 { line += "; \(s.rows) results sent, \(s.rowsSkipped) skipped" }
    return line + String(format: " in %.1f s", seconds)
}

/// Fails the command when some transfers failed (after the summary is printed).
func throwIfFailed(_ s: TransferSummary, _ url: String) throws {
    guard s.failed > 0 else { return }
    throw SegflowError.user("\(s.failed) transfer(s) with \(url) failed:\n  " + s.errors.prefix(10).joined(separator: "\n  "),
                            hint: "run the command again: what arrived is not sent again")
}

struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push", abstract: "Upload the results and objects of the latest runs (or of one pipeline's) to a remote cache.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var remote: RemoteOptions
    @Argument(help: "A pipeline YAML file or name (default: every pipeline's latest run).") var pipeline: String?

    func run() async throws {
        try await guarded {
            let session = try Session(cache: global.cacheRoot)
            let name = try pipeline.map { try pipelineName($0) }
            let (runs, rows) = try session.engine.rowsToPush(pipeline: name)
            guard !runs.isEmpty else {
                throw SegflowError.user("no finished run\(name.map { " of \($0)" } ?? "") in \(session.workspace.root)",
                                        hint: "run the pipeline first: segflow run PIPELINE")
            }
            let cache = try remote.open(session.workspace, label: "push")
            let t0 = Date()
            let s = try await cache.push(rows, workspace: session.workspace)
            print(transferLine("push to", cache.remote.displayURL, s, seconds: Date().timeIntervalSince(t0)))
            try throwIfFailed(s, cache.remote.displayURL)
        }
    }
}

struct PullCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull", abstract: "Download from a remote cache what a pipeline's plan needs and the remote has.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var remote: RemoteOptions
    @Argument(help: "The pipeline YAML file.") var pipeline: String
    @Option(name: [.customShort("p"), .customLong("param")], help: "Override a pipeline param: NAME=VALUE.") var params: [String] = []

    func run() async throws {
        try await guarded {
            let (session, _, graph) = try loadPipeline(pipeline, params: params, targets: [], force: [], global: global)
            let cache = try remote.open(session.workspace, label: "pull")
            let t0 = Date()
            let plan = try await session.engine.pull(graph, from: cache)
            let (s, adopted) = cache.pulled
            print(transferLine("pull from", cache.remote.displayURL, s, seconds: Date().timeIntervalSince(t0)))
            // Source imports are left out: they come from the local dataset files, not the remote.
            let computed = plan.nodes.filter { $0.node.descriptor.granularity != .source }
            print("\(adopted) results adopted; the next run computes \(computed.reduce(0) { $0 + $1.runCount }) work unit(s) "
                  + "(\(computed.reduce(0) { $0 + $1.cachedCount }) cached), besides importing the dataset")
            try throwIfFailed(TransferSummary(failedFrom: s), cache.remote.displayURL)
        }
    }
}

extension TransferSummary {
    /// A pull's failures that matter: rejected objects (a missing one just means the item is computed).
    init(failedFrom s: TransferSummary) {
        self.init()
        failed = s.rejected
        errors = s.errors.filter { $0.hasPrefix("rejected") }
    }
}

/// A pipeline named by its YAML file (its `name:`) or by name.
func pipelineName(_ arg: String) throws -> String {
    guard FileManager.default.fileExists(atPath: arg) else { return arg }
    return try PipelineSpec.load(path: arg).name
}
