import Foundation
import SegflowCore
import SegflowGraph

/// Checks made once per run before anything is submitted, so that a cluster that is not there, a partition
/// that does not exist or a cache the nodes cannot see fails in seconds with a fix, not as a hang.
enum SlurmPreflight {
    static func check(nodes: [GraphNode], workspace: Workspace, client: SlurmClient, options: SlurmOptions,
                      reporter: RunReporter, cancellation: Cancellation) throws {
        let (names, defaultName) = try client.partitions()
        var bag: [String] = []
        for node in nodes {
            if let p = node.executor.partition, !names.contains(p) {
                bag.append("stage \(node.id): no Slurm partition '\(p)'")
            }
        }
        if !bag.isEmpty {
            throw SegflowError.user(bag.joined(separator: "\n"),
                                    hint: "partitions here: \(names.joined(separator: ", "))" + (defaultName.map { " (default \($0))" } ?? ""))
        }
        try probeSharedCache(workspace: workspace, client: client, options: options,
                             partition: nodes.lazy.compactMap(\.executor.partition).first, reporter: reporter, cancellation: cancellation)
    }

    /// Submits a tiny job that reads a token the coordinator wrote into the cache and writes it back: workers
    /// place objects there, so a cache only this machine sees would make every shard fail. Once per cache.
    static func probeSharedCache(workspace: Workspace, client: SlurmClient, options: SlurmOptions, partition: String?,
                                 reporter: RunReporter, cancellation: Cancellation) throws {
        let dir = workspace.root + "/slurm"
        let marker = dir + "/shared-cache-checked"
        if FileManager.default.fileExists(atPath: marker) { return }
        let token = UUID().uuidString.lowercased()
        let probe = dir + "/probe-" + token.prefix(8)
        try DurableFile.write(Data(token.utf8), to: probe)
        defer { for f in [probe, probe + ".seen", probe + ".sh"] { unlink(f) } }
        var lines = ["#!/bin/bash", "#SBATCH --job-name=segflow-probe", "#SBATCH --output=/dev/null", "#SBATCH --cpus-per-task=1"]
        if let partition { lines.append("#SBATCH --partition=\(partition)") }
        lines.append("if [ \"$(cat \(SlurmBatchScript.quote(probe)) 2>/dev/null)\" = '\(token)' ]; then hostname > \(SlurmBatchScript.quote(probe + ".seen")); fi")
        try (lines.joined(separator: "\n") + "\n").write(toFile: probe + ".sh", atomically: true, encoding: .utf8)
        reporter.note("slurm: checking that the nodes see the cache \(workspace.root) (one probe job, once per cache)")
        let job = try client.submit(script: probe + ".sh")
        let deadline = Date().addingTimeInterval(options.probeTimeout)
        var state = "PENDING"
        while true {
            if cancellation.isCancelled { client.cancel([job]); throw SegflowError.cancelled }
            state = try client.queue()[job]?.state ?? "gone"
            if !SlurmExecutor.waiting.contains(state) { break }
            if Date() > deadline {
                client.cancel([job])
                throw SegflowError.user("the probe job \(job) that checks the cache is shared was still \(state) after \(Int(options.probeTimeout)) s",
                                        hint: "the partition may be busy: set SEGFLOW_SLURM_PROBE_TIMEOUT=SECONDS, or pick a partition with free nodes")
            }
            usleep(200_000)
        }
        // The file may reach this machine's view of a network filesystem a moment after the job ends.
        for _ in 0..<20 where !FileManager.default.fileExists(atPath: probe + ".seen") { usleep(250_000) }
        guard FileManager.default.fileExists(atPath: probe + ".seen") else {
            throw SegflowError.user("the cache \(workspace.root) is not on a filesystem the cluster's nodes share: probe job \(job) (\(state)) did not find \(probe)",
                                    hint: "pass --cache (or SEGFLOW_CACHE) a folder on shared storage mounted at the same path on every node")
        }
        try DurableFile.write(Data("checked by job \(job)\n".utf8), to: marker)
    }
}
