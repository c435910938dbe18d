/// Region encodings of annotation files (COCO polygons and run-length encodings) as pixel masks.
///
/// Masks here are row-major `[Bool]` of `width * height`, true inside the region.
public enum AnnotationRaster {
    /// Pixels whose centre `(x + 0.5, y + 0.5)` lies inside the polygon (even-odd rule), for a flat
    /// `[x0, y0, x1, y1, ...]` list in pixel coordinates. A rectangle with corners on pixel edges
    /// covers exactly the pixels `x0..<x1`, `y0..<y1`, which is how Boxes count them.
    public static func polygon(_ flat: [Double], width: Int, height: Int) -> [Bool] {
        var out = [Bool](repeating: false, count: width * height)
        let n = flat.count / 2
        guard n >= 3 else { return out }
        var crossings: [Double] = []
        for y in 0..<height {
            let cy = Double(y) + 0.5
            crossings.removeAll(keepingCapacity: true)
            for i in 0..<n {
                let (x0, y0) = (flat[2 * i], flat[2 * i + 1])
                let j = (i + 1) % n
                let (x1, y1) = (flat[2 * j], flat[2 * j + 1])
                // Half-open in y, so a vertex on the scan line is counted once.
                if (y0 <= cy) != (y1 <= cy) { crossings.append(x0 + (cy - y0) / (y1 - y0) * (x1 - x0)) }
            }
            crossings.sort()
            var k = 0
            while k + 1 < crossings.count {
                // Pixels with x + 0.5 in [a, b).
                let from = pixelEdge(crossings[k] - 0.5, limit: width)
                let to = pixelEdge(crossings[k + 1] - 0.5, limit: width)
                if from < to { for x in from..<to { out[y * width + x] = true } }
                k += 2
            }
        }
        return out
    }

    /// `value` rounded up to a pixel edge in `0...limit`. Clamped as a Double first: a vertex at 1e300
    /// (or an edge that overflows to infinity) would trap converting to Int.
    public static func pixelEdge(_ value: Double, limit: Int, rounding: FloatingPointRoundingRule = .up) -> Int {
        guard !value.isNaN else { return 0 }
        return Int(min(Double(limit), max(0, value)).rounded(rounding))
    }

    /// A problem with a run-length encoding.
    public struct RLEError: Error, CustomStringConvertible {
        public var description: String
    }

    /// COCO's run-length encoding: alternating runs of outside and inside pixels, starting with
    /// outside, in column-major order (down the first column, then the next) of an image `height` x
    /// `width`. Returns the row-major mask. The runs must add up to the image.
    public static func rle(counts: [Int], width: Int, height: Int) throws -> [Bool] {
        var out = [Bool](repeating: false, count: width * height)
        var pos = 0
        for (i, c) in counts.enumerated() {
            guard c >= 0 else { throw RLEError(description: "run \(i) is negative (\(c))") }
            // `c` is compared with what is left: `pos + c` of a run of 2^63 - 1 would overflow.
            guard c <= width * height - pos else {
                throw RLEError(description: "the runs cover more than the \(width)x\(height) image's \(width * height) pixels")
            }
            if i % 2 == 1 {
                for p in pos..<(pos + c) { out[(p % height) * width + p / height] = true }
            }
            pos += c
        }
        guard pos == width * height else {
            throw RLEError(description: "the runs cover \(pos) of the \(width)x\(height) image's \(width * height) pixels")
        }
        return out
    }

    /// The run lengths of COCO's compressed RLE string (pycocotools `rleFrString`): each count in 5-bit
    /// groups with a continuation bit, the last group's sign bit extending it, as a difference to the count
    /// two before (from the fourth on), each group written as the character `48 + group`.
    public static func rleCounts(compressed s: String) throws -> [Int] {
        let bytes = Array(s.utf8)
        var counts: [Int] = []
        var p = 0
        while p < bytes.count {
            var x = 0, k = 0, more = true
            while more {
                guard p < bytes.count else { throw RLEError(description: "the counts string ends inside a number") }
                let c = Int(bytes[p]) - 48
                guard (0..<64).contains(c), k < 12 else { throw RLEError(description: "character \(p) of the counts string is not COCO RLE") }
                x |= (c & 0x1f) << (5 * k)
                more = c & 0x20 != 0
                p += 1; k += 1
                if !more && c & 0x10 != 0 { x |= -1 << (5 * k) }
            }
            if counts.count > 2 { x += counts[counts.count - 2] }
            counts.append(x)
        }
        return counts
    }
}
