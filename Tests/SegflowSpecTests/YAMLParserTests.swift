import XCTest
import SegflowCore
@testable import SegflowSpec

/// libyaml-backed parsing: locations, core-schema scalars, anchors, duplicate keys.
final class YAMLParserTests: XCTestCase {
    func testLocationsAreOneBased() throws {
        let root = try YAMLParser.parse("a: 1\nb:\n  c: [x, \"y\"]\n", file: "t.yaml")
        XCTAssertEqual(root["a"]?.location, SourceLocation(file: "t.yaml", line: 1, column: 4))
        XCTAssertEqual(root["b"]?["c"]?.sequence?[1].location, SourceLocation(file: "t.yaml", line: 3, column: 10))
    }

    func testPlainScalarsResolveButQuotedStayStrings() throws {
        let root = try YAMLParser.parse("i: 3\nf: 0.5\nb: true\nn: ~\nq: \"3\"\ns: hello\n", file: "t")
        XCTAssertEqual(root["i"]?.resolved, .int(3))
        XCTAssertEqual(root["f"]?.resolved, .double(0.5))
        XCTAssertEqual(root["b"]?.resolved, .bool(true))
        XCTAssertEqual(root["n"]?.resolved, .null)
        XCTAssertEqual(root["q"]?.resolved, .string("3"))
        XCTAssertEqual(root["s"]?.resolved, .string("hello"))
    }

    func testAnchorsAndAliases() throws {
        let root = try YAMLParser.parse("base: &b {x: 1}\nuse: *b\n", file: "t")
        XCTAssertEqual(root["use"]?.resolved, .map(["x": .int(1)]))
    }

    func testDuplicateKeysAndSyntaxErrorsNameTheLine() {
        XCTAssertThrowsError(try YAMLParser.parse("a: 1\na: 2\n", file: "d.yaml")) { e in
            XCTAssertEqual("\(e)", "d.yaml:2:1: error: duplicate key 'a' (first defined at line 1)\n  fix: keep one of the two; names must be unique")
        }
        XCTAssertThrowsError(try YAMLParser.parse("a: [1, 2\n", file: "s.yaml")) { e in
            XCTAssertTrue("\(e)".hasPrefix("s.yaml:2:1: error: YAML syntax"), "\(e)")
        }
    }
}
