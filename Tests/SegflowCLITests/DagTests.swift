import Foundation
import XCTest

/// `segflow dag`: DOT that Graphviz's own parser accepts, matrix variants as clusters; SVG and Mermaid.
final class DagTests: XCTestCase {
    var dot: String {
        get throws {
            try XCTUnwrap(["/usr/bin/dot", "/usr/local/bin/dot"].first(where: FileManager.default.isExecutableFile),
                          "Graphviz is missing: `make deps` installs it (apt-get install graphviz)")
        }
    }

    func testQuickstartDOTParsesWithGraphvizAndGroupsVariants() throws {
        let tmp = try CLI.tempDir("dag")
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let r = try CLI.run([CLI.binary, "dag", "pipelines/quickstart.yaml", "--cache", tmp + "/cache"], cwd: CLI.repo,
                            environment: CLI.environment())
        XCTAssertEqual(r.status, 0, r.stderr)
        try r.stdout.write(toFile: tmp + "/q.dot", atomically: true, encoding: .utf8)
        // Graphviz parses it (canonical form back), and lays it out.
        let canon = try CLI.run([try dot, "-Tcanon", tmp + "/q.dot"])
        XCTAssertEqual(canon.status, 0, "dot rejects the DOT: \(canon.stderr)\n\(r.stdout)")
        let svg = try CLI.run([try dot, "-Tsvg", tmp + "/q.dot"])
        XCTAssertEqual(svg.status, 0, svg.stderr)
        // One cluster per kind of training mask; shared stages outside; every stage of the YAML drawn.
        XCTAssertEqual(r.stdout.components(separatedBy: "subgraph \"cluster_").count - 1, 3, r.stdout)
        for v in ["masks=fromImageLabels", "masks=fromScribbles", "masks=train"] {
            XCTAssertTrue(r.stdout.contains("label=\"\(v)\""), v)
            XCTAssertTrue(r.stdout.contains("\"\(v)/unet\" [label=\"unet\\nunetTrain\""), v)
        }
        for shared in ["train", "val", "labels", "classifier", "cams", "fromImageLabels", "scribbles", "fromScribbles"] {
            XCTAssertTrue(r.stdout.contains("\n  \"\(shared)\" [label="), "\(shared) is shared by every variant")
        }
        XCTAssertTrue(r.stdout.contains("\"classifier\" -> \"cams\""))
        XCTAssertTrue(r.stdout.contains("\"fromImageLabels\" -> \"masks=fromImageLabels/unet\""))
        // `--format svg` is Graphviz's drawing; mermaid is a flowchart with the same clusters.
        let s = try CLI.run([CLI.binary, "dag", "pipelines/quickstart.yaml", "--format", "svg", "--cache", tmp + "/cache"], cwd: CLI.repo)
        XCTAssertEqual(s.status, 0, s.stderr)
        XCTAssertTrue(s.stdout.contains("<svg") && s.stdout.contains("masks=fromScribbles"))
        let m = try CLI.run([CLI.binary, "dag", "pipelines/quickstart.yaml", "--format", "mermaid", "--cache", tmp + "/cache"], cwd: CLI.repo)
        XCTAssertEqual(m.status, 0, m.stderr)
        XCTAssertTrue(m.stdout.hasPrefix("flowchart LR\n"))
        XCTAssertEqual(m.stdout.components(separatedBy: "subgraph ").count - 1, 3)
    }

    func testSVGWithoutGraphvizIsAClearError() throws {
        let tmp = try CLI.tempDir("dag-nodot")
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let r = try CLI.run([CLI.binary, "dag", "pipelines/quickstart.yaml", "--format", "svg", "--cache", tmp + "/cache"], cwd: CLI.repo,
                            environment: CLI.environment(setting: ["PATH": tmp]))
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("Graphviz's `dot` is not on the PATH"), r.stderr)
        XCTAssertTrue(r.stderr.contains("apt-get install graphviz"), r.stderr)
    }
}
