import Foundation
import SegflowGraph
import SegflowSpec

/// What one submission asks Slurm for, from a node's executor settings and resources.
struct SlurmRequest: Equatable, Sendable {
    var partition: String?
    var time: String?
    var cpus: Int
    var mem: String?
    var gpus: Int
    var account: String?

    /// The stage's `executor:` over its `resources:` (cpu, gpu) over one cpu and no gpu.
    init(node: GraphNode) {
        let e = node.executor
        partition = e.partition; time = e.time; mem = e.mem; account = e.account
        cpus = max(1, e.cpus ?? node.resources["cpu"] ?? 1)
        gpus = max(0, e.gpus ?? node.resources["gpu"] ?? 0)
    }
}

/// The batch script of one submission: an array of shards (map) or one job (reduce), each running
/// `segflow worker <shard>/spec.json` with its output appended to `<shard>/log`.
enum SlurmBatchScript {
    static func render(jobName: String, shardDirectories: [String], array: Bool, request: SlurmRequest,
                       worker: String, outputPattern: String) -> String {
        var lines = ["#!/bin/bash", "# Written by segflow: one line per shard below, run by `segflow worker`."]
        lines.append("#SBATCH --job-name=\(jobName)")
        if array { lines.append("#SBATCH --array=0-\(shardDirectories.count - 1)") }
        lines.append("#SBATCH --output=\(outputPattern)")
        lines.append("#SBATCH --cpus-per-task=\(request.cpus)")
        if let m = request.mem { lines.append("#SBATCH --mem=\(m)") }
        if let t = request.time { lines.append("#SBATCH --time=\(t)") }
        if let p = request.partition { lines.append("#SBATCH --partition=\(p)") }
        if let a = request.account { lines.append("#SBATCH --account=\(a)") }
        if request.gpus > 0 { lines.append("#SBATCH --gres=gpu:\(request.gpus)") }
        lines.append("shards=(")
        lines += shardDirectories.map { "  " + quote($0) }
        lines.append(")")
        lines.append("shard=\"${shards[${SLURM_ARRAY_TASK_ID:-0}]}\"")
        lines.append("exec >>\"$shard/log\" 2>&1")
        lines.append("echo \"segflow: job ${SLURM_JOB_ID} (array ${SLURM_ARRAY_JOB_ID:-none} task ${SLURM_ARRAY_TASK_ID:-none}) on $(hostname) at $(date -u +%FT%TZ)\"")
        lines.append("exec \(quote(worker)) worker \"$shard/spec.json\"")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Single quotes for bash, safe for any path.
    static func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
}
