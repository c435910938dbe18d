import XCTest
import SegflowCore
@testable import SegflowVLM

/// Describe-then-pick wiring and self-consistency voting.
final class StrategyTests: XCTestCase {
    let description = "From the terrain's view: a grey cement road, grass on both sides, a stone curd along the edge."

    func testDescribeThenPickPassesTheDescriptionToATextOnlyPickModel() async throws {
        let server = try FakeVLMServer(rules: [
            ["model": "llava:13b", "prompt": "perspective of the terrain", "responses": [["text": description]]],
            ["model": "qwen2.5:7b", "prompt": "stone curd", "responses": [["text": "Reasoning... {\"annotations\": [\"cement road\", \"grass\", \"curd\"]}"]]],
        ])
        defer { server.stop() }
        var c = Fixture.config(server)
        c.strategy = .describeThenPick
        c.pickModel = "qwen2.5:7b"
        let out = try await Fixture.run(c, [Fixture.item("k1")])
        XCTAssertEqual(out[0].labels, ["cement road", "lawn", "curb"])

        let bodies = server.bodies()
        XCTAssertEqual(bodies.count, 2)
        let describe = (bodies[0]["messages"] as! [[String: Any]])[0]
        XCTAssertEqual(bodies[0]["model"] as? String, "llava:13b")
        XCTAssertNotNil(describe["images"], "the describe call sees the image")
        XCTAssertNil(bodies[0]["format"], "the chain-of-thought step answers in free text")
        let pick = (bodies[1]["messages"] as! [[String: Any]])[0]
        XCTAssertEqual(bodies[1]["model"] as? String, "qwen2.5:7b")
        XCTAssertNil(pick["images"], "a text-only pick model gets no image")
        XCTAssertEqual(bodies[1]["format"] as? String, "json")
        XCTAssertTrue((pick["content"] as! String).contains(description))

        let steps = out[0].transcript.steps
        XCTAssertEqual(steps.map(\.role), ["describe", "pick"])
        XCTAssertEqual(steps.map(\.model), ["llava:13b", "qwen2.5:7b"])
        XCTAssertEqual(steps[0].image, "<image k1.png>")
        XCTAssertNil(steps[1].image)
        XCTAssertEqual(steps[0].answer, description)
    }

    func testDescribeThenPickWithoutPickModelAsksTheVLMWithTheImage() async throws {
        let server = try FakeVLMServer(rules: [
            ["prompt": "Description:", "responses": [["text": "{\"annotations\": [\"water\"]}"]]],
            ["responses": [["text": "a pond"]]],
        ])
        defer { server.stop() }
        var c = Fixture.config(server, backend: .openai, model: "qwen2.5-vl-7b")
        c.strategy = .describeThenPick
        let out = try await Fixture.run(c, [Fixture.item("k2")])
        XCTAssertEqual(out[0].labels, ["water"])
        let bodies = server.bodies()
        XCTAssertEqual(bodies.map { $0["model"] as? String }, ["qwen2.5-vl-7b", "qwen2.5-vl-7b"])
        let parts = (bodies[1]["messages"] as! [[String: Any]])[0]["content"] as! [[String: Any]]
        XCTAssertTrue((parts[0]["text"] as! String).contains("a pond"))
        XCTAssertEqual(parts[1]["type"] as? String, "image_url")
    }

    func testThreeSamplesKeepTheStrictMajority() async throws {
        let server = try FakeVLMServer(rules: [
            ["seed": 7, "responses": [["text": "{\"annotations\": [\"lawn\", \"curb\"]}"]]],
            ["seed": 8, "responses": [["text": "{\"annotations\": [\"lawn\", \"soil\"]}"]]],
            ["seed": 9, "responses": [["text": "{\"annotations\": [\"lawns\", \"curb\", \"water\", \"dirt\"]}"]]],
        ])
        defer { server.stop() }
        var c = Fixture.config(server)
        c.samples = 3
        let out = try await Fixture.run(c, [Fixture.item("s")])
        XCTAssertEqual(out[0].labels, ["lawn", "curb"])
        XCTAssertEqual(out[0].rawAnswers.count, 3)
        XCTAssertEqual(out[0].dropped, ["dirt"])
        XCTAssertEqual(out[0].transcript.steps.map(\.sample), [0, 1, 2])
        let seeds = server.bodies().compactMap { ($0["options"] as? [String: Any])?["seed"] as? Int }
        XCTAssertEqual(seeds, [7, 8, 9])
    }

    func testInvalidTemplateThrowsBeforeAnyRequest() async throws {
        let server = try FakeVLMServer(rules: [["responses": [["text": "{}"]]]])
        defer { server.stop() }
        var c = Fixture.config(server)
        c.prompt = "labels from {{vocab}}"
        do {
            _ = try await Fixture.run(c, [Fixture.item("a")])
            XCTFail("an unknown placeholder must throw")
        } catch let error as SegflowError {
            XCTAssertTrue("\(error)".contains("unknown placeholder {{vocab}}"), "\(error)")
        }
        XCTAssertEqual(server.requests().count, 0)
    }
}
