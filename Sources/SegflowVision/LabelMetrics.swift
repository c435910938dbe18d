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

    /// Mean over classes that appear in truth or predictions.
    public var macroF1: Double { mean(perClass.compactMap(\.f1)) }
    public var macroPrecision: Double { mean(perClass.compactMap(\.precision)) }
    public var macroRecall: Double { mean(perClass.compactMap(\.recall)) }

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
