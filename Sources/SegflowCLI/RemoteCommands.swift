import ArgumentParser
import Foundation
import SegflowCore
import SegflowEngine
import SegflowGraph
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
        commandName: "pull", abstract: "Download from a remote cache what pipelines' plans need and the remote has.",
        discussion: """
        With PIPELINE files: what each one's plan needs. Without one: every pipeline of the project, \
        pipelines/*.yaml under the current folder (as `dvc pull` with no target pulls for every stage \
        of the project); one that cannot be planned here (its dataset or a plugin missing) is skipped \
        with a note. Only the results the plans reach and their objects are downloaded, never the \
        whole remote; the next `segflow run` computes what neither had.
        """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var remote: RemoteOptions
    @Argument(help: "Pipeline YAML files (default: every pipelines/*.yaml under the current folder).") var pipelines: [String] = []
    @Option(name: [.customShort("p"), .customLong("param")], help: "Override a pipeline param: NAME=VALUE.") var params: [String] = []

    func run() async throws {
        try await guarded {
            let named = !pipelines.isEmpty
            let files = named ? pipelines : try projectPipelines()
            var cache: RemoteCache?
            let t0 = Date()
            var planned = 0
            for file in files {
                let graph: PipelineGraph, session: Session
                do {
                    (session, _, graph) = try loadPipeline(file, params: params, targets: [], force: [], global: global)
                } catch let e as SegflowError where !named {
                    FileHandle.standardError.write(Data("skipped \(file): \(e.description.split(separator: "\n").first ?? "")\n".utf8))
                    continue
                }
                if cache == nil {
                    let c = try remote.open(session.workspace, label: "pull")
                    // Bad credentials or no bucket fail here, once, not as a skip per pipeline.
                    _ = try await c.transfer.fetchRows([], runID: 0)
                    cache = c
                }
                let before = cache!.pulled.results
                let plan: Plan
                do {
                    plan = try await session.engine.pull(graph, from: cache!)
                } catch let e as SegflowError where !named && !e.description.contains(cache!.remote.displayURL) {
                    FileHandle.standardError.write(Data("skipped \(file): \(e.description.split(separator: "\n").first ?? "")\n".utf8))
                    continue
                }
                planned += 1
                // Source imports are left out: they come from the local dataset files, not the remote.
                let computed = plan.nodes.filter { $0.node.descriptor.granularity != .source }
                print("\(plan.pipeline): \(cache!.pulled.results - before) results adopted; the next run computes "
                      + "\(computed.reduce(0) { $0 + $1.runCount }) work unit(s) "
                      + "(\(computed.reduce(0) { $0 + $1.cachedCount }) cached), besides importing the dataset")
            }
            guard let cache, planned > 0 else {
                throw SegflowError.user("no pipeline of \(files.joined(separator: ", ")) could be planned here",
                                        hint: "fix what the notes above say, or name a pipeline: segflow pull PIPELINE")
            }
            let (s, _) = cache.pulled
            print(transferLine("pull from", cache.remote.displayURL, s, seconds: Date().timeIntervalSince(t0)))
            try throwIfFailed(TransferSummary(failedFrom: s), cache.remote.displayURL)
        }
    }

    /// pipelines/*.yaml under the current folder, sorted.
    func projectPipelines() throws -> [String] {
        let dir = "pipelines"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else {
            throw SegflowError.user("no pipelines/ folder in \(FileManager.default.currentDirectoryPath) to pull for",
                                    hint: "name the pipelines: segflow pull PIPELINE.yaml --remote URL, or run it from the project's folder")
        }
        let files = names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { "\(dir)/\($0)" }
        guard !files.isEmpty else {
            throw SegflowError.user("no pipeline (*.yaml) in \(dir)/ to pull for", hint: "name the pipelines: segflow pull PIPELINE.yaml")
        }
        return files
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
