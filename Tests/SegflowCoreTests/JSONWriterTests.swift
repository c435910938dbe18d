import Foundation
import XCTest
import SegflowCore

/// The streaming JSON writer: valid JSON for awkward strings, no `\/`, chunks that add up to the document.
final class JSONWriterTests: XCTestCase {
    func testEscapesParseBackAndChunksJoin() throws {
        let awkward = ["a/b", "quote \" back \\ slash", "tab\tnew\nline\r", "\u{1}\u{1f}", "马路牙子 é", ""]
        var chunks: [[UInt8]] = []
        var w = JSONWriter(chunk: 16) { chunks.append($0) }
        w.beginObject()
        w.key("empty"); w.beginArray(); w.endArray()
        w.key("none"); w.beginObject(); w.endObject()
        w.key("strings"); w.strings(awkward)
        w.key("n"); w.int(-42)
        w.key("b"); w.bool(true)
        w.key("z"); w.null()
        w.key("raw"); w.raw("{\"x\":0.25}")
        w.endObject()
        w.flush()
        XCTAssertGreaterThan(chunks.count, 3, "written in pieces")
        let text = String(decoding: chunks.joined(), as: UTF8.self)
        XCTAssertFalse(text.contains("\\/"))
        XCTAssertTrue(text.contains("\"empty\" : [],\n  \"none\" : {},"), text)
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        XCTAssertEqual(obj["strings"] as? [String], awkward)
        XCTAssertEqual(obj["n"] as? Int, -42)
        XCTAssertEqual(obj["b"] as? Bool, true)
        XCTAssertTrue(obj["z"] is NSNull)
        XCTAssertEqual((obj["raw"] as? [String: Any])?["x"] as? Double, 0.25)
    }
}
