import XCTest
import SegflowCore
@testable import SegflowVLM

/// Servers that misbehave on the wire (issue 13): connections dropped before or during the reply, bytes
/// that are not HTTP, bodies that are not JSON, a reply trickled past the deadline, a huge reply. Each
/// fails only its item, clearly, in bounded time; the other items are labelled.
final class HostileServerTests: XCTestCase {
    let ok = ["text": "{\"annotations\": [\"lawn\"]}"]

    /// Labels "bad" (answered by `response`) and "good" with one retry; returns both results and the time.
    func label(_ response: [String: Any], timeout: Double = 5) async throws -> (bad: ItemLabels, good: ItemLabels, seconds: Double, requests: Int) {
        let server = try FakeVLMServer(rules: [["image": "of-bad", "responses": [response]], ["responses": [ok]]])
        defer { server.stop() }
        var c = Fixture.config(server)
        c.retries = 1
        c.timeout = timeout
        let start = Date()
        let out = try await Fixture.run(c, [Fixture.item("bad"), Fixture.item("good")])
        return (out[0], out[1], Date().timeIntervalSince(start), server.requests().count)
    }

    func assertItemFailed(_ r: (bad: ItemLabels, good: ItemLabels, seconds: Double, requests: Int), _ text: String,
                          line: UInt = #line) {
        XCTAssertNil(r.bad.labels, line: line)
        XCTAssertTrue(r.bad.failure.map { text.isEmpty || $0.contains(text) } == true, r.bad.failure ?? "no failure", line: line)
        XCTAssertEqual(r.good.labels, ["lawn"], "the other item is labelled", line: line)
    }

    func testAConnectionDroppedBeforeTheReplyIsRetriedThenFailsTheItem() async throws {
        let r = try await label(["drop": true])
        assertItemFailed(r, "after 1 retry")
        XCTAssertEqual(r.bad.retries, 1)
        // The bad item twice, the good one once; libcurl may resend a request once itself when a reused
        // connection dies before any reply.
        XCTAssertTrue((3...4).contains(r.requests), "\(r.requests) requests")
    }

    func testAReplyCutOffMidwayFailsTheItem() async throws {
        let r = try await label(["text": "{\"annotations\": [\"lawn\"]}", "cut": 20])
        assertItemFailed(r, "after 1 retry")
    }

    func testBytesThatAreNotHTTPFailTheItem() async throws {
        assertItemFailed(try await label(["raw": "SSH-2.0-OpenSSH_9.2\r\n"]), "after 1 retry")
        assertItemFailed(try await label(["raw": "HTTP/1.1 200 OK\r\nContent-Length: nonsense\r\n\r\n{}"]), "Content-Length")
    }

    func testABodyThatIsNotTheAPIsJSONFailsTheItemWithoutRetrying() async throws {
        let r = try await label(["body": "<html>502 Bad Gateway</html>"])
        assertItemFailed(r, "no answer text in the reply: <html>502 Bad Gateway</html>")
        XCTAssertEqual(r.bad.retries, 0, "a 200 that is not the API's JSON is no transient failure")
        let r2 = try await label(["body": "{\"choices\": \"not a list\"}"])
        assertItemFailed(r2, "no answer text in the reply")
    }

    func testAReplyTrickledPastTheDeadlineIsCutAtTheDeadline() async throws {
        // One byte every 0.1 s: the idle timer never fires, the per-request deadline (1 s) does.
        let r = try await label(["text": "{\"annotations\": [\"lawn\"]}", "trickle": 0.1], timeout: 1)
        assertItemFailed(r, "timeout")
        XCTAssertLessThan(r.seconds, 4.5, "two attempts of at most 1 s each, plus the good item")
    }
}
