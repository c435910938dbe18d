import Foundation
import SegflowCore
import SegflowGraph
import SegflowSpec
import SegflowStages
import SegflowStore

/// How to run a pipeline.
public struct RunOptions: Sendable {
    /// Node calls at once (`-j`). Never part of a key.
    public var jobs: Int
    public var force: Set<String>
    /// The command line, for `segflow log`.
    public var command: String
    /// Threads each native call may use.
    public var threads: Int
    public var cancellation: Cancellation
    /// The graph is part of its pipeline (run targets): the results links of the other nodes stay.
    public var partial = false
    /// A remote cache read through before computing (`--remote`); never part of a key.
    public var remote: RemoteCache?
    /// `--executor local|slurm` (or $SEGFLOW_EXECUTOR): every stage's executor, over what the pipeline says.
    public var executor: String?
    public var slurm = SlurmOptions()
    public init(jobs: Int = 1, force: Set<String> = [], command: String = "run",
                threads: Int = ProcessInfo.processInfo.activeProcessorCount, cancellation: Cancellation = Cancellation()) {
        self.jobs = max(1, jobs); self.force = force; self.command = command; self.threads = max(1, threads)
        self.cancellation = cancellation
    }
}

/// What one node did in a run.
public struct NodeSummary: Sendable {
    public var node: String
    public var stage: String
    public var status: String
    public var ran: Int
    public var cached: Int
    public var failed: Int
    public var seconds: Double
    public var outputs: [String: FileTree]
    public var error: String?
    /// What `results/` links of this node, when not every output: a plain source links only the files it
    /// made (converted annotations), not the dataset files it imported (see ResultLinks.swift).
    public var linked: [String: FileTree]? = nil
    /// The trees `results/` links.
    public var linkedOutputs: [String: FileTree] { linked ?? outputs }
    /// Manifests of `outputs` already stored, by port (a source stores them while its records commit);
    /// `recordNode` stores the rest.
    var manifests: [String: Digest] = [:]
}

/// What a run did.
public struct RunSummary: Sendable {
    public var runID: Int64
    public var nodes: [NodeSummary]
    public var ran: Int { nodes.reduce(0) { $0 + $1.ran } }
    public var cached: Int { nodes.reduce(0) { $0 + $1.cached } }
    public var failed: Int { nodes.reduce(0) { $0 + $1.failed } }
    public func node(_ id: String) -> NodeSummary? { nodes.first { $0.node == id } }
}

/// A stored object failed re-verification while being read: evict it and plan again.
struct CorruptObject: Error { let digest: Digest; let path: String }

/// Plans and runs pipelines over a workspace.
public final class Engine: @unchecked Sendable {
    public let workspace: Workspace
    public let catalog: StageCatalog

    public init(workspace: Workspace, catalog: StageCatalog) {
        self.workspace = workspace; self.catalog = catalog
    }

    // MARK: - Plan

    /// The pure plan: what is cached and what would run, with reasons. Writes nothing but fingerprints.
    ///
    /// `memos: false` plans every map node item by item, with item keys (`why` shows them).
    public func plan(_ graph: PipelineGraph, force: Set<String> = [], explain: Bool = true, memos: Bool = true) throws -> Plan {
        let planner = Planner(workspace: workspace, catalog: catalog, classes: graph.classes, force: force, explain: explain)
        planner.useMemos = memos
        planner.readAhead(graph.nodes)
        var values: [String: [String: PortValue]] = [:]
        var nodes: [NodePlan] = []
        let timing = ProcessInfo.processInfo.environment["SEGFLOW_TIMING"] != nil
        for node in graph.nodes {
            let t0 = Date()
            let p = try planner.plan(node, upstream: values)
            values[node.id] = p.outputs
            nodes.append(p)
            if timing { FileHandle.standardError.write(Data(String(format: "plan %@: %.1f ms\n", node.id, Date().timeIntervalSince(t0) * 1000).utf8)) }
        }
        try planner.fingerprints.save()
        return Plan(pipeline: graph.name, nodes: nodes)
    }

    // MARK: - Run

    /// Runs what the plan says must run, node by node as inputs become known (early cutoff falls out:
    /// an identical output gives dependants identical keys).
    public func run(_ graph: PipelineGraph, options: RunOptions = RunOptions(),
                    reporter: RunReporter = SilentReporter()) async throws -> RunSummary {
        let file = URL(fileURLWithPath: graph.spec.file).standardized.path
        // What dead runs left: their "running" rows and their temporary files.
        try workspace.index.markDeadRuns(locks: workspace.locksDirectory)
        workspace.objects.temp.sweep()
        let (runID, runLock) = try workspace.index.beginRun(pipeline: graph.name, file: file, command: options.command,
                                                            locks: workspace.locksDirectory)
        Timeline.mark("run \(runID) begun")
        defer {
            runLock?.release()
            unlink(workspace.locksDirectory + "/run-\(runID).lock")
        }
        var attempt = 0
        while true {
            do {
                let summary = try await runOnce(graph, runID: runID, options: options, reporter: reporter)
                let failed = summary.nodes.contains { $0.status == "failed" || $0.status == "skipped" }
                try workspace.index.finishRun(runID, status: options.cancellation.isCancelled ? "cancelled" : failed ? "failed" : "ok",
                                              ran: summary.ran, cached: summary.cached, failed: summary.failed)
                Timeline.mark("run finished in the index")
                defer {
                    Timeline.mark("results/ linked")
                    workspace.index.finishCheckpoints()
                    Timeline.mark("index checkpointed")
                }
                if options.partial {
                    try ResultLinks.update(workspace: workspace, pipeline: graph.name, nodes: summary.nodes)
                } else {
                    try ResultLinks.refresh(workspace: workspace, pipeline: graph.name, nodes: summary.nodes)
                }
                return summary
            } catch let c as CorruptObject where attempt < 3 {
                attempt += 1
                reporter.note("warning: object \(c.digest.short) is corrupt (\(c.path)); evicted, recomputing what made it")
                workspace.objects.evict(c.digest)
                try workspace.index.forgetImports(of: c.digest)
            } catch {
                let cancelled = { if case SegflowError.cancelled = error { return true }; return false }()
                try? workspace.index.finishRun(runID, status: cancelled ? "cancelled" : "failed", ran: 0, cached: 0, failed: 0)
                if DiskFull.matches(error), !DiskFull.isExplained(error) {
                    throw DiskFull.error(cache: workspace.root, while: "run \(runID) of \(graph.name)")
                }
                throw error
            }
        }
    }

    private func runOnce(_ graph: PipelineGraph, runID: Int64, options: RunOptions,
                         reporter: RunReporter) async throws -> RunSummary {
        let planner = Planner(workspace: workspace, catalog: catalog, classes: graph.classes, force: options.force, explain: true)
        planner.importsWhileHashing = true
        let local = LocalExecutor(workspace: workspace, catalog: catalog, classes: graph.classes, runID: runID,
                                  threads: options.threads, cancellation: options.cancellation, reporter: reporter)
        let executor = NodeExecutor(local: local, cluster: try clusterExecutor(graph, options: options, reporter: reporter))
        let state = SchedulerState(nodes: graph.nodes)
        try await withThrowingTaskGroup(of: NodeSummary.self) { group in
            var inFlight = 0
            while !state.remaining.isEmpty || inFlight > 0 {
                // Launch every node whose inputs are all known, up to -j at once.
                while inFlight < options.jobs && !options.cancellation.isCancelled, let node = state.takeReady() {
                    if let bad = node.inputs.values.first(where: { state.failed.contains($0.node) }) {
                        state.failed.insert(node.id)
                        state.summaries[node.id] = NodeSummary(node: node.id, stage: node.descriptor.name, status: "skipped", ran: 0,
                                                               cached: 0, failed: 0, seconds: 0, outputs: [:], error: "input \(bad.node) failed")
                        reporter.note("\(node.id): skipped (input \(bad.node) failed)")
                        continue
                    }
                    var plan = try planner.plan(node, upstream: state.values)
                    if let remote = options.remote,
                       try await remote.fill(plan, workspace: workspace, runID: runID, force: options.force, reporter: reporter) > 0 {
                        plan = try planner.plan(node, upstream: state.values)
                    }
                    Timeline.mark("\(node.id): planned")
                    try planner.fingerprints.save()
                    Timeline.mark("\(node.id): fingerprints saved")
                    group.addTask { try await executor.execute(plan) }
                    inFlight += 1
                }
                if inFlight == 0 { break }
                guard let s = try await group.next() else { break }
                Timeline.mark("\(s.node): executed")
                inFlight -= 1
                state.summaries[s.node] = s
                state.values[s.node] = s.outputs.mapValues { .known($0) }
                if s.status == "failed" { state.failed.insert(s.node) }
            }
        }
        if options.cancellation.isCancelled {
            throw SegflowError.cancelled
        }
        return RunSummary(runID: runID, nodes: graph.nodes.compactMap { state.summaries[$0.id] })
    }
}

extension Engine {
    /// The executor of each node; Slurm is checked (commands, partitions, a shared cache) before anything runs.
    func clusterExecutor(_ graph: PipelineGraph, options: RunOptions, reporter: RunReporter) throws -> @Sendable (GraphNode) -> (any CallExecutor)? {
        if let o = options.executor, !ExecutorSettings.kinds.contains(o) {
            throw SegflowError.user("unknown executor '\(o)'", hint: "executors: \(ExecutorSettings.kinds.joined(separator: ", "))")
        }
        let choice = ExecutorChoice(override: options.executor)
        let onSlurm = graph.nodes.filter { choice.kind(of: $0) == "slurm" }
        guard !onSlurm.isEmpty else { return { _ in nil } }
        let client = try SlurmClient()
        try SlurmPreflight.check(nodes: onSlurm, workspace: workspace, client: client, options: options.slurm,
                                 reporter: reporter, cancellation: options.cancellation)
        let slurm = SlurmExecutor(workspace: workspace, catalog: catalog, classes: graph.classes, cancellation: options.cancellation,
                                  reporter: reporter, options: options.slurm, client: client)
        return { node in choice.kind(of: node) == "slurm" ? slurm : nil }
    }
}

/// The coordinator's bookkeeping during a run (a class: task-group closures must not capture mutable locals).
final class SchedulerState {
    var remaining: [GraphNode]
    var values: [String: [String: PortValue]] = [:]
    var summaries: [String: NodeSummary] = [:]
    var failed: Set<String> = []
    init(nodes: [GraphNode]) { remaining = nodes }

    /// Removes and returns the first node whose inputs are all finished.
    func takeReady() -> GraphNode? {
        guard let i = remaining.firstIndex(where: { n in n.inputs.values.allSatisfy { summaries[$0.node] != nil } }) else { return nil }
        return remaining.remove(at: i)
    }
}
