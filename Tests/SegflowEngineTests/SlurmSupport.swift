import Foundation
import XCTest
import SegflowCore
import SegflowGraph
import SegflowSpec
import SegflowStages
@testable import SegflowEngine

/// The one-node cluster `.ci/slurm/cluster.sh start` brings up (CI starts it in .ci/run), found through
/// $SLURM_CONF or the script's default folder. Tests skip without it, except in CI, where they fail.
enum SlurmTestCluster {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static func require() throws {
        let env = ProcessInfo.processInfo.environment
        var conf = env["SLURM_CONF"] ?? ""
        if conf.isEmpty { conf = (env["SEGFLOW_SLURM_DIR"] ?? "/tmp/segflow-slurm") + "/slurm.conf" }
        let up = FileManager.default.fileExists(atPath: conf) && {
            setenv("SLURM_CONF", conf, 1)
            let states = (try? run("/usr/bin/env", ["sinfo", "-h", "-o", "%T"])) ?? ""
            return ["idle", "mix", "alloc"].contains { states.contains($0) }
        }()
        guard up else {
            let message = "no Slurm cluster reachable (SLURM_CONF=\(conf)): start one with `bash .ci/slurm/cluster.sh start` (as root, slurm-wlm and munge installed)"
            if env["CI"] == "true" { XCTFail(message) }
            throw XCTSkip(message)
        }
        guard FileManager.default.isExecutableFile(atPath: segflowBinary) else {
            if env["CI"] == "true" { XCTFail("no segflow binary at \(segflowBinary) for the Slurm workers") }
            throw XCTSkip("no segflow binary at \(segflowBinary): run `swift build --build-tests` (it builds the worker the jobs run)")
        }
    }

    /// The debug `segflow` built beside the test bundle: what the batch scripts run as workers.
    static var segflowBinary: String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments.first { $0.hasSuffix(".xctest") } ?? CommandLine.arguments[0])
        let beside = bundle.deletingLastPathComponent().path + "/segflow"
        return FileManager.default.isExecutableFile(atPath: beside) ? beside : repo + "/.build/debug/segflow"
    }

    @discardableResult
    static func run(_ tool: String, _ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Every line of the job completion file (finished jobs and array tasks).
    static func completions() throws -> [[String: String]] {
        let client = try SlurmClient()
        return client.jobCompletions().map { SlurmClient.fields($0) }
    }

    /// The job completion file once `done` holds for it: a run ends when its manifests are in, and the
    /// controller logs a task a moment after the worker exits.
    static func completions(until done: ([[String: String]]) -> Bool) async throws -> [[String: String]] {
        let deadline = Date().addingTimeInterval(30)
        var lines = try completions()
        while !done(lines) && Date() < deadline {
            try await Task.sleep(nanoseconds: 200_000_000)
            lines = try completions()
        }
        return lines
    }

    static func options() -> RunOptions {
        var o = RunOptions(threads: 1)
        o.executor = "slurm"
        o.slurm = SlurmOptions(workerBinary: segflowBinary)
        o.slurm.pollMax = 0.5
        return o
    }

    /// A temporary folder under /tmp (the one-node cluster's "shared" filesystem).
    static func tempDirectory(_ label: String) throws -> String {
        let dir = "/tmp/segflow-\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}

/// Output digests of every node of a run, for comparing executors.
func outputDigests(_ s: RunSummary) -> [String: [String: Digest]] {
    Dictionary(uniqueKeysWithValues: s.nodes.map { n in (n.node, n.outputs.mapValues(\.digest)) })
}
