import Foundation
import XCTest
import SegflowCore
@testable import SegflowSpec

/// `executor:` at the top of a pipeline and on stages: merged field by field, every mistake at its line and column.
final class ExecutorSettingsTests: XCTestCase {
    func load(_ yaml: String) throws -> (PipelineSpec, String) {
        let path = NSTemporaryDirectory() + "segflow-executor-\(UUID().uuidString.prefix(8)).yaml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return (try PipelineSpec.load(path: path), path)
    }

    func testStageSettingsOverThePipelineDefaults() throws {
        let (spec, _) = try load("""
        version: 1
        classes: [a]
        executor: {kind: slurm, partition: cpu, time: "01:00:00", retries: 1}
        stages:
          a: {type: t, executor: {partition: gpu, gpus: 1, cpus: 4, mem: 16G, shardSize: 50}}
          b: {type: t, executor: local}
        """)
        XCTAssertEqual(spec.diagnostics.map(\.message), [])
        let a = spec.stages[0].executor.merged(over: spec.executor)
        XCTAssertEqual(a, ExecutorSettings(kind: "slurm", partition: "gpu", time: "01:00:00", cpus: 4, mem: "16G", gpus: 1,
                                           shardSize: 50, retries: 1))
        XCTAssertEqual(spec.stages[1].executor.merged(over: spec.executor).kind, "local")
    }

    func testEveryMistakeIsReportedWhereItWasWritten() throws {
        let (spec, path) = try load("""
        version: 1
        classes: [a]
        stages:
          a: {type: t, executor: {kind: slurmm, cpus: 0, mem: lots, time: "2 hours", partiton: gpu}}
        """)
        let d = spec.diagnostics.map { "\($0.location.map { "\($0.line):\($0.column)" } ?? "-") \($0.message) | \($0.hint ?? "")" }
        XCTAssertEqual(d.count, 5, d.joined(separator: "\n"))
        XCTAssertTrue(d.contains { $0.hasPrefix("4:33 unknown executor kind 'slurmm'") && $0.contains("did you mean 'slurm'?") }, d.joined(separator: "\n"))
        XCTAssertTrue(d.contains { $0.hasPrefix("4:47 executor 'cpus' of stage 'a' must be a whole number of at least 1") }, d.joined(separator: "\n"))
        XCTAssertTrue(d.contains { $0.hasPrefix("4:55 executor 'mem' of stage 'a'") }, d.joined(separator: "\n"))
        XCTAssertTrue(d.contains { $0.contains("executor 'time' of stage 'a' must be a Slurm time limit") }, d.joined(separator: "\n"))
        XCTAssertTrue(d.contains { $0.contains("unknown key 'partiton'") && $0.contains("did you mean 'partition'?") }, d.joined(separator: "\n"))
        XCTAssertTrue(spec.diagnostics.allSatisfy { $0.location?.file == path })
    }
}
