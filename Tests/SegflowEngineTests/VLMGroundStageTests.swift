import Foundation
import XCTest
import SegflowTestSupport
import SegflowCore
import SegflowGraph
import SegflowImaging
import SegflowSpec
import SegflowStages
@testable import SegflowEngine

/// vlmGround through the engine against a server speaking the OpenAI wire format: images sent at
/// their Qwen2.5-VL smart_resize size (one scaled down, one up), the picked labels restricting each
/// request, answers mapped back to golden Boxes and Points that boxMasks then densifies.
final class VLMGroundStageTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = try makeTemporaryFolder("ground")
        try FileManager.default.createDirectory(atPath: dir + "/frames", withIntermediateDirectories: true)
        // 240x180 -> 140x112 (above 20000 pixels: scaled down); 100x60 -> 196x112 (below: scaled up).
        for (stem, w, h) in [("big", 240, 180), ("small", 100, 60)] {
            var img = RGBImage(width: w, height: h, fill: (90, 90, 90))
            for y in 0..<h / 2 { for x in 0..<w { img.pixels[(y * w + x) * 3] = 200 } }
            try ImageIO.writePNG(img, to: "\(dir!)/frames/\(stem).png")
        }
        try "big,car;road\nsmall,tree\n".write(toFile: dir + "/picked.csv", atomically: true, encoding: .utf8)
    }

    func run(_ server: FakeVLMServer) async throws -> RunSummary {
        let yaml = """
        version: 1
        name: ground
        classes: [road, car, tree, pole]
        stages:
          frames: {type: imageFolder, params: {images: frames}}
          picked: {type: labelFile, params: {file: picked.csv}}
          ground:
            type: vlmGround
            inputs: {images: frames.images, labels: picked.labels}
            params: {backend: openai, url: "\(server.url)/v1", model: qwen2.5-vl-7b-instruct, ask: both,
                     resize: qwen, minPixels: 20000, maxPixels: 20000, synonyms: {trees: tree}, retries: 0}
          masks: {type: boxMasks, inputs: {images: frames.images, boxes: ground.boxes}, params: {iterations: 2}}
        """
        try yaml.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        let catalog = try StageCatalog.standard(pluginRoots: [])
        let engine = Engine(workspace: try Workspace(root: dir + "/cache"), catalog: catalog)
        return try await engine.run(try PipelineGraph(spec: try PipelineSpec.load(path: dir + "/p.yaml"), registry: catalog.registry))
    }

    func result(_ port: String, _ stem: String) throws -> String {
        try String(contentsOfFile: "\(dir!)/cache/results/ground/ground/\(port)/\(stem).json", encoding: .utf8)
    }

    func testSmartResizedFramesGroundToGoldenBoxesAndRunCached() async throws {
        let server = try FakeVLMServer(rules: [
            ["prompt": "140x112", "responses": [["text": """
            Found them.
            [{"bbox_2d": [35, 28, 70, 56], "label": "car"}, {"bbox_2d": [140, 112, 70, 56], "label": "road"},
             {"bbox_2d": [0, 0, 10, 10], "label": "tree"}, {"point_2d": [70, 56], "label": "car"}]
            """]]],
            ["prompt": "196x112", "responses": [["text": "```json\n[{\"point_2d\": [98, 56], \"label\": \"trees\"}, {\"bbox_2d\": [0, 0, 196, 112], \"label\": \"tree\"}, {\"point_2d\": [49, 2"]]],
        ])
        defer { server.stop() }
        let s1 = try await run(server)
        for n in s1.nodes where n.status == "failed" || n.failed > 0 { XCTFail("\(n.node): \(n.error ?? "")") }
        XCTAssertEqual(s1.node("ground")?.ran, 2)
        XCTAssertEqual(s1.node("masks")?.ran, 2)
        // Seen pixels x 240/140 and x 180/112 (big), x 100/196 and x 60/112 (small); road's corners swapped;
        // tree was not picked for big: dropped.
        XCTAssertEqual(try result("boxes", "big"),
                       #"{"boxes":[{"class":"car","x0":60,"y0":45,"x1":120,"y1":90},{"class":"road","x0":120,"y0":90,"x1":240,"y1":180}]}"# + "\n")
        XCTAssertEqual(try result("points", "big"), #"{"points":[{"class":"car","x":120,"y":90}]}"# + "\n")
        XCTAssertEqual(try result("boxes", "small"), #"{"boxes":[{"class":"tree","x0":0,"y0":0,"x1":100,"y1":60}]}"# + "\n")
        XCTAssertEqual(try result("points", "small"), #"{"points":[{"class":"tree","x":50,"y":30}]}"# + "\n",
                       "the point cut off mid-object is not kept")

        let requests = server.bodies()
        XCTAssertEqual(requests.count, 2)
        var sizes: [String] = []
        for body in requests {
            let parts = (body["messages"] as! [[String: Any]])[0]["content"] as! [[String: Any]]
            let prompt = parts[0]["text"] as! String
            XCTAssertEqual(parts[1]["min_pixels"] as? Int, 20000)
            XCTAssertEqual(parts[1]["max_pixels"] as? Int, 20000)
            let url = (parts[1]["image_url"] as! [String: Any])["url"] as! String
            XCTAssertTrue(url.hasPrefix("data:image/png;base64,"))
            let png = try XCTUnwrap(Data(base64Encoded: String(url.dropFirst("data:image/png;base64,".count))))
            let sent = try ImageIO.decodeRGB(data: png, name: "sent")
            sizes.append("\(sent.width)x\(sent.height)")
            XCTAssertTrue(prompt.contains("\(sent.width)x\(sent.height)"), "the prompt names the size sent")
            if sent.width == 140 {
                XCTAssertTrue(prompt.contains("- road\n- car") && !prompt.contains("- tree"), "only big's picked labels: \(prompt)")
            } else {
                XCTAssertTrue(prompt.contains("- tree") && !prompt.contains("- car"), prompt)
            }
        }
        XCTAssertEqual(sizes.sorted(), ["140x112", "196x112"])

        let s2 = try await run(server)
        XCTAssertEqual(s2.ran, 0, "a second run is all cached")
        XCTAssertEqual(server.requests().count, 2, "and asks nothing")
    }
}
