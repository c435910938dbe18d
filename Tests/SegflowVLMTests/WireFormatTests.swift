import XCTest
import SegflowCore
@testable import SegflowVLM

/// What goes over the socket, checked on the fake server's side.
final class WireFormatTests: XCTestCase {
    func testOllamaDirectRequestAndChainOfThoughtAnswer() async throws {
        let server = try FakeVLMServer(rules: [
            ["model": "llava:13b", "responses": [["text": "I see grass and a curd along a cement road.\n{\"annotations\": [\"grass\", \"curd\", \"Cement Road\"]}"]]],
        ])
        defer { server.stop() }
        var c = Fixture.config(server)
        c.maxTokens = 300
        let item = Fixture.item("0001")
        let out = try await Fixture.run(c, [item])
        XCTAssertEqual(out[0].labels, ["cement road", "lawn", "curb"])
        XCTAssertNil(out[0].failure)

        let requests = server.requests()
        XCTAssertEqual(requests.count, 1)
        XCTAssertEqual(requests[0]["path"] as? String, "/api/chat")
        let headers = requests[0]["headers"] as! [String: String]
        XCTAssertNil(headers["authorization"], "no key, no Authorization header")
        let body = requests[0]["body"] as! [String: Any]
        XCTAssertEqual(body["model"] as? String, "llava:13b")
        XCTAssertEqual(body["stream"] as? Bool, false)
        XCTAssertEqual(body["format"] as? String, "json")
        let options = body["options"] as! [String: Any]
        XCTAssertEqual(options["temperature"] as? Double, 0.5)
        XCTAssertEqual(options["seed"] as? Int, 7)
        XCTAssertEqual(options["num_predict"] as? Int, 300)
        XCTAssertNil(body["temperature"]); XCTAssertNil(body["seed"])
        let message = (body["messages"] as! [[String: Any]])[0]
        XCTAssertEqual(message["role"] as? String, "user")
        XCTAssertTrue((message["content"] as! String).contains("- red paved path\n- yellow paved path"))
        let images = message["images"] as! [String]
        XCTAssertEqual(Data(base64Encoded: images[0]), item.imageData)

        let step = out[0].transcript.steps[0]
        XCTAssertEqual(step.role, "direct")
        XCTAssertEqual(step.image, "<image 0001.png>")
        XCTAssertEqual(step.seed, 7)
        let json = String(decoding: try out[0].transcript.jsonData(), as: UTF8.self)
        XCTAssertFalse(json.contains(images[0]), "the image is never embedded in a transcript")
    }

    func testOllamaJSONModeOffSendsNoFormat() async throws {
        let server = try FakeVLMServer(rules: [["responses": [["text": "{\"annotations\": [\"soil\"]}"]]]])
        defer { server.stop() }
        var c = Fixture.config(server)
        c.jsonMode = false
        c.temperature = nil; c.seed = nil
        _ = try await Fixture.run(c, [Fixture.item("a")])
        let body = server.bodies()[0]
        XCTAssertNil(body["format"])
        XCTAssertNil(body["options"])
    }

    func testOpenAIRequestWithKeyAndFencedAnswer() async throws {
        let key = "sk-test-SECRET-4242"
        let server = try FakeVLMServer(rules: [
            ["path": "/v1/chat/completions", "responses": [["text": "Sure.\n```json\n{\"annotations\": [\"lawns\", \"water\"]}\n```"]]],
        ])
        defer { server.stop() }
        var c = Fixture.config(server, backend: .openai, model: "qwen2.5-vl-72b-instruct", url: server.url + "/v1/")
        c.apiKey = key
        c.maxTokens = 200
        let item = VLMItem(stem: "f1", imageData: Data([0xFF, 0xD8, 0xFF, 0x00]), mimeType: "image/jpeg")
        let out = try await Fixture.run(c, [item])
        XCTAssertEqual(out[0].labels, ["lawn", "water"])

        let request = server.requests()[0]
        XCTAssertEqual(request["path"] as? String, "/v1/chat/completions")
        XCTAssertEqual((request["headers"] as! [String: String])["authorization"], "Bearer \(key)")
        let body = request["body"] as! [String: Any]
        XCTAssertEqual(body["temperature"] as? Double, 0.5)
        XCTAssertEqual(body["seed"] as? Int, 7)
        XCTAssertEqual(body["max_tokens"] as? Int, 200)
        XCTAssertNil(body["format"]); XCTAssertNil(body["options"]); XCTAssertNil(body["response_format"])
        let parts = (body["messages"] as! [[String: Any]])[0]["content"] as! [[String: Any]]
        XCTAssertEqual(parts[0]["type"] as? String, "text")
        XCTAssertEqual(parts[1]["type"] as? String, "image_url")
        let url = (parts[1]["image_url"] as! [String: Any])["url"] as! String
        XCTAssertEqual(url, "data:image/jpeg;base64," + item.imageData.base64EncodedString())

        let transcript = String(decoding: try out[0].transcript.jsonData(), as: UTF8.self)
        XCTAssertFalse(transcript.contains(key))
        XCTAssertEqual(out[0].transcript.steps[0].image, "<image f1.jpg>")
    }

    func testOpenAIWithoutKeySendsNoAuthorization() async throws {
        let server = try FakeVLMServer(rules: [["responses": [["text": "{\"annotations\": []}"]]]])
        defer { server.stop() }
        var c = Fixture.config(server, backend: .openai, model: "qwen2.5-vl-7b")
        c.apiKey = ""
        let out = try await Fixture.run(c, [Fixture.item("a")])
        XCTAssertEqual(out[0].labels, [], "an empty list is a valid answer")
        XCTAssertNil((server.requests()[0]["headers"] as! [String: String])["authorization"])
    }

    func testKeyEchoedByA401NeverReachesTheError() async throws {
        let key = "sk-live-SECRET-9999"
        let server = try FakeVLMServer(rules: [["responses": [["status": 401, "text": "Incorrect API key provided: \(key)"]]]])
        defer { server.stop() }
        var c = Fixture.config(server, backend: .openai, model: "qwen")
        c.apiKey = key
        c.concurrency = 1
        do {
            _ = try await Fixture.run(c, [Fixture.item("a"), Fixture.item("b")])
            XCTFail("a refused key stops the call")
        } catch let error as SegflowError {
            let text = "\(error)"
            XCTAssertTrue(text.contains("refused the request (HTTP 401)"), text)
            XCTAssertTrue(text.contains("<redacted>"), text)
            XCTAssertFalse(text.contains(key), text)
        }
        XCTAssertEqual(server.requests().count, 1, "401 is not retried and stops the call after one request")
    }

    func testLargeImageTravelsIntactOnBothBackends() async throws {
        let server = try FakeVLMServer(rules: [["responses": [["text": "{\"annotations\": [\"soil\"]}"]]]])
        defer { server.stop() }
        var bytes = [UInt8](repeating: 0, count: 3 << 19)
        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 2654435761 >> 13) }
        let item = VLMItem(stem: "big", imageData: Data(bytes), mimeType: "image/png")
        for backend in CoTConfig.Backend.allCases {
            let started = Date()
            let out = try await Fixture.run(Fixture.config(server, backend: backend), [item])
            XCTAssertEqual(out[0].labels, ["soil"], backend.rawValue)
            XCTAssertLessThan(Date().timeIntervalSince(started), 4, "no Expect: 100-continue stall")
        }
        let bodies = server.bodies()
        let ollamaImage = ((bodies[0]["messages"] as! [[String: Any]])[0]["images"] as! [String])[0]
        XCTAssertEqual(Data(base64Encoded: ollamaImage), item.imageData)
        let parts = (bodies[1]["messages"] as! [[String: Any]])[0]["content"] as! [[String: Any]]
        let url = (parts[1]["image_url"] as! [String: Any])["url"] as! String
        XCTAssertEqual(Data(base64Encoded: String(url.dropFirst("data:image/png;base64,".count))), item.imageData)
    }
}
