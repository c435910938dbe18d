import SegflowImaging

/// Thins a stream of video frames to keyframes by frame difference.
///
/// A frame is kept when the mean absolute difference of its grayscale to the LAST KEPT frame's exceeds
/// `threshold` (0-255). Comparing with the last kept frame, not the previous frame, is what lets a slow
/// pan produce keyframes at all: consecutive frames of a robot creeping forward differ by a grey level
/// or two, so a consecutive-difference rule never fires, while the drift from the last keyframe grows.
/// The first frame is always kept; `threshold` 0 keeps every frame.
public struct KeyframeSelector {
    public let threshold: Double
    private var last: [UInt8]?
    private var lastSize = (0, 0)

    public init(threshold: Double) { self.threshold = threshold }

    /// Grayscale (ITU-R BT.601 luma, rounded) of an RGB image.
    public static func gray(_ image: RGBImage) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: image.width * image.height)
        image.pixels.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { g in
                for i in 0..<g.count {
                    let r = UInt32(px[3 * i]), gr = UInt32(px[3 * i + 1]), b = UInt32(px[3 * i + 2])
                    g[i] = UInt8((299 * r + 587 * gr + 114 * b + 500) / 1000)
                }
            }
        }
        return out
    }

    /// The mean absolute difference of two grayscale images of one size.
    public static func meanAbsoluteDifference(_ a: [UInt8], _ b: [UInt8]) -> Double {
        precondition(a.count == b.count, "frames of different sizes")
        guard !a.isEmpty else { return 0 }
        var total: UInt64 = 0
        a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in
                // Row-sized partial sums in 32 bits (at most 255 * 65536 each) keep the loop vectorisable.
                var i = 0
                while i < x.count {
                    let end = min(x.count, i + 65536)
                    var part: UInt32 = 0
                    for k in i..<end { part &+= UInt32(x[k] > y[k] ? x[k] - y[k] : y[k] - x[k]) }
                    total += UInt64(part); i = end
                }
            }
        }
        return Double(total) / Double(a.count)
    }

    /// Whether to keep `image`, and the difference to the last kept frame (nil for the first frame
    /// or one whose size differs from it: both are kept).
    public mutating func consider(_ image: RGBImage) -> (keep: Bool, difference: Double?) {
        let g = Self.gray(image)
        guard let last, lastSize == (image.width, image.height) else {
            self.last = g; lastSize = (image.width, image.height)
            return (true, nil)
        }
        let d = Self.meanAbsoluteDifference(g, last)
        let keep = threshold <= 0 || d > threshold
        if keep { self.last = g }
        return (keep, d)
    }
}
