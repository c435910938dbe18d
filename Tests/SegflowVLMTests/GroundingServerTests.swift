import XCTest
import SegflowCore
@testable import SegflowVLM

/// vlmGround's client against the scripted server, in both wire formats: answers as Qwen2.5-VL
/// writes them, mapped to golden boxes and points in original pixels.
final class GroundingServerTests: XCTestCase {
    static let classes = ["road", "car", "pole", "tree"]

    func config(_ server: FakeVLMServer, backend: CoTConfig.Backend = .ollama, ask: GroundConfig.Ask = .boxes,
                coordinates: GroundConfig.Coordinates = .pixels, bounds: (min: Int, max: Int)? = nil) -> GroundConfig {
        let c = CoTConfig(backend: backend, url: server.url, model: "qwen2.5vl:7b", temperature: 0, seed: 3, timeout: 5,
                          concurrency: 2, retries: 1, retryBaseDelay: 0.01, retryMaxDelay: 0.05,
                          vocabulary: Self.classes, synonyms: ["automobile": "car"])
        return GroundConfig(connection: c, ask: ask, coordinates: coordinates, pixelBounds: bounds)
    }

    func item(_ stem: String, _ w: Int, _ h: Int, seen: (Int, Int)? = nil, coordinates: GroundConfig.Coordinates = .pixels,
              classes: [String]? = nil) -> GroundItem {
        GroundItem(image: VLMItem(stem: stem, imageData: Data("PNG-\(stem)".utf8), mimeType: "image/png"),
                   frame: GroundingFrame(width: w, height: h, seenWidth: seen?.0 ?? w, seenHeight: seen?.1 ?? h, coordinates: coordinates),
                   classes: classes)
    }

    func ground(_ c: GroundConfig, _ items: [GroundItem]) async throws -> [ItemGrounding] {
        try await VLMGrounder(config: c).ground(items, progress: { _, _ in })
    }

    func testOllamaPixelsOnAResizedFrame() async throws {
        // What the model saw was the 476x364 smart_resize of a 480x360 frame.
        let answer = """
        The image shows a street. Detected objects:
        ```json
        [
          {"bbox_2d": [119, 91, 238, 182], "label": "car"},
          {"bbox_2d": [476, 364, 0, 182], "label": "Road"},
          {"bbox_2d": [-10, -10, 119, 91], "label": "automobiles"},
          {"bbox_2d": [480, 0, 520, 50], "label": "car"},
          {"bbox_2d": [10, 10, 20, 20], "label": "sidewalk"},
          {"point_2d": [5, 5], "label": "pole"}
        ]
        ```
        """
        let server = try FakeVLMServer(rules: [["path": "/api/chat", "responses": [["text": answer]]]])
        defer { server.stop() }
        let out = try await ground(config(server), [item("f1", 480, 360, seen: (476, 364))])
        let r = out[0]
        XCTAssertNil(r.failure)
        XCTAssertEqual(r.boxes, [GroundedBox("car", 120, 90, 240, 180), GroundedBox("road", 0, 180, 480, 360),
                                 GroundedBox("car", 0, 0, 120, 90)])
        XCTAssertEqual(r.points, [], "ask: boxes leaves points out")
        XCTAssertEqual(r.dropped, ["sidewalk"])
        XCTAssertEqual(r.tally.swapped, 1)
        XCTAssertEqual(r.tally.clipped, 1)
        XCTAssertEqual(r.tally.outside, 1, "the box right of the image")
        XCTAssertEqual(r.tally.unasked, 1)

        let body = server.bodies()[0]
        XCTAssertNil(body["format"], "no JSON mode: Ollama's would force an object, Qwen writes a list")
        XCTAssertEqual((body["options"] as? [String: Any])?["seed"] as? Int, 3)
        let message = (body["messages"] as! [[String: Any]])[0]
        let prompt = message["content"] as! String
        XCTAssertTrue(prompt.contains("- road\n- car\n- pole\n- tree"), prompt)
        XCTAssertTrue(prompt.contains("476x364"), "the size the model sees: \(prompt)")
        XCTAssertEqual(Data(base64Encoded: (message["images"] as! [String])[0]), Data("PNG-f1".utf8))
        XCTAssertEqual(r.transcript.steps.map(\.role), ["ground"])
    }

    func testOpenAINormalized1000PointsAndPixelBounds() async throws {
        let answer = #"Points: [{"point_2d": [250, 500], "label": "pole"}, {"point_2d": [1000, 1000], "label": "tree"}, {"point_2d": [1100, 5], "label": "tree"}, {"bbox_2d": [0, 0, 10, 10], "label": "car"}]"#
        let server = try FakeVLMServer(rules: [["path": "/v1/chat/completions", "responses": [["text": answer]]]])
        defer { server.stop() }
        let c = config(server, backend: .openai, ask: .points, coordinates: .normalized1000, bounds: (3136, 1_003_520))
        let out = try await ground(c, [item("k", 200, 100, coordinates: .normalized1000)])
        XCTAssertEqual(out[0].points, [GroundedPoint("pole", 50, 50), GroundedPoint("tree", 199, 99)])
        XCTAssertEqual(out[0].boxes, [])
        XCTAssertEqual(out[0].tally.outside, 1)
        let parts = (server.bodies()[0]["messages"] as! [[String: Any]])[0]["content"] as! [[String: Any]]
        XCTAssertEqual(parts[1]["min_pixels"] as? Int, 3136)
        XCTAssertEqual(parts[1]["max_pixels"] as? Int, 1_003_520)
        XCTAssertTrue((parts[0]["text"] as! String).contains("from 0 to 1000"))
    }

    func testTruncatedAnswerRestrictedClassesAndEmptyLabels() async throws {
        let server = try FakeVLMServer(rules: [
            ["image": "PNG-cut", "responses": [["text": #"[{"bbox_2d": [0, 0, 50, 50], "label": "tree"}, {"bbox_2d": [10, 10, 20, 20], "label": "car"}, {"bbox_2d": [5, 5, 6"#]]],
            ["image": "PNG-prose", "responses": [["text": "Sorry, I can't locate anything."]]],
        ])
        defer { server.stop() }
        let out = try await ground(config(server, ask: .both), [
            item("cut", 100, 100, classes: ["tree"]),
            item("prose", 100, 100),
            item("none", 100, 100, classes: []),
        ])
        XCTAssertEqual(out[0].boxes, [GroundedBox("tree", 0, 0, 50, 50)], "complete entries kept; car was not asked for")
        XCTAssertEqual(out[0].dropped, ["car"])
        XCTAssertEqual(out[0].tally.truncated, 1)
        XCTAssertTrue(out[1].failed)
        XCTAssertTrue(out[1].failure!.contains("no JSON list"), out[1].failure!)
        XCTAssertFalse(out[2].failed, "no classes to look for: an empty answer without asking")
        XCTAssertEqual(out[2].transcript.steps.count, 0)
        let prompts = server.bodies().map { (($0["messages"] as! [[String: Any]])[0]["content"] as! String) }
        XCTAssertEqual(prompts.count, 2)
        let cutPrompt = try XCTUnwrap(prompts.first { !$0.contains("- road") })
        XCTAssertTrue(cutPrompt.contains("- tree") && !cutPrompt.contains("- car"), cutPrompt)
    }

    func testDeadServerAndBadPromptAreOneError() async throws {
        let server = try FakeVLMServer(rules: [])
        server.stop()
        do {
            _ = try await ground(config(server), [item("a", 10, 10), item("b", 10, 10)])
            XCTFail("expected an error")
        } catch {
            XCTAssertTrue("\(error)".contains("cannot reach Ollama"), "\(error)")
        }
        var c = config(server)
        c.prompt = "Find things. {{clases}}"
        XCTAssertThrowsError(try c.compiledPrompt()) { error in
            XCTAssertTrue("\(error)".contains("did you mean {{classes}}"), "\(error)")
        }
    }
}
