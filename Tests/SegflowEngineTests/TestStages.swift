import Foundation
import SegflowCore
import SegflowGraph
import SegflowStages
@testable import SegflowEngine

/// Counts what test stages computed, per stage type, so tests can assert exactly what reran.
final class ExecutionCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String: [String]] = [:]
    private var calls: [String: Int] = [:]
    func record(_ stage: String, items new: [String]) {
        lock.lock(); items[stage, default: []] += new; calls[stage, default: 0] += 1; lock.unlock()
    }
    func items(_ stage: String) -> [String] { lock.lock(); defer { lock.unlock() }; return items[stage] ?? [] }
    func calls(_ stage: String) -> Int { lock.lock(); defer { lock.unlock() }; return calls[stage] ?? 0 }
    func reset() { lock.lock(); items = [:]; calls = [:]; lock.unlock() }
}

/// Map Images -> Labels: writes `["size:<bytes % modulo>", tag]`. `modulo` lets a param change keep outputs equal.
struct SizeLabelStage: StageImplementation {
    let counter: ExecutionCounter
    var descriptor = StageDescriptor(
        name: "sizeLabel", version: 1, inputs: [PortSpec("images", .images)], outputs: [PortSpec("labels", .labels)],
        params: [ParamSpec("tag", .string, default: .string("a")), ParamSpec("modulo", .int, default: .int(1_000_000), min: 1)],
        granularity: .map, summary: "test stage")
    func run(_ call: StageCall) async throws -> StageOutcome {
        counter.record(descriptor.name, items: call.items)
        let paths = call.itemPaths(port: "images")
        for stem in call.items {
            let size = (try FileManager.default.attributesOfItem(atPath: paths[stem]!)[.size] as! Int) % call.int("modulo")
            try Data("[\"size:\(size)\",\"\(call.string("tag"))\"]".utf8).write(to: URL(fileURLWithPath: try call.outputPath(port: "labels", file: "\(stem).json")))
        }
        return StageOutcome()
    }
}

/// Reduce Labels -> Metrics: counts items.
struct CountStage: StageImplementation {
    let counter: ExecutionCounter
    var descriptor = StageDescriptor(
        name: "countLabels", version: 1, inputs: [PortSpec("labels", .labels)], outputs: [PortSpec("metrics", .metrics)],
        params: [], granularity: .reduce, summary: "test stage")
    func run(_ call: StageCall) async throws -> StageOutcome {
        counter.record(descriptor.name, items: call.items)
        let n = call.inputs["labels"]?.count ?? 0
        try Data("{\"items\": \(n)}".utf8).write(to: URL(fileURLWithPath: try call.outputPath(port: "metrics", file: "metrics.json")))
        return StageOutcome(metrics: ["items": .int(Int64(n))])
    }
}

/// Map Labels -> Labels: copies its input, to see early cutoff downstream.
struct CopyLabelsStage: StageImplementation {
    let counter: ExecutionCounter
    var descriptor = StageDescriptor(
        name: "copyLabels", version: 1, inputs: [PortSpec("labels", .labels)], outputs: [PortSpec("labels", .labels)],
        params: [], granularity: .map, summary: "test stage")
    func run(_ call: StageCall) async throws -> StageOutcome {
        counter.record(descriptor.name, items: call.items)
        for (stem, path) in call.itemPaths(port: "labels") where call.items.contains(stem) {
            try FileManager.default.copyItem(atPath: path, toPath: try call.outputPath(port: "labels", file: "\(stem).json"))
        }
        return StageOutcome()
    }
}
