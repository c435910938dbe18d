import Foundation
import XCTest
import SegflowTestSupport
import SegflowCore
import SegflowGraph
import SegflowSpec
import SegflowStages
@testable import SegflowEngine

/// cotLabel through the engine against a server speaking Ollama's wire format:
/// a prompt edit asks the model again, and downstream reruns only items whose labels changed.
final class CoTLabelIncrementalTests: XCTestCase {
    var dir: String!
    let counter = ExecutionCounter()

    override func setUpWithError() throws {
        dir = try makeTemporaryFolder("cot")
        try FileManager.default.createDirectory(atPath: dir + "/frames", withIntermediateDirectories: true)
        for s in ["A", "B", "C"] { try Data("IMG_\(s) pixels".utf8).write(to: URL(fileURLWithPath: "\(dir!)/frames/\(s).png")) }
    }

    func run(prompt: String, server: FakeVLMServer) async throws -> RunSummary {
        try prompt.write(toFile: dir + "/prompt.md", atomically: true, encoding: .utf8)
        let yaml = """
        version: 1
        name: cot
        classes: [lawn, curb, soil]
        stages:
          frames: {type: imageFolder, params: {images: frames}}
          cot:
            type: cotLabel
            inputs: {images: frames.images}
            params: {backend: ollama, url: "\(server.url)", model: "llava:13b", prompt: prompt.md, synonyms: {grass: lawn}, retries: 0}
          copy: {type: copyLabels, inputs: {labels: cot.labels}}
        """
        try yaml.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        var catalog = try StageCatalog.standard(pluginRoots: [])
        catalog.add(CopyLabelsStage(counter: counter))
        let engine = Engine(workspace: try Workspace(root: dir + "/cache"), catalog: catalog)
        return try await engine.run(try PipelineGraph(spec: try PipelineSpec.load(path: dir + "/p.yaml"), registry: catalog.registry))
    }

    func testPromptEditRerunsDownstreamOnlyWhereLabelsChanged() async throws {
        let server = try FakeVLMServer(rules: [
            ["prompt": "VERSION 2", "image": "IMG_A", "responses": [["text": "The ground is a curb.\n{\"annotations\": [\"curb\"]}"]]],
            ["prompt": "VERSION", "responses": [["text": "I see grass everywhere. ```json\n{\"annotations\": [\"Grass\", \"dirt\"]}\n```"]]],
        ])
        let s1 = try await run(prompt: "VERSION 1: which of {{classes}}? JSON please.", server: server)
        XCTAssertEqual(s1.node("cot")?.ran, 3)
        XCTAssertEqual(counter.items("copyLabels").sorted(), ["A", "B", "C"])
        let labelA = try String(contentsOfFile: dir + "/cache/results/cot/cot/labels/A.json", encoding: .utf8)
        XCTAssertEqual(labelA, "[\"lawn\"]", "synonym mapped, out-of-vocabulary 'dirt' dropped")
        counter.reset()

        let s2 = try await run(prompt: "VERSION 1: which of {{classes}}? JSON please.", server: server)
        XCTAssertEqual(s2.node("cot")?.cached, 3, "same prompt: nothing is asked again")
        XCTAssertEqual(server.requests().count, 3)

        let s3 = try await run(prompt: "VERSION 2: which of {{classes}}? Think first, then JSON.", server: server)
        XCTAssertEqual(s3.node("cot")?.ran, 3, "a prompt edit asks the model again for every item")
        XCTAssertEqual(counter.items("copyLabels"), ["A"], "only A's labels changed")
        XCTAssertEqual(s3.node("copy")?.cached, 2)
    }

    func testDeadServerIsOneClearError() async throws {
        let server = try FakeVLMServer(rules: [])
        server.stop()
        let s = try await run(prompt: "VERSION 1 {{classes}}", server: server)
        let error = try XCTUnwrap(s.node("cot")?.error)
        XCTAssertTrue(error.contains("cannot reach Ollama"), error)
        XCTAssertEqual(error.components(separatedBy: "cannot reach").count, 2, "one error, not one per image")
    }
}
