import Foundation
import SegflowCore
import SegflowGraph
import SegflowVision

/// `labelEval`: per-class precision/recall/F1 of image-level labels, macro and micro averages.
public struct LabelEvalStage: StageImplementation {
    public init() {}
    public let descriptor = StageDescriptor(
        name: "labelEval", version: 1, inputs: [PortSpec("labels", .labels), PortSpec("truth", .labels)],
        outputs: [PortSpec("metrics", .metrics)], params: [], granularity: .reduce,
        summary: "Precision, recall and F1 of image-level labels against ground truth, per class, macro and micro.")

    public func run(_ call: StageCall) async throws -> StageOutcome {
        var m = LabelMetrics(classes: call.classes.names)
        let pred = call.itemPaths(port: "labels"), truth = call.itemPaths(port: "truth")
        let stems = truth.keys.filter { pred[$0] != nil }.sorted()
        guard !stems.isEmpty else {
            throw SegflowError.stageFailed(node: call.node, item: nil, message: "no item has both predicted and true labels; check that the stems match")
        }
        for stem in stems { m.add(predicted: try call.readLabels("labels", stem), truth: try call.readLabels("truth", stem)) }
        var perClass: [String: Any] = [:]
        var table = "class                 P       R      F1  support\n"
        for (i, name) in m.classes.enumerated() {
            let c = m.perClass[i]
            perClass[name] = ["precision": c.precision as Any? ?? NSNull(), "recall": c.recall as Any? ?? NSNull(),
                              "f1": c.f1 as Any? ?? NSNull(), "support": c.truePositives + c.falseNegatives]
            func f(_ v: Double?) -> String { v.map { String(format: "%7.3f", $0) } ?? "      -" }
            table += name.padding(toLength: 18, withPad: " ", startingAt: 0) + f(c.precision) + " " + f(c.recall) + " " + f(c.f1)
                + String(format: " %8d\n", c.truePositives + c.falseNegatives)
        }
        table += String(format: "macro             %7.3f %7.3f %7.3f\nmicro             %7.3f %7.3f %7.3f\nitems %d (missing predictions: %d)\n",
                        m.macroPrecision, m.macroRecall, m.macroF1, m.microPrecision, m.microRecall, m.microF1,
                        stems.count, truth.count - stems.count)
        let metrics: [String: Any] = [
            "macroF1": m.macroF1, "macroPrecision": m.macroPrecision, "macroRecall": m.macroRecall,
            "microF1": m.microF1, "microPrecision": m.microPrecision, "microRecall": m.microRecall,
            "perClass": perClass, "items": stems.count, "missingPredictions": truth.count - stems.count,
            "unknownLabels": m.unknownLabels,
        ]
        try call.writeJSON(metrics, port: "metrics", file: "metrics.json")
        try Data(table.utf8).write(to: URL(fileURLWithPath: try call.outputPath(port: "metrics", file: "metrics.txt")))
        return StageOutcome(metrics: ["macroF1": .double(m.macroF1), "microF1": .double(m.microF1)])
    }
}
