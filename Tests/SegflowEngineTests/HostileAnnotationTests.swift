import Foundation
import XCTest
import SegflowTestSupport
import SegflowCore
import SegflowGraph
import SegflowImaging
import SegflowSpec
import SegflowStages
@testable import SegflowEngine

/// Hostile annotation exports (issue 13): a COCO file whose numbers overflow Int (sizes of 2^32 x 2^32,
/// boxes at 1e300) is a clear error or a clipped box, never a trap that takes the process down.
final class HostileAnnotationTests: XCTestCase {
    var dir: String!
    override func setUpWithError() throws {
        dir = try makeTemporaryFolder("hostile-annot")
        try FileManager.default.createDirectory(atPath: dir + "/images", withIntermediateDirectories: true)
        try ImageIO.writePNG(RGBImage(width: 8, height: 6, fill: (1, 2, 3)), to: dir + "/images/a.png")
    }

    func run(coco: String) async throws -> RunSummary {
        try coco.write(toFile: dir + "/coco.json", atomically: true, encoding: .utf8)
        try """
        version: 1
        name: coco
        classes: [background, car]
        stages:
          coco: {type: cocoAnnotations, params: {file: coco.json, images: images}}
        """.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        let engine = Engine(workspace: try Workspace(root: dir + "/cache"), catalog: try .standard(pluginRoots: []))
        let graph = try PipelineGraph(spec: try PipelineSpec.load(path: dir + "/p.yaml"), registry: engine.catalog.registry)
        return try await engine.run(graph)
    }

    func testSizesWhoseProductOverflowsAreRefused() async throws {
        let coco = #"{"images": [{"id": 1, "file_name": "a.png", "width": 4294967296, "height": 4294967296}], "annotations": [], "categories": [{"id": 1, "name": "car"}]}"#
        do {
            _ = try await run(coco: coco)
            XCTFail("no error")
        } catch let e as SegflowError {
            XCTAssertEqual(e.exitCode, 2)
            XCTAssertTrue("\(e)".contains("images[0] says 4294967296x4294967296, above the limit of 100000000 pixels"), "\(e)")
            XCTAssertTrue("\(e)".contains("SEGFLOW_MAX_PIXELS"), "\(e)")
        }
    }

    func testABoxAt1e300IsClippedToTheImage() async throws {
        let coco = #"{"images": [{"id": 1, "file_name": "a.png", "width": 8, "height": 6}], "categories": [{"id": 1, "name": "car"}], "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [-1e300, 2, 2e300, 3], "segmentation": [[-1e300, 0, 1e300, 0, 1e300, 1e300]]}]}"#
        let s = try await run(coco: coco)
        let boxes = try XCTUnwrap(s.node("coco")?.outputs["boxes"]?.files["a.json"], s.node("coco")?.error ?? "")
        let ws = try Workspace(root: dir + "/cache")
        XCTAssertEqual(String(decoding: try ws.objects.read(boxes), as: UTF8.self),
                       "{\"boxes\":[{\"class\":\"car\",\"x0\":0,\"y0\":2,\"x1\":8,\"y1\":5}]}\n")
    }
}
