import ArgumentParser
import Foundation
import SegflowCore
import SegflowEngine

/// What a Slurm batch script runs: one shard, outputs into the shared store, a manifest beside the spec.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Compute one shard a coordinator wrote (run by the slurm executor's batch scripts; never opens the index).")
    @Argument(help: "The shard's spec.json under CACHE/slurm/.") var spec: String

    func run() async throws {
        try await guarded {
            let status = try await ShardWorker.run(specPath: spec)
            if status != 0 { throw ExitCode(status) }
        }
    }
}
