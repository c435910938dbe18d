import Foundation

/// A box in original image pixels, `x1`/`y1` exclusive (docs/FORMATS.md `Boxes`).
public struct GroundedBox: Sendable, Equatable, Codable {
    public var label: String
    public var x0: Int, y0: Int, x1: Int, y1: Int
    public init(_ label: String, _ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int) {
        self.label = label; self.x0 = x0; self.y0 = y0; self.x1 = x1; self.y1 = y1
    }
}

/// A click in original image pixels, `0 <= x < width`.
public struct GroundedPoint: Sendable, Equatable, Codable {
    public var label: String
    public var x: Int, y: Int
    public init(_ label: String, _ x: Int, _ y: Int) { self.label = label; self.x = x; self.y = y }
}

/// What was repaired or left out of one answer, for the stage's metrics.
public struct GroundingTally: Sendable, Equatable, Codable {
    /// Boxes written with x0 > x1 or y0 > y1, kept with their corners swapped.
    public var swapped = 0
    /// Boxes and points that reached past the image and were cut to it.
    public var clipped = 0
    /// Boxes empty after clipping (wholly outside, or thinner than a pixel) and points outside the image: dropped.
    public var outside = 0
    /// JSON objects that looked like entries but were unusable (no label, wrong number of coordinates).
    public var malformed = 0
    /// Entries of the kind not asked for (points when `ask: boxes`...): left out.
    public var unasked = 0
    /// 1 when the answer was cut off mid-list.
    public var truncated = 0
    public init() {}
}

/// How one image was shown to the model: its size, the size the model saw, and the coordinate convention.
public struct GroundingFrame: Sendable, Equatable {
    public var width: Int, height: Int
    public var seenWidth: Int, seenHeight: Int
    public var coordinates: GroundConfig.Coordinates

    public init(width: Int, height: Int, seenWidth: Int, seenHeight: Int, coordinates: GroundConfig.Coordinates) {
        self.width = width; self.height = height; self.seenWidth = seenWidth; self.seenHeight = seenHeight
        self.coordinates = coordinates
    }

    /// A model x or y in original pixels (continuous: 0 is the left edge, `width` the right one).
    func original(x: Double) -> Double {
        coordinates == .pixels ? x * Double(width) / Double(seenWidth) : x * Double(width) / 1000
    }
    func original(y: Double) -> Double {
        coordinates == .pixels ? y * Double(height) / Double(seenHeight) : y * Double(height) / 1000
    }

    /// The box in original pixels: corners put in order, clipped to the image, edges rounded to the
    /// nearest pixel; nil when nothing of it is left.
    func box(_ label: String, x0: Double, y0: Double, x1: Double, y1: Double, _ tally: inout GroundingTally) -> GroundedBox? {
        var (ax, bx) = (original(x: x0), original(x: x1)), (ay, by) = (original(y: y0), original(y: y1))
        if ax > bx || ay > by { tally.swapped += 1 }
        if ax > bx { swap(&ax, &bx) }
        if ay > by { swap(&ay, &by) }
        let w = Double(width), h = Double(height)
        let cx0 = min(max(ax, 0), w), cx1 = min(max(bx, 0), w), cy0 = min(max(ay, 0), h), cy1 = min(max(by, 0), h)
        let b = GroundedBox(label, Int(cx0.rounded()), Int(cy0.rounded()), Int(cx1.rounded()), Int(cy1.rounded()))
        guard b.x0 < b.x1, b.y0 < b.y1 else { tally.outside += 1; return nil }
        if (cx0, cx1, cy0, cy1) != (ax, bx, ay, by) { tally.clipped += 1 }
        return b
    }

    /// The pixel a point falls in; on the right or bottom edge, the last pixel; nil outside the image.
    func point(_ label: String, x: Double, y: Double, _ tally: inout GroundingTally) -> GroundedPoint? {
        let px = original(x: x), py = original(y: y)
        guard px >= 0, py >= 0, px <= Double(width), py <= Double(height) else { tally.outside += 1; return nil }
        let ix = Int(px.rounded(.down)), iy = Int(py.rounded(.down))
        if ix >= width || iy >= height { tally.clipped += 1 }
        return GroundedPoint(label, min(ix, width - 1), min(iy, height - 1))
    }
}
