import Foundation
import SegflowCore
import SegflowGraph
import SegflowImaging
import SegflowSpec
import SegflowVision

/// `evaluate`: one confusion matrix over all items -> per-class IoU, mIoU, pixel accuracy.
public struct EvaluateStage: StageImplementation {
    public init() {}
    public let descriptor = StageDescriptor(
        name: "evaluate", version: 1, inputs: [PortSpec("masks", .masks), PortSpec("truth", .masks)],
        outputs: [PortSpec("metrics", .metrics)], params: [], granularity: .reduce,
        summary: "mIoU, per-class IoU and pixel accuracy of masks against ground truth (255 and the ignore id left out).")

    public func run(_ call: StageCall) async throws -> StageOutcome {
        let classes = call.classes
        let lookup = classes.channelLookup
        let pred = call.itemPaths(port: "masks"), truth = call.itemPaths(port: "truth")
        let stems = truth.keys.filter { pred[$0] != nil }.sorted()
        guard !stems.isEmpty else {
            throw SegflowError.stageFailed(node: call.node, item: nil, message: "no item has both a prediction and ground truth; check that the stems match")
        }
        let lock = NSLock()
        var total = ConfusionMatrix(classes: classes.classes.count)
        var sub = call; sub.items = stems
        let failures = NativeItems.forEach(sub) { stem in
            let t = try ImageIO.readMask(path: truth[stem]!), p = try ImageIO.readMask(path: pred[stem]!)
            guard t.width == p.width, t.height == p.height else {
                throw ItemError("prediction is \(p.width)x\(p.height) but ground truth is \(t.width)x\(t.height)")
            }
            var m = ConfusionMatrix(classes: classes.classes.count)
            m.add(truth: t.pixels, predicted: p.pixels, channelOf: lookup)
            lock.lock(); total.merge(m); lock.unlock()
        }
        if !failures.isEmpty {
            throw SegflowError.stageFailed(node: call.node, item: failures.keys.sorted().first,
                                           message: failures.sorted { $0.key < $1.key }.prefix(5).map { "\($0.key): \($0.value)" }.joined(separator: "; "))
        }
        let metrics = Self.metrics(total, classes: classes, items: stems.count, missing: truth.count - stems.count)
        try call.writeJSON(metrics, port: "metrics", file: "metrics.json")
        try Data(Self.table(total, classes: classes, items: stems.count).utf8)
            .write(to: URL(fileURLWithPath: try call.outputPath(port: "metrics", file: "metrics.txt")))
        return StageOutcome(metrics: ["miou": .double(total.meanIoU), "pixelAccuracy": .double(total.pixelAccuracy)])
    }

    static func metrics(_ m: ConfusionMatrix, classes: ClassList, items: Int, missing: Int) -> [String: Any] {
        var perClass: [String: Any] = [:]
        for (c, iou) in m.iou.enumerated() { perClass[classes.classes[c].name] = iou.map { $0 as Any } ?? NSNull() }
        return ["miou": m.meanIoU, "pixelAccuracy": m.pixelAccuracy, "coverage": m.coverage, "iou": perClass,
                "classes": classes.names, "items": items, "missingPredictions": missing,
                "confusion": (0..<m.classes).map { r in (0...m.classes).map { m[r, $0] } }]
    }

    static func table(_ m: ConfusionMatrix, classes: ClassList, items: Int) -> String {
        var s = "class            IoU\n"
        for (c, iou) in m.iou.enumerated() {
            s += classes.classes[c].name.padding(toLength: 14, withPad: " ", startingAt: 0)
            s += iou.map { String(format: "%7.2f%%", $0 * 100) } ?? "      -" ; s += "\n"
        }
        s += String(format: "mIoU          %7.2f%%\npixel acc.    %7.2f%%\ncoverage      %7.2f%%\nitems         %7d\n",
                    m.meanIoU * 100, m.pixelAccuracy * 100, m.coverage * 100, items)
        return s
    }
}
