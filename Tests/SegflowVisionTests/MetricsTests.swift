import XCTest
@testable import SegflowVision

/// Evaluation against hand-computed numbers, including ignore and absent classes.
final class MetricsTests: XCTestCase {
    /// 3 classes with ids 0, 1, 2; 7 is the dataset's ignore id; 255 is ignore; class 2 never appears.
    let lookup: [Int] = (0..<256).map { $0 < 3 ? $0 : -1 }

    func testConfusionMatrixByHand() {
        var m = ConfusionMatrix(classes: 3)
        //            truth:  0  0  0  1  1  7  255 1
        //        predicted:  0  0  1  1  255 0  1  0
        m.add(truth: [0, 0, 0, 1, 1, 7, 255, 1], predicted: [0, 0, 1, 1, 255, 0, 1, 0], channelOf: lookup)
        XCTAssertEqual(m[0, 0], 2); XCTAssertEqual(m[0, 1], 1)
        XCTAssertEqual(m[1, 1], 1); XCTAssertEqual(m[1, 0], 1); XCTAssertEqual(m[1, 3], 1, "abstention column")
        XCTAssertEqual(m.counts.reduce(0, +), 6, "pixels with truth 7 and 255 are left out")
        // IoU(0) = 2 / (3 + 3 - 2) = 0.5; IoU(1) = 1 / (3 + 2 - 1) = 0.25; class 2 absent -> nil.
        XCTAssertEqual(m.iou[0]!, 0.5, accuracy: 1e-12)
        XCTAssertEqual(m.iou[1]!, 0.25, accuracy: 1e-12)
        XCTAssertNil(m.iou[2])
        XCTAssertEqual(m.meanIoU, 0.375, accuracy: 1e-12)
        XCTAssertEqual(m.pixelAccuracy, 3.0 / 6.0, accuracy: 1e-12)
        XCTAssertEqual(m.coverage, 5.0 / 6.0, accuracy: 1e-12)
    }

    func testPredictionOfAnAbsentClassCountsInTheMean() {
        var m = ConfusionMatrix(classes: 3)
        m.add(truth: [0, 0], predicted: [0, 2], channelOf: lookup)
        // IoU(0) = 1/2, IoU(2) = 0/1 (predicted, never true), class 1 absent.
        XCTAssertEqual(m.meanIoU, 0.25, accuracy: 1e-12)
    }

    func testLabelMetricsByHand() {
        var m = LabelMetrics(classes: ["lawn", "curb", "soil"])
        m.add(predicted: ["lawn", "curb"], truth: ["lawn"])
        m.add(predicted: ["Lawn", "dirt"], truth: ["lawn", "soil"])
        // lawn: tp 2 -> P 1, R 1; curb: fp 1 -> P 0, R nil, F1 0; soil: fn 1 -> P nil, R 0, F1 0.
        XCTAssertEqual(m.perClass[0].f1!, 1, accuracy: 1e-12)
        XCTAssertEqual(m.perClass[1].f1!, 0, accuracy: 1e-12)
        XCTAssertNil(m.perClass[1].recall)
        XCTAssertEqual(m.macroF1, 1.0 / 3.0, accuracy: 1e-12)
        // micro: tp 2, fp 1, fn 1 -> F1 = 4 / 6
        XCTAssertEqual(m.microF1, 4.0 / 6.0, accuracy: 1e-12)
        XCTAssertEqual(m.unknownLabels, ["dirt": 1])
    }

    func testPseudoLabelThresholdsAndBand() {
        // 2 channels, 4 pixels; labelled: both.
        let cams: [Float] = [0.9, 0.1, 0.5, 0.3,   0.2, 0.05, 0.6, 0.35]
        let ids: [UInt8] = [3, 8]
        let plain = PseudoLabeler(bgThreshold: 0.2, fgThreshold: 0).label(cams: cams, channels: 2, pixels: 4, allowed: [0, 1], ids: ids, background: nil)
        XCTAssertEqual(plain, [3, 255, 8, 8])
        let band = PseudoLabeler(bgThreshold: 0.2, fgThreshold: 0.55).label(cams: cams, channels: 2, pixels: 4, allowed: [0, 1], ids: ids, background: nil)
        XCTAssertEqual(band, [3, 255, 8, 255])
        let onlyFirst = PseudoLabeler(bgThreshold: 0.2, fgThreshold: 0).label(cams: cams, channels: 2, pixels: 4, allowed: [0], ids: ids, background: nil)
        XCTAssertEqual(onlyFirst, [3, 255, 3, 3])
    }
}
