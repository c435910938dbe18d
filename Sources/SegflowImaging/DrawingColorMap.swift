// MARK: - Colour maps

/// Colour maps for heatmaps.
public enum ColorMap {
    /// matplotlib's (and OpenCV's) "jet": dark blue at 0, cyan, yellow, dark red at 1.
    /// `v` is clamped to 0...1; NaN maps like 0. Endpoints: `jet(0) == (0, 0, 128)`,
    /// `jet(1) == (128, 0, 0)`.
    public static func jet(_ v: Float) -> (UInt8, UInt8, UInt8) {
        let x = v.isNaN ? 0 : min(max(v, 0), 1)
        return (byte(interpolate(x, red)), byte(interpolate(x, green)), byte(interpolate(x, blue)))
    }

    /// `jet` sampled at 256 levels, index `i` for value `i / 255`; for hot loops.
    public static let jetTable: [(UInt8, UInt8, UInt8)] = (0..<256).map { jet(Float($0) / 255) }

    // matplotlib's _jet_data: (x, y) breakpoints of each channel.
    private static let red: [(Float, Float)] = [(0, 0), (0.35, 0), (0.66, 1), (0.89, 1), (1, 0.5)]
    private static let green: [(Float, Float)] = [(0, 0), (0.125, 0), (0.375, 1), (0.64, 1), (0.91, 0), (1, 0)]
    private static let blue: [(Float, Float)] = [(0, 0.5), (0.11, 1), (0.34, 1), (0.65, 0), (1, 0)]

    private static func interpolate(_ x: Float, _ points: [(Float, Float)]) -> Float {
        for i in 1..<points.count where x <= points[i].0 {
            let (x0, y0) = points[i - 1], (x1, y1) = points[i]
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
        }
        return points[points.count - 1].1
    }

    private static func byte(_ f: Float) -> UInt8 {
        UInt8(min(max(f * 255 + 0.5, 0), 255))
    }

    /// Index into `jetTable` for `v` in 0...1 (clamped; NaN gives 0).
    @inline(__always)
    static func level(_ v: Float) -> Int {
        guard v > 0 else { return 0 }
        return v >= 1 ? 255 : Int(v * 255 + 0.5)
    }
}
