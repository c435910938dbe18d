import Foundation
import XCTest
import SegflowTestSupport
import SegflowSpec
import SegflowGraph
import SegflowImaging
import SegflowStages
@testable import SegflowEngine

/// Points, boxes and scribbles brought by the user (imageFolder) and densified by seedCRF / boxMasks:
/// every broken file fails only its item, with the file, the entry and a fix; a changed file reruns
/// only its item.
final class WeakLabelStageTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = try makeTemporaryFolder("weak")
        for sub in ["images", "points", "boxes", "scribbles"] {
            try FileManager.default.createDirectory(atPath: "\(dir!)/\(sub)", withIntermediateDirectories: true)
        }
        // Three 32x24 images: left half dark, right half bright.
        var px = [UInt8](repeating: 0, count: 32 * 24 * 3)
        for y in 0..<24 { for x in 16..<32 { for c in 0..<3 { px[(y * 32 + x) * 3 + c] = 230 } } }
        for stem in ["a", "b", "c"] { try ImageIO.writePNG(RGBImage(width: 32, height: 24, pixels: px), to: "\(dir!)/images/\(stem).png") }
    }

    func write(_ text: String, _ path: String) throws { try text.write(toFile: "\(dir!)/\(path)", atomically: true, encoding: .utf8) }

    func pipeline() throws -> String {
        let yaml = """
        version: 1
        name: weak
        classes: [dark, bright]
        stages:
          data: {type: imageFolder, params: {images: images, points: points, boxes: boxes, scribbles: scribbles}}
          fromPoints: {type: seedCRF, inputs: {images: data.images, points: data.points}}
          fromBoxes: {type: boxMasks, inputs: {images: data.images, boxes: data.boxes}}
          fromScribbles: {type: seedCRF, inputs: {images: data.images, scribbles: data.scribbles}}
        """
        try write(yaml, "p.yaml")
        return dir + "/p.yaml"
    }

    func run() async throws -> (RunSummary, Workspace) {
        let workspace = try Workspace(root: dir + "/cache")
        let engine = Engine(workspace: workspace, catalog: try .standard(pluginRoots: []))
        let graph = try PipelineGraph(spec: try PipelineSpec.load(path: try pipeline()), registry: engine.catalog.registry)
        return (try await engine.run(graph, options: RunOptions()), workspace)
    }

    func failures(_ s: RunSummary, _ ws: Workspace, _ node: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for e in try ws.index.executions(run: s.runID, node: node) where e.status == "failed" { out[e.item ?? ""] = e.error ?? "" }
        return out
    }

    func output(_ s: RunSummary, _ ws: Workspace, _ node: String, _ stem: String) throws -> GrayImage {
        let d = try XCTUnwrap(s.node(node)?.outputs["masks"]?.files["\(stem).png"], "\(node) has no mask for \(stem)")
        return try ImageIO.readMask(path: ws.objects.path(of: d))
    }

    func testGoodAnnotationsAreDensifiedAlongTheImageEdge() async throws {
        for stem in ["a", "b", "c"] {
            try write(#"{"points": [{"class": "dark", "x": 4, "y": 12}, {"class": "Bright", "x": 28, "y": 12}]}"#, "points/\(stem).json")
            try write(#"{"boxes": [{"class": "dark", "x0": 0, "y0": 0, "x1": 16, "y1": 24}, {"class": "bright", "x0": 16, "y0": 0, "x1": 32, "y1": 24, "score": 0.8}]}"#, "boxes/\(stem).json")
            var scribble = [UInt8](repeating: 255, count: 32 * 24)
            for y in 4..<20 { scribble[y * 32 + 5] = 0; scribble[y * 32 + 26] = 1 }
            try ImageIO.writePNG(GrayImage(width: 32, height: 24, pixels: scribble), to: "\(dir!)/scribbles/\(stem).png")
        }
        let (s, ws) = try await run()
        for node in ["fromPoints", "fromBoxes", "fromScribbles"] {
            XCTAssertEqual(s.node(node)?.ran, 3, node)
            XCTAssertEqual(try failures(s, ws, node), [:], node)
            let mask = try output(s, ws, node, "a")
            // The CRF spreads the seeds up to the colour edge at x = 16.
            XCTAssertEqual(mask.pixels.filter { $0 == 0 }.count, 16 * 24, node)
            XCTAssertEqual(mask[2, 2], 0, node)
            XCTAssertEqual(mask[30, 22], 1, node)
        }
    }

    func testBrokenAnnotationsFailTheirItemWithTheFileAndAFix() async throws {
        try write(#"{"points": [{"class": "dark", "x": 4, "y": 12}]}"#, "points/a.json")
        try write(#"{"points": [{"class": "dark", "x": 40, "y": 12}]}"#, "points/b.json")
        try write(#"{"points": [{"class": "drak", "x": 4, "y": 2}]}"#, "points/c.json")
        try write(#"{"boxes": [{"class": "dark", "x0": 0, "y0": 0, "x1": 16, "y1": 24}]}"#, "boxes/a.json")
        try write(#"{"boxes": [{"class": "dark", "x0": 0, "y0": 0, "x1": 16, "y1": 24"#, "boxes/b.json")
        try write(#"{"boxes": [{"class": "dark", "x0": 10, "y0": 0, "x1": 10, "y1": 24}]}"#, "boxes/c.json")
        try ImageIO.writePNG(GrayImage(width: 32, height: 24, fill: 255), to: "\(dir!)/scribbles/a.png")
        try ImageIO.writePNG(GrayImage(width: 16, height: 24, fill: 255), to: "\(dir!)/scribbles/b.png")
        try ImageIO.writePNG(GrayImage(width: 32, height: 24, fill: 7), to: "\(dir!)/scribbles/c.png")
        let (s, ws) = try await run()

        let points = try failures(s, ws, "fromPoints")
        XCTAssertEqual(points.keys.sorted(), ["b", "c"])
        XCTAssertTrue(points["b"]!.contains("points/b.json: points[0] at (40, 12) is outside the 32x24 image"), points["b"]!)
        XCTAssertTrue(points["b"]!.contains("fix: pixel coordinates"), points["b"]!)
        XCTAssertTrue(points["b"]!.contains("points/b.json is \(dir!)/points/b.json"), points["b"]!)
        XCTAssertTrue(points["c"]!.contains("class 'drak' is not in inline"), points["c"]!)
        XCTAssertTrue(points["c"]!.contains("did you mean 'dark'?"), points["c"]!)

        let boxes = try failures(s, ws, "fromBoxes")
        XCTAssertEqual(boxes.keys.sorted(), ["b", "c"])
        XCTAssertTrue(boxes["b"]!.contains("boxes/b.json is not valid JSON"), boxes["b"]!)
        XCTAssertTrue(boxes["c"]!.contains("is empty; fix: x0 < x1"), boxes["c"]!)

        let scribbles = try failures(s, ws, "fromScribbles")
        XCTAssertEqual(scribbles.keys.sorted(), ["b", "c"])
        XCTAssertTrue(scribbles["b"]!.contains("scribbles/b.png is 16x24 but its image is 32x24"), scribbles["b"]!)
        XCTAssertTrue(scribbles["c"]!.contains("holds value 7"), scribbles["c"]!)
        // A scribble map with no seed at all says "unknown" everywhere rather than guessing a class.
        XCTAssertEqual(Set(try output(s, ws, "fromScribbles", "a").pixels), [255])
    }

    func testAChangedAnnotationRerunsOnlyItsItem() async throws {
        for stem in ["a", "b", "c"] {
            try write(#"{"points": [{"class": "dark", "x": 4, "y": 12}, {"class": "bright", "x": 28, "y": 12}]}"#, "points/\(stem).json")
        }
        try FileManager.default.removeItem(atPath: dir + "/boxes")
        try FileManager.default.removeItem(atPath: dir + "/scribbles")
        try FileManager.default.createDirectory(atPath: dir + "/boxes", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/scribbles", withIntermediateDirectories: true)
        let (s1, _) = try await run()
        XCTAssertEqual(s1.node("fromPoints")?.ran, 3)
        try write(#"{"points": [{"class": "bright", "x": 28, "y": 12}]}"#, "points/b.json")
        let (s2, _) = try await run()
        XCTAssertEqual(s2.node("fromPoints")?.ran, 1)
        XCTAssertEqual(s2.node("fromPoints")?.cached, 2)
        let (s3, _) = try await run()
        XCTAssertEqual(s3.node("fromPoints")?.ran, 0)
    }
    /// Simulated annotators feed the densifiers: their files are valid Points/Boxes/Scribbles, and the
    /// densified masks recover the two-region truth.
    func testSimulatedAnnotatorsRoundTripThroughTheDensifiers() async throws {
        try FileManager.default.createDirectory(atPath: dir + "/masks", withIntermediateDirectories: true)
        var truth = [UInt8](repeating: 0, count: 32 * 24)
        for y in 0..<24 { for x in 16..<32 { truth[y * 32 + x] = 1 } }
        for stem in ["a", "b", "c"] { try ImageIO.writePNG(GrayImage(width: 32, height: 24, pixels: truth), to: "\(dir!)/masks/\(stem).png") }
        let yaml = """
        version: 1
        name: sim
        classes: [dark, bright]
        stages:
          data: {type: imageFolder, params: {images: images, masks: masks}}
          points: {type: maskPoints, inputs: {masks: data.masks}, params: {minArea: 10}}
          boxes: {type: maskBoxes, inputs: {masks: data.masks}, params: {minArea: 10}}
          scribbles: {type: maskScribbles, inputs: {masks: data.masks}, params: {minArea: 10}}
          fromPoints: {type: seedCRF, inputs: {images: data.images, points: points.points}}
          fromBoxes: {type: boxMasks, inputs: {images: data.images, boxes: boxes.boxes}}
          fromScribbles: {type: seedCRF, inputs: {images: data.images, scribbles: scribbles.scribbles}}
        """
        try write(yaml, "sim.yaml")
        let workspace = try Workspace(root: dir + "/cache")
        let engine = Engine(workspace: workspace, catalog: try .standard(pluginRoots: []))
        let graph = try PipelineGraph(spec: try PipelineSpec.load(path: dir + "/sim.yaml"), registry: engine.catalog.registry)
        let s = try await engine.run(graph, options: RunOptions())
        XCTAssertEqual(s.failed, 0)
        let points = try String(contentsOfFile: workspace.objects.path(of: try XCTUnwrap(s.node("points")?.outputs["points"]?.files["a.json"])), encoding: .utf8)
        // Ties among the deepest pixels are broken by the seed (0): pinned.
        XCTAssertEqual(points, #"{"points":[{"class":"dark","x":8,"y":8},{"class":"bright","x":24,"y":14}]}"# + "\n")
        let boxes = try String(contentsOfFile: workspace.objects.path(of: try XCTUnwrap(s.node("boxes")?.outputs["boxes"]?.files["a.json"])), encoding: .utf8)
        XCTAssertEqual(boxes, #"{"boxes":[{"class":"dark","x0":0,"y0":0,"x1":16,"y1":24},{"class":"bright","x0":16,"y0":0,"x1":32,"y1":24}]}"# + "\n")
        for node in ["fromPoints", "fromBoxes", "fromScribbles"] {
            XCTAssertEqual(try output(s, workspace, node, "b").pixels, truth, node)
        }
    }
}
