import Foundation
import XCTest
import SegflowTestSupport
import SegflowCore
import SegflowGraph
import SegflowSpec
import SegflowStages
@testable import SegflowEngine

/// Workers that crash, hang, print garbage or report errors fail their node clearly and commit nothing.
final class PluginWorkerTests: XCTestCase {
    var dir: String!
    static let pluginDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/plugins/fake").path

    override func setUpWithError() throws {
        dir = try makeTemporaryFolder("plugin")
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        for i in 0..<3 { try Data([UInt8(i)]).write(to: URL(fileURLWithPath: "\(dir!)/data/im\(i).png")) }
        setenv("FAKE_COUNTER_DIR", dir, 1)
    }

    func run(mode: String) async throws -> (RunSummary, Workspace) {
        var catalog = StageCatalog()
        catalog.add(source: ImageFolderStage())
        let plugin = try Plugin.load(directory: Self.pluginDir)
        for d in plugin.stages { catalog.add(PluginStage(descriptor: d, plugin: plugin)) }
        let yaml = """
        version: 1
        name: fake
        classes: [x]
        stages:
          images: {type: imageFolder, params: {images: data}}
          labels: {type: fakeLabel, inputs: {images: images.images}, params: {mode: \(mode)}}
        """
        try yaml.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        let ws = try Workspace(root: dir + "/cache")
        let engine = Engine(workspace: ws, catalog: catalog)
        let graph = try PipelineGraph(spec: try PipelineSpec.load(path: dir + "/p.yaml"), registry: catalog.registry)
        return (try await engine.run(graph), ws)
    }

    func assertFails(mode: String, containing text: String) async throws {
        let (s, ws) = try await run(mode: mode)
        let node = try XCTUnwrap(s.node("labels"))
        XCTAssertEqual(node.status, "failed")
        XCTAssertTrue(node.error?.contains(text) == true, "error was: \(node.error ?? "nil")")
        XCTAssertTrue(node.outputs.isEmpty)
        let committed = try await ws.index.db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM results WHERE node = 'labels'") }
        XCTAssertEqual(committed, 0, "nothing from a failed call is committed")
    }

    func testHealthyWorkerRunsOnceThenIsCached() async throws {
        let (s1, _) = try await run(mode: "ok")
        XCTAssertEqual(s1.node("labels")?.ran, 3)
        let (s2, _) = try await run(mode: "ok")
        XCTAssertEqual(s2.node("labels")?.cached, 3)
        let calls = try String(contentsOfFile: dir + "/calls.txt", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(calls, ["im0 im1 im2"], "one call for all missing items, none when cached")
    }

    func testCrashingWorker() async throws { try await assertFails(mode: "crash", containing: "exited with status 3") }
    func testHangingWorkerIsStoppedAtItsTimeout() async throws { try await assertFails(mode: "hang", containing: "did not finish within 3 s") }
    func testGarbageOnStdout() async throws { try await assertFails(mode: "garbage", containing: "not a protocol event") }
    func testErrorEventCarriesTracebackTail() async throws { try await assertFails(mode: "error", containing: "ValueError: boom") }
    func testExitWithoutResult() async throws { try await assertFails(mode: "silent", containing: "without sending a result") }
}
import GRDB
