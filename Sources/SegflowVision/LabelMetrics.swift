/// Precision, recall and F1 of image-level labels, per class and averaged.
public struct LabelMetrics: Sendable {
    public struct PerClass: Sendable {
        public var truePositives = 0, falsePositives = 0, falseNegatives = 0
        public var precision: Double? { truePositives + falsePositives == 0 ? nil : Double(truePositives) / Double(truePositives + falsePositives) }
        public var recall: Double? { truePositives + falseNegatives == 0 ? nil : Double(truePositives) / Double(truePositives + falseNegatives) }
        public var f1: Double? {
            let d = 2 * truePositives + falsePositives + falseNegatives
            return d == 0 ? nil : Double(2 * truePositives) / Double(d)
        }
    }

    public let classes: [String]
    public private(set) var perClass: [PerClass]
    public private(set) var items = 0
    /// Predicted names that are not classes.
    public private(set) var unknownLabels: [String: Int] = [:]

    public init(classes: [String]) {
        self.classes = classes
        perClass = Array(repeating: PerClass(), count: classes.count)
    }

    /// Adds one image's predicted and true label sets (names compared case-insensitively).
    public mutating func add(predicted: [String], truth: [String]) {
        items += 1
        let lower = classes.map { $0.lowercased() }
        let p = Set(predicted.map { $0.lowercased() }), t = Set(truth.map { $0.lowercased() })
        for name in p where !lower.contains(name) { unknownLabels[name, default: 0] += 1 }
        for (i, c) in lower.enumerated() {
            switch (p.contains(c), t.contains(c)) {
            case (true, true): perClass[i].truePositives += 1
            case (true, false): perClass[i].falsePositives += 1
            case (false, true): perClass[i].falseNegatives += 1
            default: break
            }
        }
    }

    /// Means over the classes that appear in truth or predictions, as scikit-learn's
    /// `precision_recall_fscore_support(labels=those classes, zero_division=0)`: a class in the truth
    /// that is never predicted counts with precision 0 (skipping it would flatter exactly the labellers
    /// that miss classes), a class predicted but never true with recall 0. Classes in neither are left out.
    public var macroF1: Double { mean(present.map { $0.f1 ?? 0 }) }
    public var macroPrecision: Double { mean(present.map { $0.precision ?? 0 }) }
    public var macroRecall: Double { mean(present.map { $0.recall ?? 0 }) }

    /// The classes that appear in the truth or the predictions of some item.
    var present: [PerClass] { perClass.filter { $0.truePositives + $0.falsePositives + $0.falseNegatives > 0 } }

    var totals: PerClass {
        perClass.reduce(into: PerClass()) {
            $0.truePositives += $1.truePositives; $0.falsePositives += $1.falsePositives; $0.falseNegatives += $1.falseNegatives
        }
    }
    public var microPrecision: Double { totals.precision ?? 0 }
    public var microRecall: Double { totals.recall ?? 0 }
    public var microF1: Double { totals.f1 ?? 0 }

    private func mean(_ v: [Double]) -> Double { v.isEmpty ? 0 : v.reduce(0, +) / Double(v.count) }
}

// MARK: - Labellers with scores

extension LabelMetrics {
    /// One threshold of a sweep: the label sets `{class: score >= threshold}` scored against the truth.
    public struct ThresholdPoint: Sendable {
        public var threshold: Double
        public var metrics: LabelMetrics
    }

    /// Precision and recall of a labeller with per-class scores at each threshold: a class is predicted
    /// when its score is at least the threshold (docs/FORMATS.md, `Scores`). Scores of names that are not
    /// classes are ignored; a class without a score scores 0.
    public static func sweep(classes: [String], items: [(scores: [String: Double], truth: [String])],
                             thresholds: [Double]) -> [ThresholdPoint] {
        let lower = classes.map { $0.lowercased() }
        let byClass: [[Double]] = items.map { item in
            var s = [Double](repeating: 0, count: classes.count)
            for (name, v) in item.scores { if let i = lower.firstIndex(of: name.lowercased()) { s[i] = v } }
            return s
        }
        return thresholds.map { t in
            var m = LabelMetrics(classes: classes)
            for (k, item) in items.enumerated() {
                m.add(predicted: classes.indices.filter { byClass[k][$0] >= t }.map { classes[$0] }, truth: item.truth)
            }
            return ThresholdPoint(threshold: t, metrics: m)
        }
    }
}
