import Foundation

/// How the coordinator drives Slurm (never part of a key).
public struct SlurmOptions: Sendable {
    /// The `segflow` binary the batch scripts run (on the shared filesystem). Default: $SEGFLOW_WORKER_BINARY,
    /// else this process's own executable.
    public var workerBinary: String?
    /// Seconds between polls: starts at `pollMin`, grows by half while nothing changes, up to `pollMax`.
    public var pollMin: Double = 0.5
    public var pollMax: Double = 10
    /// How long the shared-filesystem probe job may wait in the queue and run.
    public var probeTimeout: Double = 600
    /// Retries of a failed shard when the stage does not say (`executor: {retries: N}`).
    public var defaultRetries = 2

    public init(workerBinary: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.workerBinary = workerBinary ?? environment["SEGFLOW_WORKER_BINARY"].flatMap { $0.isEmpty ? nil : $0 }
        if let s = environment["SEGFLOW_SLURM_POLL_MAX"].flatMap(Double.init), s > 0 { pollMax = s; pollMin = min(pollMin, s) }
        if let s = environment["SEGFLOW_SLURM_PROBE_TIMEOUT"].flatMap(Double.init), s > 0 { probeTimeout = s }
    }

    /// The binary to run in jobs: given, else `/proc/self/exe` (the coordinator's own).
    var resolvedWorkerBinary: String {
        if let w = workerBinary { return w }
        if let p = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return p }
        return URL(fileURLWithPath: CommandLine.arguments[0]).standardized.path
    }
}
