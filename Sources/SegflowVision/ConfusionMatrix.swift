/// A confusion matrix over C classes plus one "no prediction" column (pixels a prediction left at 255).
///
/// Rows are ground truth channels, columns predicted channels; column C counts truth pixels the
/// prediction abstained on, which count against recall (a pseudo label that ignores half the image
/// is not a good one).
public struct ConfusionMatrix: Sendable, Equatable {
    public let classes: Int
    /// Row-major `classes x (classes + 1)`.
    public private(set) var counts: [Int64]

    public init(classes: Int) {
        self.classes = classes
        counts = [Int64](repeating: 0, count: classes * (classes + 1))
    }

    public subscript(truth: Int, predicted: Int) -> Int64 { counts[truth * (classes + 1) + predicted] }

    /// Adds one image. `channelOf` maps a pixel value (class id) to a channel, or -1 when it is not a class
    /// (255, the dataset's ignore id, unknown ids). Truth pixels that are not a class are left out.
    public mutating func add(truth: [UInt8], predicted: [UInt8], channelOf: [Int]) {
        precondition(truth.count == predicted.count)
        let stride = classes + 1
        counts.withUnsafeMutableBufferPointer { c in
            truth.withUnsafeBufferPointer { t in
                predicted.withUnsafeBufferPointer { p in
                    for i in 0..<t.count {
                        let tc = channelOf[Int(t[i])]
                        if tc < 0 { continue }
                        let pc = channelOf[Int(p[i])]
                        c[tc * stride + (pc < 0 ? classes : pc)] += 1
                    }
                }
            }
        }
    }

    public mutating func merge(_ other: ConfusionMatrix) {
        for i in counts.indices { counts[i] += other.counts[i] }
    }

    public func truthTotal(_ c: Int) -> Int64 { (0...classes).reduce(0) { $0 + self[c, $1] } }
    public func predictedTotal(_ c: Int) -> Int64 { (0..<classes).reduce(0) { $0 + self[$1, c] } }

    /// IoU per class; nil for a class absent from both truth and prediction.
    public var iou: [Double?] {
        (0..<classes).map { c in
            let tp = self[c, c], t = truthTotal(c), p = predictedTotal(c)
            let union = t + p - tp
            return union == 0 ? nil : Double(tp) / Double(union)
        }
    }

    /// Mean IoU over the classes present in truth or prediction.
    public var meanIoU: Double {
        let v = iou.compactMap { $0 }
        return v.isEmpty ? 0 : v.reduce(0, +) / Double(v.count)
    }

    /// Correct pixels over scored truth pixels (abstentions count as wrong).
    public var pixelAccuracy: Double {
        let total = (0..<classes).reduce(Int64(0)) { $0 + truthTotal($1) }
        let correct = (0..<classes).reduce(Int64(0)) { $0 + self[$1, $1] }
        return total == 0 ? 0 : Double(correct) / Double(total)
    }

    /// Scored truth pixels that got a prediction at all.
    public var coverage: Double {
        let total = (0..<classes).reduce(Int64(0)) { $0 + truthTotal($1) }
        let abstained = (0..<classes).reduce(Int64(0)) { $0 + self[$1, classes] }
        return total == 0 ? 0 : 1 - Double(abstained) / Double(total)
    }
}
