import Foundation
import XCTest
import SegflowCore
import SegflowGraph
import SegflowSpec
import SegflowStages
import SegflowRemote
@testable import SegflowEngine

/// Counts what the test stages computed, so a test can assert that a run computed nothing.
final class ComputeCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String: [String]] = [:]
    func record(_ stage: String, _ new: [String]) { lock.lock(); items[stage, default: []] += new; lock.unlock() }
    func items(_ stage: String) -> [String] { lock.lock(); defer { lock.unlock() }; return items[stage] ?? [] }
    var total: Int { lock.lock(); defer { lock.unlock() }; return items.values.reduce(0) { $0 + $1.count } }
    func reset() { lock.lock(); items = [:]; lock.unlock() }
}

/// Map Images -> Labels: a label file per item holding the item's name and size (distinct per item).
struct StampStage: StageImplementation {
    let counter: ComputeCounter
    var descriptor = StageDescriptor(
        name: "stamp", version: 1, inputs: [PortSpec("images", .images)], outputs: [PortSpec("labels", .labels)],
        params: [], granularity: .map, summary: "test stage")
    func run(_ call: StageCall) async throws -> StageOutcome {
        counter.record(descriptor.name, call.items)
        let paths = call.itemPaths(port: "images")
        for stem in call.items {
            let size = try FileManager.default.attributesOfItem(atPath: paths[stem]!)[.size] as! Int
            try Data("[\"\(stem)\",\"size:\(size)\"]".utf8).write(to: URL(fileURLWithPath: try call.outputPath(port: "labels", file: "\(stem).json")))
        }
        return StageOutcome()
    }
}

/// Reduce Labels -> Metrics: counts items.
struct TallyStage: StageImplementation {
    let counter: ComputeCounter
    var descriptor = StageDescriptor(
        name: "tally", version: 1, inputs: [PortSpec("labels", .labels)], outputs: [PortSpec("metrics", .metrics)],
        params: [], granularity: .reduce, summary: "test stage")
    func run(_ call: StageCall) async throws -> StageOutcome {
        counter.record(descriptor.name, ["all"])
        try Data("{\"items\": \(call.inputs["labels"]?.count ?? 0)}".utf8)
            .write(to: URL(fileURLWithPath: try call.outputPath(port: "metrics", file: "metrics.json")))
        return StageOutcome()
    }
}

/// A folder of `count` fake images, a pipeline over it, and caches to run it in.
final class RemoteFixture {
    let dir: String
    let counter = ComputeCounter()

    init(items count: Int) throws {
        dir = NSTemporaryDirectory() + "segflow-remote-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        for i in 0..<count {
            try Data(repeating: UInt8(i % 251), count: 50 + i).write(to: URL(fileURLWithPath: String(format: "%@/data/img%05d.png", dir, i)))
        }
        try """
        version: 1
        name: remote
        classes: [a, b]
        stages:
          images: {type: imageFolder, params: {images: data}}
          stamp: {type: stamp, inputs: {images: images.images}}
          tally: {type: tally, inputs: {labels: stamp.labels}}
        """.write(toFile: pipeline, atomically: true, encoding: .utf8)
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    var pipeline: String { dir + "/p.yaml" }

    func engine(cache: String) throws -> Engine {
        var c = StageCatalog()
        c.add(source: ImageFolderStage())
        c.add(StampStage(counter: counter))
        c.add(TallyStage(counter: counter))
        return Engine(workspace: try Workspace(root: dir + "/" + cache), catalog: c)
    }

    func graph(_ engine: Engine) throws -> PipelineGraph {
        try PipelineGraph(spec: try PipelineSpec.load(path: pipeline), registry: engine.catalog.registry)
    }

    /// Runs the pipeline in `cache`, reading through `remote` when given.
    func run(cache: String, remote: (any RemoteStore)? = nil, reporter: RunReporter = SilentReporter()) async throws -> (Engine, RunSummary, RemoteCache?) {
        let e = try engine(cache: cache)
        var options = RunOptions()
        let rc = remote.map { RemoteCache(remote: $0, workspace: e.workspace, concurrency: 8) }
        options.remote = rc
        return (e, try await e.run(try graph(e), options: options, reporter: reporter), rc)
    }
}

/// Collects notes (warnings) a run printed.
final class NoteCollector: RunReporter, @unchecked Sendable {
    private let lock = NSLock()
    private(set) var notes: [String] = []
    func nodeStarted(_ node: String, stage: String, toRun: Int, cached: Int) {}
    func progress(_ node: String, done: Int, total: Int, message: String?) {}
    func nodeFinished(_ node: String, status: String, ran: Int, cached: Int, failed: Int, seconds: Double) {}
    func note(_ text: String) { lock.lock(); notes.append(text); lock.unlock() }
}

/// The segflow executable built beside the test bundle.
func segflowExecutable() throws -> String {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for candidate in [dir, dir.deletingLastPathComponent()] {
        let p = candidate.appendingPathComponent("segflow").path
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    let fallback = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/debug/segflow").path
    guard FileManager.default.isExecutableFile(atPath: fallback) else {
        if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail("the segflow executable is not built") }
        throw XCTSkip("the segflow executable is not built (swift build)")
    }
    return fallback
}
