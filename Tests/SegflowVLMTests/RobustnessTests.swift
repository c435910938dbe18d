import XCTest
import SegflowCore
@testable import SegflowVLM

/// Retries, timeouts, dead servers and bad answers.
final class RobustnessTests: XCTestCase {
    let ok = ["text": "{\"annotations\": [\"lawn\"]}"]

    func testHTTP500TwiceThenSuccessCountsTwoRetries() async throws {
        let server = try FakeVLMServer(rules: [["responses": [["status": 500], ["status": 503], ok]]])
        defer { server.stop() }
        let out = try await Fixture.run(Fixture.config(server), [Fixture.item("a")])
        XCTAssertEqual(out[0].labels, ["lawn"])
        XCTAssertEqual(out[0].retries, 2)
        XCTAssertEqual(out[0].transcript.steps[0].retries, 2)
        XCTAssertEqual(server.requests().count, 3)
    }

    func testHTTP429IsRetried() async throws {
        let server = try FakeVLMServer(rules: [["responses": [["status": 429, "text": "slow down"], ok]]])
        defer { server.stop() }
        let out = try await Fixture.run(Fixture.config(server, backend: .openai, model: "qwen"), [Fixture.item("a")])
        XCTAssertEqual(out[0].labels, ["lawn"])
        XCTAssertEqual(out[0].retries, 1)
    }

    func testHTTP400IsNotRetriedAndFailsOnlyThatItem() async throws {
        let server = try FakeVLMServer(rules: [
            ["image": "of-bad", "responses": [["status": 400, "text": "image too large"]]],
            ["responses": [ok]],
        ])
        defer { server.stop() }
        let out = try await Fixture.run(Fixture.config(server), [Fixture.item("bad"), Fixture.item("good")])
        XCTAssertNil(out[0].labels)
        XCTAssertEqual(out[0].retries, 0)
        XCTAssertTrue(out[0].failure!.contains("HTTP 400: image too large"), out[0].failure!)
        XCTAssertEqual(out[1].labels, ["lawn"])
        XCTAssertEqual(server.requests().count, 2)
    }

    func testSlowReplyTimesOutRetriesThenFailsThatItem() async throws {
        let server = try FakeVLMServer(rules: [
            ["image": "of-slow", "responses": [["text": "{\"annotations\": [\"soil\"]}", "delay": 3]]],
            ["responses": [ok]],
        ])
        defer { server.stop() }
        var c = Fixture.config(server)
        c.timeout = 0.5
        c.retries = 1
        let started = Date()
        let out = try await Fixture.run(c, [Fixture.item("slow"), Fixture.item("fast")])
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertLessThan(elapsed, 2.9, "the deadline cut the slow replies short")
        XCTAssertGreaterThanOrEqual(elapsed, 1.0, "two attempts, each waited out its full 0.5 s")
        XCTAssertNil(out[0].labels)
        XCTAssertEqual(out[0].retries, 1)
        XCTAssertTrue(out[0].failure!.contains("timeout"), out[0].failure!)
        XCTAssertTrue(out[0].failure!.contains("after 1 retry"), out[0].failure!)
        XCTAssertEqual(out[1].labels, ["lawn"])
        let rules = server.requests().map { $0["rule"] as? Int }
        XCTAssertEqual(rules.filter { $0 == 0 }.count, 2, "the slow item: the first attempt and one retry")
        XCTAssertEqual(rules.filter { $0 == 1 }.count, 1, "the fast item: one request")
    }

    func testDeadServerGivesExactlyOneClearError() async throws {
        let server = try FakeVLMServer(rules: [])
        let port = server.port
        server.stop()
        var c = Fixture.config(nil, url: "http://127.0.0.1:\(port)/")
        c.retries = 1
        let calls = Counter()
        do {
            _ = try await CoTLabeler(config: c).label((0..<6).map { Fixture.item("i\($0)") }) { _, _ in calls.bump() }
            XCTFail("a dead server must throw")
        } catch let error as SegflowError {
            XCTAssertEqual("\(error)", "error: cannot reach Ollama at http://127.0.0.1:\(port): connection refused; is \"ollama serve\" running?")
        }
        XCTAssertEqual(calls.value, 0, "no item was reported done")

        c.backend = .openai
        do {
            _ = try await Fixture.run(c, [Fixture.item("a")])
            XCTFail("a dead server must throw")
        } catch let error as SegflowError {
            XCTAssertEqual("\(error)", "error: cannot reach the OpenAI-compatible server at http://127.0.0.1:\(port): connection refused; is the server running?")
        }
    }

    func testUnknownOllamaModelStopsTheCallWithAHint() async throws {
        let server = try FakeVLMServer(rules: [["responses": [["status": 404, "text": "model \"llava:13b\" not found, try pulling it first"]]]])
        defer { server.stop() }
        do {
            _ = try await Fixture.run(Fixture.config(server), [Fixture.item("a")])
            XCTFail("404 must throw")
        } catch let error as SegflowError {
            XCTAssertTrue("\(error)".contains("ollama pull llava:13b"), "\(error)")
        }
    }

    func testGarbageMarksTheItemFailedWithTheRawAnswerKept() async throws {
        let garbage = "I think it is a road with some grass, maybe."
        let server = try FakeVLMServer(rules: [
            ["image": "of-bad", "responses": [["text": garbage]]],
            ["responses": [["text": "{\"annotations\": [\"lawn\", \"dirt\", \"mud\", \"curbs\"]}"]]],
        ])
        defer { server.stop() }
        var c = Fixture.config(server)
        let progress = Counter()
        let out = try await CoTLabeler(config: c).label([Fixture.item("bad"), Fixture.item("good")]) { done, total in
            XCTAssertEqual(total, 2); progress.bump()
        }
        XCTAssertEqual(progress.value, 2)
        XCTAssertNil(out[0].labels)
        XCTAssertEqual(out[0].rawAnswers, [garbage])
        XCTAssertTrue(out[0].failure!.contains("no JSON object"), out[0].failure!)
        XCTAssertEqual(out[1].labels, ["lawn", "curb"])
        XCTAssertEqual(out[1].dropped, ["dirt", "mud"])

        c.strict = true
        c.concurrency = 1
        do {
            _ = try await Fixture.run(c, [Fixture.item("bad")])
            XCTFail("strict must throw on an unparseable answer")
        } catch SegflowError.stageFailed(let node, let item, let message) {
            XCTAssertEqual(node, "cotLabel")
            XCTAssertEqual(item, "bad")
            XCTAssertTrue(message.contains(garbage), message)
        }
    }
}

extension RobustnessTests {
    func testResultsKeepInputOrderAndProgressCountsEveryItem() async throws {
        let server = try FakeVLMServer(rules: [
            ["image": "of-i0", "responses": [["text": "{\"annotations\": [\"water\"]}", "delay": 0.4]]],
            ["image": "of-i1", "responses": [["text": "{\"annotations\": [\"soil\"]}", "delay": 0.2]]],
            ["responses": [["text": "{\"annotations\": [\"curb\"]}"]]],
        ])
        defer { server.stop() }
        var c = Fixture.config(server)
        c.concurrency = 3
        let seen = Recorder()
        let delivered = Recorder()
        let out = try await CoTLabeler(config: c).label((0..<5).map { Fixture.item("i\($0)") },
                                                        progress: { done, total in seen.add(done, total) },
                                                        onItem: { i, r in delivered.add(i, r.labels?.count ?? -1) })
        XCTAssertEqual(Set(delivered.values.map { $0[0] }), [0, 1, 2, 3, 4], "every item is handed over as it finishes")
        XCTAssertEqual(out.map(\.stem), ["i0", "i1", "i2", "i3", "i4"])
        XCTAssertEqual(out.map { $0.labels ?? [] }, [["water"], ["soil"], ["curb"], ["curb"], ["curb"]])
        XCTAssertEqual(seen.values, [1, 2, 3, 4, 5].map { [$0, 5] })
    }

    func testCancellingTheTaskStopsInFlightRequests() async throws {
        let server = try FakeVLMServer(rules: [["responses": [["text": "{\"annotations\": []}", "delay": 10]]]])
        defer { server.stop() }
        var c = Fixture.config(server)
        c.timeout = 30
        let started = Date()
        let task = Task { try await Fixture.run(c, [Fixture.item("a"), Fixture.item("b")]) }
        try await Task.sleep(nanoseconds: 300_000_000)
        task.cancel()
        do {
            _ = try await task.value
            XCTFail("a cancelled call must throw")
        } catch SegflowError.cancelled {
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    }
}

final class Recorder: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [[Int]] = []
    func add(_ a: Int, _ b: Int) { lock.lock(); seen.append([a, b]); lock.unlock() }
    var values: [[Int]] { lock.lock(); defer { lock.unlock() }; return seen }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func bump() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}
