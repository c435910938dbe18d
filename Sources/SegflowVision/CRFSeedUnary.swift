import Foundation

// MARK: - Unaries from sparse seeds and boxes

/// Dense-CRF unaries (-log p, layout (C, H, W)) from weak labels: seed pixels (scribbles, clicks)
/// and boxes. Label maps hold a channel per pixel and `CRFSeedUnary.unsure` (255) where nothing is known.
public enum CRFSeedUnary {
    /// The label-map value of a pixel nothing is known about.
    public static let unsure: UInt8 = 255

    /// `pydensecrf.utils.unary_from_labels(labels + 1, n, gt_prob, zero_unsure=True)` exactly:
    /// a labelled pixel gets -log(gtProb) for its channel and -log((1 - gtProb) / (n - 1)) for the
    /// others; an unsure pixel gets -log(1 / n) everywhere (energies computed in double, stored as
    /// float32, as numpy does). Channels >= `classes` count as unsure.
    public static func fromLabels(_ labels: [UInt8], classes n: Int, gtProb: Double) -> [Float] {
        precondition(n >= 2, "unary_from_labels needs at least 2 classes")
        precondition(gtProb > 0 && gtProb < 1, "gtProb must be in (0, 1)")
        let pixels = labels.count
        let nEnergy = Float(-log((1.0 - gtProb) / Double(n - 1)))
        let pEnergy = Float(-log(gtProb))
        let uEnergy = Float(-log(1.0 / Double(n)))
        var u = [Float](repeating: nEnergy, count: n * pixels)
        u.withUnsafeMutableBufferPointer { u in
            for (i, l) in labels.enumerated() {
                if Int(l) < n {
                    u[Int(l) * pixels + i] = pEnergy
                } else {
                    for c in 0..<n { u[c * pixels + i] = uEnergy }
                }
            }
        }
        return u
    }

    /// Stamps a disc of `radius` pixels (Euclidean, radius 0 = the pixel itself) of `channel` around
    /// (x, y) into a label map, clipped to the image.
    public static func stampDisc(_ labels: inout [UInt8], width: Int, height: Int, x: Int, y: Int, radius: Int, channel: UInt8) {
        let r2 = radius * radius
        for yy in max(0, y - radius)...min(height - 1, y + radius) {
            for xx in max(0, x - radius)...min(width - 1, x + radius) where (xx - x) * (xx - x) + (yy - y) * (yy - y) <= r2 {
                labels[yy * width + xx] = channel
            }
        }
    }
}

/// A box in pixels (x1, y1 exclusive) labelled with a channel.
public struct ChannelBox: Sendable, Equatable {
    public var channel: Int
    public var x0: Int, y0: Int, x1: Int, y1: Int
    public init(channel: Int, x0: Int, y0: Int, x1: Int, y1: Int) {
        self.channel = channel; self.x0 = x0; self.y0 = y0; self.x1 = x1; self.y1 = y1
    }
    public var area: Int { max(0, x1 - x0) * max(0, y1 - y0) }
}

/// Seeds from boxes: which class each pixel takes, and box-constrained CAM unaries.
public enum BoxSeeds {
    /// Boxes clipped to the image, largest first, so painting them in order leaves the smallest on top
    /// (ties: the later box in the file wins, as it is painted last).
    static func paintingOrder(_ boxes: [ChannelBox], width: Int, height: Int) -> [ChannelBox] {
        var clipped: [(index: Int, box: ChannelBox)] = []
        for (n, b) in boxes.enumerated() {
            let c = ChannelBox(channel: b.channel, x0: max(0, b.x0), y0: max(0, b.y0), x1: min(width, b.x1), y1: min(height, b.y1))
            if c.area > 0 { clipped.append((n, c)) }
        }
        clipped.sort { a, b in a.box.area != b.box.area ? a.box.area > b.box.area : a.index < b.index }
        return clipped.map(\.box)
    }

    /// Channel per pixel: the smallest box covering it, `outside` where no box does.
    public static func labelMap(_ boxes: [ChannelBox], width: Int, height: Int, outside: UInt8) -> [UInt8] {
        var labels = [UInt8](repeating: outside, count: width * height)
        for b in paintingOrder(boxes, width: width, height: height) {
            for y in b.y0..<b.y1 {
                for x in b.x0..<b.x1 { labels[y * width + x] = UInt8(b.channel) }
            }
        }
        return labels
    }

    /// Box-constrained CAMs: inside boxes a pixel's classes are only those of the boxes covering it,
    /// weighted by their CAM scores there. A covered pixel gets probability `gtProb` spread over its
    /// covering classes in proportion to (cam + 0.05) (the floor keeps a class whose CAM is silent in a
    /// box it owns possible), the rest spread evenly over the other classes. Outside every box:
    /// `outsideChannel` with gtProb when given (the dataset's background), else uniform.
    /// `cams` layout (C, H, W) with C == `classes`.
    public static func camUnary(_ boxes: [ChannelBox], cams: [Float], classes n: Int, width: Int, height: Int,
                                outsideChannel: Int?, gtProb: Double) -> [Float] {
        let pixels = width * height
        precondition(cams.count == n * pixels, "cams must hold classes * pixels floats")
        // Per pixel, the set of covering channels as a bit set (classes <= 64 here; more fall back to labels).
        precondition(n <= 64, "box-constrained CAMs support up to 64 classes")
        var cover = [UInt64](repeating: 0, count: pixels)
        for b in paintingOrder(boxes, width: width, height: height) {
            let bit = UInt64(1) << UInt64(b.channel)
            for y in b.y0..<b.y1 { for x in b.x0..<b.x1 { cover[y * width + x] |= bit } }
        }
        let floor: Double = 0.05
        var u = [Float](repeating: 0, count: n * pixels)
        var p = [Double](repeating: 0, count: n)
        for i in 0..<pixels {
            let set = cover[i]
            if set == 0 {
                if let bg = outsideChannel {
                    for c in 0..<n { p[c] = c == bg ? gtProb : (1 - gtProb) / Double(n - 1) }
                } else {
                    for c in 0..<n { p[c] = 1 / Double(n) }
                }
            } else {
                let inside = set.nonzeroBitCount
                var sum = 0.0
                for c in 0..<n where set & (UInt64(1) << UInt64(c)) != 0 { sum += Double(max(cams[c * pixels + i], 0)) + floor }
                let rest = inside < n ? (1 - gtProb) / Double(n - inside) : 0
                let mass = inside < n ? gtProb : 1
                for c in 0..<n {
                    p[c] = set & (UInt64(1) << UInt64(c)) != 0 ? mass * (Double(max(cams[c * pixels + i], 0)) + floor) / sum : rest
                }
            }
            for c in 0..<n { u[c * pixels + i] = Float(-log(max(p[c], Double(CRFUnary.clip)))) }
        }
        return u
    }
}
