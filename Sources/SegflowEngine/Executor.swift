import Foundation
import SegflowCore
import SegflowGraph
import SegflowSpec
import SegflowStages

/// One stage call's worth of work: items with their keys and every input object they read.
struct ShardWork: Sendable {
    /// Map: the items to compute. Reduce: every item of the inputs.
    var items: [String]
    /// Map: one key per item (as `items`). Reduce: the node's key.
    var keys: [Digest]
    /// port -> file name -> object.
    var inputs: [String: [String: Digest]]
}

/// What a finished shard produced: objects already in the store, by port and file name.
struct ShardOutput: Sendable {
    var produced: [String: [String: Digest]]
    var outcome: StageOutcome
    var seconds: Double
}

/// The work of one node, as items an executor may group into shards as it likes.
struct NodeWork: Sendable {
    let plan: NodePlan
    /// Map nodes: one per item to run, in plan order. Reduce nodes: a single shard.
    let units: [ShardWork]
    /// Inputs every shard reads whole (a model, a class list file).
    let whole: [String: [String: Digest]]

    var node: GraphNode { plan.node }

    /// The items of `units` as one call.
    func shard(_ units: ArraySlice<ShardWork>) -> ShardWork {
        if units.count == 1, let only = units.first, plan.node.descriptor.granularity == .reduce { return only }
        var inputs = whole
        for u in units { for (port, files) in u.inputs { inputs[port, default: [:]].merge(files) { a, _ in a } } }
        return ShardWork(items: units.flatMap(\.items), keys: units.flatMap(\.keys), inputs: inputs)
    }
}

/// Where a node's stage calls run: this machine (`LocalExecutor`) or a cluster (`SlurmExecutor`).
/// Executors compute and place objects; only the coordinator's NodeExecutor commits them to the index,
/// from `finished`, which an executor calls on its own task, once per shard, in any order.
protocol CallExecutor: Sendable {
    func run(_ work: NodeWork, finished: (ShardWork, ShardOutput) throws -> Void) async throws
}

/// Which executor runs a node: the command line's choice over the stage's, over the pipeline's, else local.
struct ExecutorChoice: Sendable {
    /// `--executor` or `SEGFLOW_EXECUTOR`: overrides the pipeline, so a cluster pipeline runs unchanged on a laptop.
    var override: String?

    func kind(of node: GraphNode) -> String {
        // Sources read the dataset where the coordinator runs and import it; they never leave this machine.
        if node.descriptor.granularity == .source { return "local" }
        return override ?? node.executor.kind ?? "local"
    }
}
