import Foundation
import XCTest
import SegflowSpec
import SegflowGraph
import SegflowImaging
import SegflowStages
@testable import SegflowEngine

/// A native stage that meets a broken dataset file names the user's file, not a store object.
final class ItemFailureTests: XCTestCase {
    func testACorruptMaskIsReportedWithItsDatasetPath() async throws {
        let dir = NSTemporaryDirectory() + "segflow-fail-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/images", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/masks", withIntermediateDirectories: true)
        for stem in ["a", "b"] { try ImageIO.writePNG(RGBImage(width: 4, height: 4, fill: (9, 9, 9)), to: "\(dir)/images/\(stem).png") }
        try ImageIO.writePNG(GrayImage(width: 4, height: 4, fill: 1), to: "\(dir)/masks/a.png")
        try Data("<html>not an image</html>".utf8).write(to: URL(fileURLWithPath: "\(dir)/masks/b.png"))
        let yaml = """
        version: 1
        name: broken
        classes: [a, b, c]
        stages:
          data: {type: imageFolder, params: {images: images, masks: masks}}
          labels: {type: maskLabels, inputs: {masks: data.masks}}
        """
        try yaml.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        let workspace = try Workspace(root: dir + "/cache")
        let engine = Engine(workspace: workspace, catalog: try .standard(pluginRoots: []))
        let graph = try PipelineGraph(spec: try PipelineSpec.load(path: dir + "/p.yaml"), registry: engine.catalog.registry)
        let summary = try await engine.run(graph, options: RunOptions())
        XCTAssertEqual(summary.node("labels")?.failed, 1)
        let failures = try workspace.index.executions(run: summary.runID, node: "labels").filter { $0.status == "failed" }
        XCTAssertEqual(failures.map(\.item), ["b"])
        let message = try XCTUnwrap(failures.first?.error)
        XCTAssertTrue(message.contains("not a PNG or JPEG file"), message)
        XCTAssertTrue(message.contains("masks/b.png is \(dir)/masks/b.png"), message)
    }
}
