import Foundation
import XCTest
import SegflowCore
@testable import SegflowSpec

/// Hostile YAML (issue 13): alias bombs and deep nesting are refused with a located error, in bounded
/// time and memory, instead of expanding without end or overflowing the stack.
final class HostileYAMLTests: XCTestCase {
    /// "Billion laughs": `levels` anchors of `fanout` aliases each to the one before (fanout^levels leaves).
    static func aliasBomb(levels: Int = 9, fanout: Int = 10) -> String {
        var text = "a0: &a0 [" + Array(repeating: "lol", count: fanout).joined(separator: ", ") + "]\n"
        for l in 1..<levels {
            text += "a\(l): &a\(l) [" + Array(repeating: "*a\(l - 1)", count: fanout).joined(separator: ", ") + "]\n"
        }
        return text
    }

    /// Asserts that parsing `text` fails within 2 s with one user error (exit 2) at `file:line:`, whose
    /// message contains `message` and which has a fix; returns its location.
    @discardableResult
    func assertRefused(_ text: String, file: String, line: Int, _ message: String,
                       sourceLine: UInt = #line) -> SourceLocation? {
        let start = Date()
        var location: SourceLocation?
        XCTAssertThrowsError(try YAMLParser.parse(text, file: file), line: sourceLine) { e in
            let shown = "\(e)"
            XCTAssertTrue(shown.hasPrefix("\(file):\(line):"), shown, line: sourceLine)
            XCTAssertTrue(shown.contains(": error: \(message)"), shown, line: sourceLine)
            XCTAssertTrue(shown.contains("\n  fix: "), shown, line: sourceLine)
            XCTAssertEqual((e as? SegflowError)?.exitCode, 2, line: sourceLine)
            if case SegflowError.diagnostics(let ds) = e {
                XCTAssertEqual(ds.count, 1, shown, line: sourceLine)
                location = ds.first?.location
            }
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 2, line: sourceLine)
        return location
    }

    func testAnAliasBombIsRefusedAtTheAliasThatExceedsTheLimit() throws {
        let text = Self.aliasBomb()
        XCTAssertLessThan(text.utf8.count, 1000)
        // Over 1,000 nodes of which over 99 % come from aliases: the first alias of level 3 (line 4).
        assertRefused(text, file: "bomb.yaml", line: 4, "YAML aliases expand too much: *a2")
    }

    func testAliasesWithinTheLimitStillExpand() throws {
        // 3 levels of 10: 1,000 leaves from aliases; and a shared anchor used often in a large document.
        let root = try YAMLParser.parse(Self.aliasBomb(levels: 3), file: "t")
        XCTAssertEqual(root["a2"]?.sequence?.count, 10)
        XCTAssertEqual(root["a2"]?.sequence?[9].sequence?[9].sequence?[9].scalar, "lol")
        var many = "base: &b {lr: 0.1, epochs: 3}\n"
        for i in 0..<2000 { many += "s\(i): {x: \(i), p: *b}\n" }
        XCTAssertEqual(try YAMLParser.parse(many, file: "t")["s1999"]?["p"]?["epochs"]?.resolved, .int(3))
    }

    func testDeepNestingIsRefusedWithoutOverflowingTheStack() throws {
        let n = 100_000, limit = YAMLParser.maxDepth
        let closed = String(repeating: "[", count: n) + String(repeating: "]", count: n)
        XCTAssertEqual(assertRefused(closed, file: "deep.yaml", line: 1, "YAML nested deeper than \(limit) levels")?.column,
                       limit + 1, "the first '[' too deep")
        assertRefused(String(repeating: "[", count: n), file: "deep.yaml", line: 1, "YAML nested deeper than \(limit) levels")
        let mappings = String(repeating: "{a: ", count: n) + "1" + String(repeating: "}", count: n)
        assertRefused(mappings, file: "deep.yaml", line: 1, "YAML nested deeper than \(limit) levels")
    }

    func testDepthThroughAnAliasCounts() throws {
        // Each half is within the limit; the alias puts one inside the other.
        let half = YAMLParser.maxDepth / 2 + 10
        let deep = String(repeating: "[", count: half) + "x" + String(repeating: "]", count: half)
        let text = "a: &a \(deep)\nb: " + String(repeating: "[", count: half) + "*a" + String(repeating: "]", count: half) + "\n"
        assertRefused(text, file: "d.yaml", line: 2, "YAML nested deeper than \(YAMLParser.maxDepth) levels (the alias *a")
    }

    func testNestingUpToTheLimitParsesAndResolves() throws {
        let n = YAMLParser.maxDepth - 1
        let root = try YAMLParser.parse("k: " + String(repeating: "[", count: n) + "x" + String(repeating: "]", count: n), file: "t")
        var v = root["k"]!.resolved
        var depth = 0
        while case .list(let items) = v { v = items[0]; depth += 1 }
        XCTAssertEqual(depth, n)
        XCTAssertEqual(v, .string("x"))
    }
}
