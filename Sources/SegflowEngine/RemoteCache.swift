import Foundation
import SegflowCore
import SegflowGraph
import SegflowRemote
import SegflowStages
import SegflowStore

/// A remote cache attached to a workspace: runs read through it before computing (an item or node
/// missing locally is looked up by its key), and push what they computed. Planning and keys never
/// learn about it: it only fills the local index and store before a node is planned again.
public final class RemoteCache: @unchecked Sendable {
    public let transfer: RemoteTransfer
    public var remote: any RemoteStore { transfer.remote }
    private let lock = NSLock()
    /// Objects whose remote copy failed its re-hash: a push from here overwrites them.
    private var rejected = Set<Digest>()
    private var pulledSummary = TransferSummary()
    private var adoptedCount = 0
    private var reportedPacks = Set<String>()

    public init(remote: any RemoteStore, workspace: Workspace, concurrency: Int = 16, progress: TransferProgress? = nil) {
        transfer = RemoteTransfer(remote: remote, objects: workspace.objects, concurrency: concurrency, progress: progress)
    }

    /// What read-through downloaded so far, and how many results it adopted.
    public var pulled: (summary: TransferSummary, results: Int) { lock.lock(); defer { lock.unlock() }; return (pulledSummary, adoptedCount) }

    /// Adopts the remote's results for what `plan` would compute: rows by key, then their objects
    /// (re-hashed; a row with an object that is missing or does not match is not adopted, so its
    /// item is computed). Returns how many rows were adopted (then the node must be planned again).
    func fill(_ plan: NodePlan, workspace: Workspace, runID: Int64, force: Set<String>, reporter: RunReporter) async throws -> Int {
        guard plan.status == .run, !plan.waiting, !force.contains(plan.node.id) else { return 0 }
        let keys: [Digest]
        switch plan.node.descriptor.granularity {
        case .source: return 0
        case .reduce: keys = plan.key.map { [$0] } ?? []
        case .map: keys = plan.items.filter { $0.status == .run }.compactMap(\.key)
        }
        guard !keys.isEmpty else { return 0 }
        // Keys name the stage type, so a row under another node name is the same work (a renamed stage).
        let rows = try await transfer.fetchRows(keys, runID: runID).filter { $0.stage == plan.node.descriptor.name }
            .map { r -> ResultRecord in var r = r; r.node = plan.node.id; return r }
        for e in newlyRejectedPacks() { reporter.note("warning: \(e); recomputing what its rows would have given") }
        guard !rows.isEmpty else { return 0 }
        let (summary, unavailable) = try await transfer.pullObjects(rows.flatMap { $0.outputs.values.flatMap { $0.files.values } })
        for e in summary.errors where e.hasPrefix("rejected") { reporter.note("warning: \(e); recomputing what needs it") }
        let adopted = rows.filter { r in r.outputs.values.allSatisfy { $0.files.values.allSatisfy { !unavailable.contains($0) } } }
        try workspace.index.commit(results: adopted, executions: [], runID: runID)
        record(summary, adopted: adopted.count, unavailable: unavailable)
        if !adopted.isEmpty { reporter.note("\(plan.node.id): \(adopted.count) result(s) from \(remote.displayURL)") }
        return adopted.count
    }

    private func record(_ summary: TransferSummary, adopted: Int, unavailable: Set<Digest>) {
        lock.lock(); defer { lock.unlock() }
        pulledSummary.add(summary); adoptedCount += adopted
        rejected.formUnion(unavailable.filter { d in summary.errors.contains { $0.hasPrefix("rejected object \(d.short)") } })
    }

    /// Rejected packs not yet reported (each is reported once).
    private func newlyRejectedPacks() -> [String] {
        let all = transfer.rejectedPacks
        lock.lock(); defer { lock.unlock() }
        let new = all.filter { !reportedPacks.contains($0) }
        reportedPacks.formUnion(new)
        pulledSummary.errors += new
        pulledSummary.rejected += new.count
        return new
    }

    private var overwrites: Set<Digest> { lock.lock(); defer { lock.unlock() }; return rejected }

    /// Uploads result rows and their objects: objects first, then the rows whose objects all arrived.
    public func push(_ rows: [ResultRecord], workspace: Workspace) async throws -> TransferSummary {
        var s = try await transfer.pushObjects(rows.flatMap { $0.outputs.values.flatMap { $0.files.values } }, overwrite: overwrites)
        let missing = Set(rows.flatMap { $0.outputs.values.flatMap { $0.files.values } }.filter { !workspace.objects.contains($0) })
        let complete = rows.filter { r in r.outputs.values.allSatisfy { $0.files.values.allSatisfy { !missing.contains($0) } } }
        s.add(try await transfer.pushRows(complete))
        return s
    }
}

extension Engine {
    /// The rows `push` sends: those of the latest finished run of each pipeline (or of `pipeline`),
    /// computed then or adopted from earlier runs (every row whose outputs the run's trees hold).
    /// Source imports are left out: they come from each user's own dataset files.
    public func rowsToPush(pipeline: String?) throws -> (runs: [RunRecord], rows: [ResultRecord]) {
        let runs = try workspace.index.latestFinishedRuns(pipelines: pipeline.map { [$0] })
        var live = Set<Digest>()
        var keys = Set<Digest>()
        for run in runs {
            for node in try workspace.index.runNodes(run.id) {
                guard let tree = node.tree, let data = try? workspace.objects.read(tree) else { continue }
                live.formUnion(TreeCodec.parseManifest(data).files.values)
            }
            keys.formUnion(try workspace.index.results(run: run.id).map(\.key))
        }
        keys.formUnion(try workspace.index.resultKeys(referencing: live).compactMap(Digest.init(hex:)))
        let rows = try workspace.index.results(for: Array(keys)).values
            .filter { catalog.sources[$0.stage] == nil }
            .sorted { $0.key < $1.key }
        return (runs, rows)
    }

    /// Pushes what one run committed (`run --push`).
    public func push(run runID: Int64, to remote: RemoteCache) async throws -> TransferSummary {
        let rows = try workspace.index.results(run: runID).filter { catalog.sources[$0.stage] == nil }
        return try await remote.push(rows, workspace: workspace)
    }

    /// Plans the pipeline with read-through: every node the remote has is downloaded into the local
    /// cache, so the next run computes only what neither had. Returns the plan that remains.
    public func pull(_ graph: PipelineGraph, from remote: RemoteCache, reporter: RunReporter = SilentReporter()) async throws -> Plan {
        let planner = Planner(workspace: workspace, catalog: catalog, classes: graph.classes, force: [], explain: false)
        var values: [String: [String: PortValue]] = [:]
        var nodes: [NodePlan] = []
        for node in graph.nodes {
            var p = try planner.plan(node, upstream: values)
            // Rows adopted outside a run belong to run 0 (never a pipeline's latest run, so gc is unaffected).
            if try await remote.fill(p, workspace: workspace, runID: 0, force: [], reporter: reporter) > 0 {
                p = try planner.plan(node, upstream: values)
            }
            values[node.id] = p.outputs
            nodes.append(p)
        }
        try planner.fingerprints.save()
        return Plan(pipeline: graph.name, nodes: nodes)
    }
}
