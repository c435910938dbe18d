import Foundation
import XCTest
import SegflowTestSupport

/// Hostile pipeline files through the real binary (`segflow plan`), as a user meets them: each is one
/// `file:line:col: error:` with a fix, exit 2, within 2 s and 200 MB of the process's own peak memory.
/// The figures are printed (`hostile: ...` lines) for RELIABILITY.md.
final class HostileCLITests: XCTestCase {
    var dir: String!
    override func setUpWithError() throws {
        dir = try makeTemporaryFolder("hostile-cli")
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
    }

    static let head = "version: 1\nname: h\nclasses: [a]\n"
    static let maxSeconds = 2.0, maxBytes = 200 << 20

    /// Writes `name`, runs `segflow plan` on it and checks the answer and its cost.
    func assertRefused(_ name: String, _ content: Data, line: Int, _ message: String, sourceLine: UInt = #line) throws {
        let path = dir + "/" + name
        try content.write(to: URL(fileURLWithPath: path))
        let binary = try MeasuredProcess.segflowBinary()
        let r = try MeasuredProcess.run(binary, ["plan", name, "--cache", dir + "/cache"], directory: dir)
        print(String(format: "hostile: %@ (%d bytes): exit %d in %.2f s, peak RSS %.1f MB (%@)", name, content.count, r.status,
                     r.seconds, Double(r.maxRSS) / 1e6, binary))
        XCTAssertEqual(r.status, 2, r.stderr, line: sourceLine)
        XCTAssertTrue(r.stderr.hasPrefix("\(name):\(line):"), String(r.stderr.prefix(400)), line: sourceLine)
        let first = r.stderr.split(separator: "\n").first.map(String.init) ?? ""
        XCTAssertTrue(first.contains(": error: ") && first.contains(message), first, line: sourceLine)
        XCTAssertTrue(r.stderr.contains("\n  fix: "), String(r.stderr.prefix(400)), line: sourceLine)
        XCTAssertLessThan(r.seconds, Self.maxSeconds * MeasuredProcess.slowdown(of: binary), name, line: sourceLine)
        XCTAssertLessThan(r.maxRSS, Self.maxBytes, name, line: sourceLine)
    }

    func testAliasBombAndDeepNesting() throws {
        var bomb = Self.head + "a0: &a0 [" + Array(repeating: "lol", count: 10).joined(separator: ", ") + "]\n"
        for l in 1..<9 { bomb += "a\(l): &a\(l) [" + Array(repeating: "*a\(l - 1)", count: 10).joined(separator: ", ") + "]\n" }
        try assertRefused("bomb.yaml", Data(bomb.utf8), line: 7, "YAML aliases expand too much")
        try assertRefused("deep.yaml", Data((Self.head + "x: " + String(repeating: "[", count: 100_000)).utf8),
                          line: 4, "YAML nested deeper than 512 levels")
    }

    func testHugeFilesAndScalars() throws {
        var huge = Data((Self.head + "description: \"").utf8)
        huge.append(Data(repeating: UInt8(ascii: "x"), count: 100 << 20))
        huge.append(Data("\"\nstages: {}\n".utf8))
        try assertRefused("huge.yaml", huge, line: 1, "above the limit of 16777216 bytes")
        // Just below the limit: read and parsed in full, then the (wrong) stage type is the error.
        var large = Data((Self.head + "description: \"").utf8)
        large.append(Data(repeating: UInt8(ascii: "y"), count: (16 << 20) - 200))
        large.append(Data("\"\nstages: {s: {type: imageFoldr}}\n".utf8))
        try assertRefused("large.yaml", large, line: 5, "unknown stage type 'imageFoldr'")
    }

    func testEncodingTabsAndDuplicates() throws {
        var latin1 = Data((Self.head + "description: caf").utf8)
        latin1.append(0xE9)
        latin1.append(Data("\nstages: {}\n".utf8))
        try assertRefused("latin1.yaml", latin1, line: 4, "invalid UTF-8")
        try assertRefused("tabs.yaml", Data((Self.head + "stages:\n\ts: {type: imageFolder}\n").utf8), line: 5, "(a tab)")
        var dups = Self.head + "stages:\n  s: {type: imageFolder, params: {images: data}}\n"
        for _ in 0..<100_000 { dups += "  s: {type: imageFolder, params: {images: data}}\n" }
        try assertRefused("dups.yaml", Data(dups.utf8), line: 6, "duplicate key 's'")
    }

    func testParamsThatNeedThemselves() throws {
        let text = Self.head + """
        params: {a: "${params.b}/x", b: "${params.a}/y"}
        stages: {s: {type: imageFolder, params: {images: "${params.a}"}}}

        """
        try assertRefused("cycle.yaml", Data(text.utf8), line: 4, "refers to itself through 'a' -> 'b' -> 'a'")
        var chain = Self.head + "params:\n"
        for i in 0..<100_000 { chain += "  p\(i): \"${params.p\(i + 1)}\"\n" }
        chain += "  p100000: end\nstages: {s: {type: imageFolder, params: {images: \"${params.p0}\"}}}\n"
        try assertRefused("chain.yaml", Data(chain.utf8), line: 69, "params use params more than 64 deep")
    }

    /// Names that would put results (links) outside `results/<pipeline>/`: matrix values and item stems.
    func testOutputPathsThatEscapeTheResultsFolder() throws {
        let matrix = Self.head + """
        matrix: {v: [ok, "x/../../../../../escaped"]}
        stages: {s: {type: imageFolder, params: {images: data, limit: 1}}, t: {type: maskLabels, inputs: {masks: s.masks}, params: {minFraction: "${matrix.v}"}}}

        """
        try assertRefused("matrix.yaml", Data(matrix.utf8), line: 4, "matrix value 'x/../../../../../escaped'")
        try "stem,labels\n../../../../../../tmp/escaped,a\n".write(toFile: dir + "/labels.csv", atomically: true, encoding: .utf8)
        let labels = Self.head + "stages: {l: {type: labelFile, params: {file: labels.csv}}}\n"
        let path = dir + "/labels.yaml"
        try labels.write(toFile: path, atomically: true, encoding: .utf8)
        let r = try MeasuredProcess.run(try MeasuredProcess.segflowBinary(), ["run", "labels.yaml", "--cache", dir + "/cache"], directory: dir)
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("error: l: ") && r.stderr.contains("labels.csv:2 gives the item file name"), r.stderr)
        XCTAssertTrue(r.stderr.contains("fix: "), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/escaped.json"))
    }
}
