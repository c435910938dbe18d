import Foundation
import XCTest
@testable import SegflowVision

/// LabelMetrics against scikit-learn's precision_recall_fscore_support (macro and micro, `labels=` the
/// classes present in truth or predictions, `zero_division=0`). The golden values and the label sets
/// were made by Tests/Fixtures/labeleval/make_golden.py: curb is true but never predicted, water
/// predicted but never true, unused in neither, and some predictions name no class (puddle).
final class LabelEvalGoldenTests: XCTestCase {
    struct Golden: Decodable {
        struct Item: Decodable { var stem: String; var truth: [String]; var predicted: [String]; var scores: [String: Double] }
        struct Average: Decodable { var precision: Double; var recall: Double; var f1: Double }
        struct PerClass: Decodable { var precision: Double; var recall: Double; var f1: Double; var support: Int }
        struct Scored: Decodable { var macro: Average; var micro: Average; var perClass: [String: PerClass] }
        struct AtThreshold: Decodable { var threshold: Double; var macro: Average; var micro: Average }
        var classes: [String]
        var items: [Item]
        var labels: Scored
        var thresholds: [AtThreshold]
    }

    static func golden() throws -> Golden {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/labeleval/golden.json")
        return try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
    }

    func assertAverages(_ m: LabelMetrics, macro: Golden.Average, micro: Golden.Average, _ what: String) {
        XCTAssertEqual(m.macroPrecision, macro.precision, accuracy: 1e-12, "\(what) macro P")
        XCTAssertEqual(m.macroRecall, macro.recall, accuracy: 1e-12, "\(what) macro R")
        XCTAssertEqual(m.macroF1, macro.f1, accuracy: 1e-12, "\(what) macro F1")
        XCTAssertEqual(m.microPrecision, micro.precision, accuracy: 1e-12, "\(what) micro P")
        XCTAssertEqual(m.microRecall, micro.recall, accuracy: 1e-12, "\(what) micro R")
        XCTAssertEqual(m.microF1, micro.f1, accuracy: 1e-12, "\(what) micro F1")
    }

    func testLabelsMatchScikitLearn() throws {
        let g = try Self.golden()
        var m = LabelMetrics(classes: g.classes)
        for item in g.items { m.add(predicted: item.predicted, truth: item.truth) }
        assertAverages(m, macro: g.labels.macro, micro: g.labels.micro, "labels")
        // The sets are what the test is about: a class never predicted and one never true.
        XCTAssertEqual(g.labels.perClass["curb"]?.precision, 0)
        XCTAssertGreaterThan(g.labels.perClass["curb"]?.support ?? 0, 0)
        XCTAssertEqual(g.labels.perClass["water"]?.support, 0)
        XCTAssertNil(g.labels.perClass["unused"])
        for (k, name) in g.classes.enumerated() {
            let c = m.perClass[k]
            guard let want = g.labels.perClass[name] else {
                XCTAssertEqual(c.truePositives + c.falsePositives + c.falseNegatives, 0, name); continue
            }
            XCTAssertEqual(c.precision ?? 0, want.precision, accuracy: 1e-12, name)
            XCTAssertEqual(c.recall ?? 0, want.recall, accuracy: 1e-12, name)
            XCTAssertEqual(c.f1 ?? 0, want.f1, accuracy: 1e-12, name)
            XCTAssertEqual(c.truePositives + c.falseNegatives, want.support, name)
        }
    }

    func testThresholdSweepMatchesScikitLearn() throws {
        let g = try Self.golden()
        let sweep = LabelMetrics.sweep(classes: g.classes, items: g.items.map { ($0.scores, $0.truth) },
                                       thresholds: g.thresholds.map(\.threshold))
        XCTAssertEqual(sweep.map(\.threshold), g.thresholds.map(\.threshold))
        for (point, want) in zip(sweep, g.thresholds) {
            assertAverages(point.metrics, macro: want.macro, micro: want.micro, "threshold \(want.threshold)")
        }
    }
}
