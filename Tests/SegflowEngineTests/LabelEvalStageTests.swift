import Foundation
import XCTest
import SegflowCore
import SegflowGraph
import SegflowSpec
import SegflowStages

/// The labelEval stage on files: Labels, truth and flat Scores files of the scikit-learn golden set
/// (Tests/Fixtures/labeleval) give the golden averages in metrics.json, also over thresholds.
final class LabelEvalStageTests: XCTestCase {
    func testMetricsFileMatchesScikitLearnGoldenValues() async throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/labeleval/golden.json")
        let golden = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: fixture)) as? [String: Any])
        let classes = golden["classes"] as! [String]
        let dir = NSTemporaryDirectory() + "segflow-labeleval-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var inputs: [String: [String: String]] = [:]
        for port in ["labels", "truth", "scores"] { try FileManager.default.createDirectory(atPath: "\(dir)/in/\(port)", withIntermediateDirectories: true) }
        for item in golden["items"] as! [[String: Any]] {
            let stem = item["stem"] as! String
            for (port, key) in [("labels", "predicted"), ("truth", "truth"), ("scores", "scores")] {
                let path = "\(dir)/in/\(port)/\(stem).json"
                try JSONSerialization.data(withJSONObject: item[key]!).write(to: URL(fileURLWithPath: path))
                inputs[port, default: [:]]["\(stem).json"] = path
            }
        }
        let stage = LabelEvalStage()
        let call = StageCall(node: "eval", descriptor: stage.descriptor, params: ["thresholdStep": .double(0.05)],
                             classes: ClassList(classes: classes.enumerated().map { .init(id: $0, name: $1, color: [0, 0, 0]) },
                                                ignore: nil, background: nil, source: "test"),
                             items: [], inputs: inputs, outputDirectory: dir + "/out", threads: 1, logPath: dir + "/log")
        _ = try await stage.run(call)
        let m = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/out/metrics/metrics.json"))) as? [String: Any])
        func check(_ got: [String: Any], _ want: [String: Any], _ what: String) {
            for avg in ["macro", "micro"] {
                let w = want[avg] as! [String: Double]
                XCTAssertEqual(got["\(avg)Precision"] as! Double, w["precision"]!, accuracy: 1e-12, "\(what) \(avg) P")
                XCTAssertEqual(got["\(avg)Recall"] as! Double, w["recall"]!, accuracy: 1e-12, "\(what) \(avg) R")
                XCTAssertEqual(got["\(avg)F1"] as! Double, w["f1"]!, accuracy: 1e-12, "\(what) \(avg) F1")
            }
        }
        check(m, golden["labels"] as! [String: Any], "labels")
        let perClass = m["perClass"] as! [String: [String: Any]]
        XCTAssertEqual(perClass["curb"]?["support"] as? Int, ((golden["labels"] as! [String: Any])["perClass"] as! [String: [String: Any]])["curb"]?["support"] as? Int)
        let rows = try XCTUnwrap(m["thresholds"] as? [[String: Any]])
        XCTAssertEqual(rows.count, 21)
        for want in golden["thresholds"] as! [[String: Any]] {
            let t = want["threshold"] as! Double
            let row = try XCTUnwrap(rows.first { abs(($0["threshold"] as! Double) - t) < 1e-9 }, "threshold \(t)")
            check(row, want, "threshold \(t)")
        }
    }
}
