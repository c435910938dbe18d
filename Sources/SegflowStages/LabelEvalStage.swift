import Foundation
import SegflowCore
import SegflowGraph
import SegflowVision

/// `labelEval`: per-class precision/recall/F1 of image-level labels, macro and micro averages (as
/// scikit-learn's, see `LabelMetrics`), and for labellers with scores the same over thresholds.
public struct LabelEvalStage: StageImplementation {
    public init() {}
    public let descriptor = StageDescriptor(
        // v2: macro averages count a class never predicted (or never true) as 0, as scikit-learn does; scores.
        name: "labelEval", version: 2,
        inputs: [PortSpec("labels", .labels), PortSpec("truth", .labels), PortSpec("scores", .scores, optional: true)],
        outputs: [PortSpec("metrics", .metrics)],
        params: [ParamSpec("thresholdStep", .float, default: .double(0.05), min: 0.001, max: 1,
                           doc: "with scores: precision and recall at thresholds 0, step, 2 step, ... 1")],
        granularity: .reduce,
        summary: "Precision, recall and F1 of image-level labels against ground truth, per class, macro and micro; over thresholds for scores.")

    public func run(_ call: StageCall) async throws -> StageOutcome {
        var m = LabelMetrics(classes: call.classes.names)
        let pred = call.itemPaths(port: "labels"), truth = call.itemPaths(port: "truth")
        let stems = truth.keys.filter { pred[$0] != nil }.sorted()
        guard !stems.isEmpty else {
            throw SegflowError.stageFailed(node: call.node, item: nil, message: "no item has both predicted and true labels; check that the stems match")
        }
        var truthSets: [String: [String]] = [:]
        for stem in stems {
            truthSets[stem] = try call.readLabels("truth", stem)
            m.add(predicted: try call.readLabels("labels", stem), truth: truthSets[stem]!)
        }
        var table = "class                 P       R      F1  support\n"
        for (i, name) in m.classes.enumerated() {
            let c = m.perClass[i]
            func f(_ v: Double?) -> String { v.map { String(format: "%7.3f", $0) } ?? "      -" }
            table += name.padding(toLength: 18, withPad: " ", startingAt: 0) + f(c.precision) + " " + f(c.recall) + " " + f(c.f1)
                + String(format: " %8d\n", c.truePositives + c.falseNegatives)
        }
        table += String(format: "macro             %7.3f %7.3f %7.3f\nmicro             %7.3f %7.3f %7.3f\nitems %d (missing predictions: %d)\n",
                        m.macroPrecision, m.macroRecall, m.macroF1, m.microPrecision, m.microRecall, m.microF1,
                        stems.count, truth.count - stems.count)
        table += "(macro: mean over the classes in the truth or the predictions; '-' (no prediction, or no true item) counts as 0)\n"
        var metrics = Self.summary(m)
        metrics["perClass"] = Dictionary(uniqueKeysWithValues: m.classes.enumerated().map { i, name in
            let c = m.perClass[i]
            return (name, ["precision": c.precision as Any? ?? NSNull(), "recall": c.recall as Any? ?? NSNull(),
                           "f1": c.f1 as Any? ?? NSNull(), "support": c.truePositives + c.falseNegatives,
                           "predicted": c.truePositives + c.falsePositives] as [String: Any])
        })
        metrics["items"] = stems.count
        metrics["missingPredictions"] = truth.count - stems.count
        metrics["unknownLabels"] = m.unknownLabels
        if call.inputs["scores"] != nil {
            let (sweep, text) = try thresholds(call, stems: stems, truth: truthSets)
            metrics["thresholds"] = sweep
            table += text
        }
        try call.writeJSON(metrics, port: "metrics", file: "metrics.json")
        try Data(table.utf8).write(to: URL(fileURLWithPath: try call.outputPath(port: "metrics", file: "metrics.txt")))
        return StageOutcome(metrics: ["macroF1": .double(m.macroF1), "microF1": .double(m.microF1)])
    }

    static func summary(_ m: LabelMetrics) -> [String: Any] {
        ["macroF1": m.macroF1, "macroPrecision": m.macroPrecision, "macroRecall": m.macroRecall,
         "microF1": m.microF1, "microPrecision": m.microPrecision, "microRecall": m.microRecall]
    }

    /// The sweep over thresholds of the scored items, as JSON rows and a table.
    func thresholds(_ call: StageCall, stems: [String], truth: [String: [String]]) throws -> ([[String: Any]], String) {
        let paths = call.itemPaths(port: "scores")
        var items: [(scores: [String: Double], truth: [String])] = []
        for stem in stems {
            guard let path = paths[stem] else {
                throw SegflowError.stageFailed(node: call.node, item: stem, message: "no scores for this item (labels and truth have it)")
            }
            items.append((try Self.readScores(path: path, file: "scores/\(stem).json"), truth[stem]!))
        }
        let step = max(0.001, call.double("thresholdStep"))
        let thresholds = (0...Int((1 / step).rounded(.down))).map { (Double($0) * step * 1e9).rounded() / 1e9 }
        let sweep = LabelMetrics.sweep(classes: call.classes.names, items: items, thresholds: thresholds)
        var text = "\nthreshold  macroP  macroR macroF1  microP  microR microF1\n"
        var rows: [[String: Any]] = []
        for point in sweep {
            var row = Self.summary(point.metrics)
            row["threshold"] = point.threshold
            rows.append(row)
            let m = point.metrics
            text += String(format: "%9.3f %7.3f %7.3f %7.3f %7.3f %7.3f %7.3f\n", point.threshold, m.macroPrecision, m.macroRecall,
                           m.macroF1, m.microPrecision, m.microRecall, m.microF1)
        }
        return (rows, text)
    }

    /// A `Scores` file: `{"<class>": <number>, ...}` (docs/FORMATS.md).
    static func readScores(path: String, file: String) throws -> [String: Double] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let scores = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ItemError("\(file) is not a JSON object of class name -> score, {\"Sky\": 0.93, ...} (docs/FORMATS.md, Scores)")
        }
        var out: [String: Double] = [:]
        for (name, v) in scores {
            guard let n = v as? NSNumber, n.doubleValue.isFinite else { throw ItemError("\(file): the score of '\(name)' is not a number") }
            out[name] = n.doubleValue
        }
        return out
    }
}
