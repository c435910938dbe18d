import Foundation
import XCTest
import SegflowCore
import SegflowGraph
import SegflowSpec
import SegflowStages
@testable import SegflowEngine

/// `compare`: one row per variant, sorted by the metric, best marked; snapshots of each format.
final class CompareTests: XCTestCase {
    func testCompareTableMarkdownCSV() async throws {
        let dir = NSTemporaryDirectory() + "segflow-cmp-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        try Data([1]).write(to: URL(fileURLWithPath: dir + "/data/a.png"))
        let yaml = """
        version: 1
        name: cmp
        classes: [a]
        matrix:
          method: [m1, m2]
          quality: ["0.25", "0.5"]
        stages:
          images: {type: imageFolder, params: {images: data}}
          labels: {type: sizeLabel, inputs: {images: images.images}, params: {tag: "${matrix.method}"}}
          eval: {type: score, inputs: {labels: labels.labels}, params: {miou: "${matrix.quality}"}}
        """
        try yaml.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        var c = StageCatalog()
        c.add(source: ImageFolderStage()); c.add(SizeLabelStage(counter: ExecutionCounter())); c.add(ScoreStage())
        let ws = try Workspace(root: dir + "/cache")
        let graph = try PipelineGraph(spec: try PipelineSpec.load(path: dir + "/p.yaml"), registry: c.registry)
        _ = try await Engine(workspace: ws, catalog: c).run(graph)
        let cmp = try Comparison.make(graph: graph, index: ws.index, metric: "miou")
        XCTAssertEqual(cmp.rows.map(\.variant), ["method=m1,quality=0.5", "method=m2,quality=0.5", "method=m1,quality=0.25", "method=m2,quality=0.25"])
        XCTAssertEqual(cmp.rows.map(\.best), [true, false, false, false])
        let csv = cmp.render(format: "csv").split(separator: "\n").map { $0.split(separator: ",").dropLast().joined(separator: ",") }
        // The last column (seconds) varies; everything before it is fixed.
        XCTAssertEqual(csv, ["variant,method,quality,eval.miou",
                             "\"method=m1,quality=0.5\",m1,0.5,0.5000",
                             "\"method=m2,quality=0.5\",m2,0.5,0.5000",
                             "\"method=m1,quality=0.25\",m1,0.25,0.2500",
                             "\"method=m2,quality=0.25\",m2,0.25,0.2500"])
        // One column by name sorts by it; an unknown column is a user error that lists the columns.
        let byColumn = try Comparison.make(graph: graph, index: ws.index, metric: "eval.miou")
        XCTAssertEqual(byColumn.sortColumn, "eval.miou")
        XCTAssertEqual(byColumn.rows.map(\.variant), cmp.rows.map(\.variant))
        XCTAssertThrowsError(try Comparison.make(graph: graph, index: ws.index, metric: "evl.miou")) { error in
            XCTAssertTrue("\(error)".contains("columns: eval.miou"), "\(error)")
        }
        let md = cmp.render(format: "markdown").split(separator: "\n")
        XCTAssertEqual(md[0], "| variant | method | quality | eval.miou | seconds |")
        XCTAssertTrue(md[2].hasPrefix("| method=m1,quality=0.5 * | m1 | 0.5 | 0.5000 |"), String(md[2]))
    }
}
