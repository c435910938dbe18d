import Foundation
import SegflowCore
import SegflowGraph
import SegflowSpec
import SegflowStages
import SegflowStore

/// Runs stage calls in this process (native stages) or its child processes (plugin workers).
struct LocalExecutor: CallExecutor {
    let workspace: Workspace
    let catalog: StageCatalog
    let classes: ClassList
    let runID: Int64
    let threads: Int
    let cancellation: Cancellation
    let reporter: RunReporter

    /// Items per native call: small enough that Ctrl-C loses little, large enough to batch.
    static let nativeChunk = 64

    func run(_ work: NodeWork, finished: (ShardWork, ShardOutput) throws -> Void) async throws {
        let node = work.node
        guard let impl = catalog.implementations[node.descriptor.name] else {
            throw SegflowError.internal("no implementation for stage type \(node.descriptor.name)")
        }
        // A plugin call pays for its interpreter and model once: all its items go in one call.
        let chunk = node.descriptor.plugin != nil || node.descriptor.granularity == .reduce ? max(1, work.units.count) : Self.nativeChunk
        let total = node.descriptor.granularity == .reduce ? 1 : work.units.count
        var done = 0
        for start in stride(from: 0, to: work.units.count, by: chunk) {
            if cancellation.isCancelled { throw SegflowError.cancelled }
            let shard = work.shard(work.units[start..<min(work.units.count, start + chunk)])
            let t0 = Date()
            let (produced, outcome) = try await call(impl, node: node, items: shard.items, inputs: shard.inputs, done: done, total: total)
            try finished(shard, ShardOutput(produced: produced, outcome: outcome, seconds: Date().timeIntervalSince(t0)))
            done += shard.items.count
        }
    }

    /// Verifies the inputs, runs the stage in a scratch folder and moves its outputs into the store.
    /// Nothing is committed here: a failure leaves only scratch files, which are removed.
    func call(_ impl: any StageImplementation, node: GraphNode, items: [String], inputs: [String: [String: Digest]],
              done: Int, total: Int) async throws -> ([String: [String: Digest]], StageOutcome) {
        var paths: [String: [String: String]] = [:]
        for (port, files) in inputs {
            for (name, d) in files {
                // Re-verify before trusting: a corrupt object must never reach a stage.
                // A stage reads files: an inline object is written out first (once).
                guard workspace.objects.isIntact(d), let p = try? workspace.objects.file(of: d) else {
                    throw CorruptObject(digest: d, path: workspace.objects.path(of: d))
                }
                paths[port, default: [:]][name] = p
            }
        }
        let scratch = try workspace.scratch(node.id)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try FileManager.default.createDirectory(atPath: workspace.logsDirectory, withIntermediateDirectories: true)
        let reporter = self.reporter, cancellation = self.cancellation, id = node.id
        let stageCall = StageCall(
            node: node.id, descriptor: node.descriptor, params: node.params, classes: classes, items: items,
            inputs: paths, outputDirectory: scratch + "/out", threads: threads,
            logPath: workspace.logsDirectory + "/run\(runID)-\(node.id).log",
            progress: { d, t, m in reporter.progress(id, done: done + d, total: max(total, done + t), message: m) },
            isCancelled: { cancellation.isCancelled })
        try FileManager.default.createDirectory(atPath: stageCall.outputDirectory, withIntermediateDirectories: true)
        // A call that finished is kept even if Ctrl-C came meanwhile: the chunk loop stops before the next one.
        let outcome = try await impl.run(stageCall)
        CrashPoint.reached("stage")
        return (try Self.ingestOutputs(of: node.descriptor, node: node.id, in: stageCall.outputDirectory, into: workspace.objects), outcome)
    }

    /// Moves `<dir>/<port>/<file>` into the store (hash, fsync, rename); port -> file -> digest. `dir` is
    /// `out/` of a scratch folder of its own; anything but regular files in port folders fails the node
    /// (`StageOutputs`).
    static func ingestOutputs(of descriptor: StageDescriptor, node: String, in dir: String,
                              into objects: ObjectStore) throws -> [String: [String: Digest]] {
        try StageOutputs.ingest(scratch: (dir as NSString).deletingLastPathComponent, outputDirectory: dir,
                                ports: descriptor.outputs.map(\.name), node: node, objects: objects)
    }
}
