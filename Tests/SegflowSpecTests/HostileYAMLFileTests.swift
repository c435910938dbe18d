import Foundation
import XCTest
import SegflowTestSupport
import SegflowCore
@testable import SegflowSpec

/// Hostile YAML files (issue 13), through the loader a command uses (`PipelineSpec.load`): huge files,
/// invalid UTF-8, tabs, duplicate keys, params that need themselves. Each is one located error with a
/// fix (exit 2), in bounded time; `HostileCLITests` runs the same files through the binary and measures
/// its memory.
final class HostileYAMLFileTests: XCTestCase {
    var dir: String!
    override func setUpWithError() throws {
        dir = try makeTemporaryFolder("hostile")
    }

    func write(_ name: String, _ data: Data) throws -> String {
        let path = dir + "/" + name
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The errors of loading `path` (structure and YAML; the graph is not built here).
    func errors(_ path: String) -> [Diagnostic] {
        do {
            let spec = try PipelineSpec.load(path: path)
            return spec.diagnostics.filter { $0.severity == .error }
        } catch SegflowError.diagnostics(let ds) {
            return ds
        } catch {
            XCTFail("unexpected \(error)"); return []
        }
    }

    /// Loading fails within 2 s with an error at `line:column` whose message contains `message` and
    /// which carries a fix.
    func assertError(_ path: String, line: Int, column: Int? = nil, _ message: String, count: Int = 1,
                     sourceLine: UInt = #line) {
        let start = Date()
        let ds = errors(path)
        XCTAssertLessThan(Date().timeIntervalSince(start), 2, line: sourceLine)
        XCTAssertEqual(ds.count, count, "\(ds)", line: sourceLine)
        guard let d = ds.first(where: { $0.message.contains(message) }) else {
            return XCTFail("no error containing '\(message)' in \(ds)", line: sourceLine)
        }
        XCTAssertEqual(d.location?.file, path, line: sourceLine)
        XCTAssertEqual(d.location?.line, line, "\(d)", line: sourceLine)
        if let column { XCTAssertEqual(d.location?.column, column, "\(d)", line: sourceLine) }
        XCTAssertNotNil(d.hint, "\(d)", line: sourceLine)
        XCTAssertEqual(SegflowError.diagnostics(ds).exitCode, 2, line: sourceLine)
    }

    static let head = "version: 1\nname: h\nclasses: [a]\n"

    func testAFileAboveTheSizeLimitIsRefusedBeforeItIsRead() throws {
        // 100 MB in one scalar: refused from its size, without reading it.
        let path = dir + "/huge.yaml"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data((Self.head + "description: \"").utf8)))
        let h = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        h.seekToEndOfFile()
        let block = Data(repeating: UInt8(ascii: "x"), count: 1 << 20)
        for _ in 0..<100 { h.write(block) }
        h.write(Data("\"\nstages: {}\n".utf8))
        try h.close()
        assertError(path, line: 1, column: 1, "above the limit of \(YAMLParser.maxBytes) bytes")
        XCTAssertThrowsError(try YAMLParser.parse(String(repeating: "x", count: YAMLParser.maxBytes + 1), file: "t.yaml")) {
            XCTAssertTrue("\($0)".hasPrefix("t.yaml:1:1: error: the file is"), "\($0)")
        }
    }

    func testALargeScalarBelowTheLimitStillParses() throws {
        let big = String(repeating: "y", count: 8 << 20)
        let path = try write("big.yaml", Data((Self.head + "description: \(big)\nstages: {s: {type: t}}\n").utf8))
        XCTAssertEqual(errors(path).map(\.message), [])
    }

    func testInvalidUTF8IsReportedAtItsLineAndColumn() throws {
        // "café" in Latin-1 on line 4: the byte 0xe9 is the 4th character of `x: caf?`.
        var bytes = Data((Self.head + "description: caf").utf8)
        bytes.append(0xE9)
        bytes.append(contentsOf: Data("\nstages: {}\n".utf8))
        let path = try write("latin1.yaml", bytes)
        assertError(path, line: 4, column: 17, "invalid UTF-8: byte 0xe9")
        // A lone continuation byte, an overlong '/', a surrogate, and a sequence cut off at the end.
        for (bad, column) in [([0x80], 1), ([0xC0, 0xAF], 1), ([0xED, 0xA0, 0x80], 1), ([0xF0, 0x9F], 1)] as [([UInt8], Int)] {
            let path = try write("bad.yaml", Data((Self.head + "d: ").utf8) + Data(bad))
            assertError(path, line: 4, column: 3 + column, "invalid UTF-8: byte 0x\(String(format: "%02x", bad[0]))")
        }
    }

    func testTabsForIndentationSayToUseSpaces() throws {
        let path = try write("tabs.yaml", Data((Self.head + "stages:\n\timages: {type: imageFolder}\n").utf8))
        assertError(path, line: 5, column: 1, "(a tab)")
        XCTAssertEqual(errors(path).first?.hint, "YAML does not allow tabs for indentation: indent with spaces")
        // A tab after a colon is plain whitespace, and fine.
        XCTAssertEqual(try YAMLParser.parse("a:\t1\n", file: "t")["a"]?.resolved, .int(1))
    }

    func testDuplicateKeysAreAllReportedQuickly() throws {
        // 20,000 copies of one key (HostileCLITests gives the binary 100,000): each is reported, at its line.
        var text = Self.head + "stages:\n  s: {type: t}\n"
        for _ in 0..<20_000 { text += "  s: {type: t}\n" }
        let path = try write("dups.yaml", Data(text.utf8))
        assertError(path, line: 6, column: 3, "duplicate key 's' (first defined at line 5)", count: 20_000)
    }

    func testParamsThatNeedThemselvesAreOneErrorNamingTheChain() throws {
        let path = try write("cycle.yaml", Data((Self.head + """
        params:
          root: "${params.train}/.."
          train: "${params.root}/train"
          self: "${params.self}"
          ok: "${params.base}/x"
          base: data
        stages: {s: {type: t, params: {p: "${params.ok}"}}}

        """).utf8))
        let ds = errors(path)
        XCTAssertEqual(ds.count, 2, "\(ds)")
        XCTAssertEqual(ds.map(\.location?.line), [6, 7], "at the param that closes the loop, and at the one naming itself")
        XCTAssertTrue(ds.contains { $0.message == "param 'train' refers to itself through 'root' -> 'train' -> 'root'" }, "\(ds)")
        XCTAssertTrue(ds.contains { $0.message == "param 'self' refers to itself through 'self' -> 'self'" }, "\(ds)")
        XCTAssertTrue(ds.allSatisfy { $0.hint?.contains("not itself") == true })
        let spec = try PipelineSpec.load(path: path)
        XCTAssertEqual(spec.params["ok"]?.scalar, "data/x", "params that use params are expanded")
    }

    func testAParamMayUseAnotherAndKeepsItsType() throws {
        let path = try write("p.yaml", Data((Self.head + """
        params: {n: 3, m: "${params.n}", names: [a, b], all: "${params.names}", path: "${params.m}/x"}
        stages: {s: {type: t}}

        """).utf8))
        let spec = try PipelineSpec.load(path: path)
        XCTAssertEqual(spec.diagnostics, [])
        XCTAssertEqual(spec.params["m"]?.resolved, .int(3))
        XCTAssertEqual(spec.params["all"]?.resolved, .list([.string("a"), .string("b")]))
        XCTAssertEqual(spec.params["path"]?.scalar, "3/x")
        XCTAssertEqual(try PipelineSpec.load(path: path, overrides: ["n": "5"]).params["path"]?.scalar, "5/x",
                       "a --param override flows into the params that use it")
    }

    func testALongChainOfParamsIsBoundedNotAStackOverflow() throws {
        var text = Self.head + "params:\n"
        // 5,000 links here (HostileCLITests gives the binary 100,000): one error, no deep recursion.
        for i in 0..<5_000 { text += "  p\(i): \"${params.p\(i + 1)}\"\n" }
        text += "  p5000: end\nstages: {s: {type: t}}\n"
        let path = try write("chain.yaml", Data(text.utf8))
        let start = Date()
        let ds = errors(path)
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)
        XCTAssertEqual(ds.count, 1, "\(ds.prefix(3))")
        XCTAssertTrue(ds.first?.message.contains("more than \(ParamReferences.maxChain) deep") == true, "\(ds)")
    }

    func testAClassesFileThatIsThePipelineItselfIsAClearError() throws {
        let path = try write("self.yaml", Data("version: 1\nname: s\nclasses: self.yaml\nstages: {s: {type: t}}\n".utf8))
        let ds = errors(path)
        XCTAssertEqual(ds.count, 1, "\(ds)")
        XCTAssertTrue(ds.first?.message.contains("needs a 'classes:' list") == true, "\(ds)")
    }
}
