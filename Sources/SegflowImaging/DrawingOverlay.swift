// MARK: - Overlays and colourised masks

/// Blends a jet-coloured heatmap over `image`: `out = (1 - alpha) * image + alpha * jet(map)`.
/// `map` holds `image.height * image.width` values in 0...1 (clamped), row-major.
public func heatmapOverlay(image: RGBImage, map: [Float], alpha: Float) -> RGBImage {
    precondition(map.count == image.width * image.height,
                 "heatmap has \(map.count) values for a \(image.width)x\(image.height) image")
    let a = Int(min(max(alpha, 0), 1) * 256 + 0.5)
    var out = image
    let lut = ColorMap.jetTable
    out.pixels.withUnsafeMutableBufferPointer { px in
        map.withUnsafeBufferPointer { m in
            lut.withUnsafeBufferPointer { t in
                for i in 0..<m.count {
                    let c = t[ColorMap.level(m[i])]
                    let o = 3 * i
                    px[o] = blend(px[o], c.0, a)
                    px[o + 1] = blend(px[o + 1], c.1, a)
                    px[o + 2] = blend(px[o + 2], c.2, a)
                }
            }
        }
    }
    return out
}

/// Paints each mask pixel whose value has a colour in `colors` over `image` with
/// opacity `alpha`. Pixels with no colour, and `255` (ignore) always, are left as they are.
public func maskOverlay(image: RGBImage, mask: GrayImage, colors: [UInt8: (UInt8, UInt8, UInt8)],
                        alpha: Float) -> RGBImage {
    precondition(mask.width == image.width && mask.height == image.height,
                 "mask \(mask.width)x\(mask.height) does not match image \(image.width)x\(image.height)")
    let (lut, painted) = colorTable(colors)
    let a = Int(min(max(alpha, 0), 1) * 256 + 0.5)
    var out = image
    out.pixels.withUnsafeMutableBufferPointer { px in
        mask.pixels.withUnsafeBufferPointer { m in
            lut.withUnsafeBufferPointer { lut in
            painted.withUnsafeBufferPointer { painted in
            for i in 0..<m.count where painted[Int(m[i])] {
                let c = lut[Int(m[i])]
                let o = 3 * i
                px[o] = blend(px[o], c.0, a)
                px[o + 1] = blend(px[o + 1], c.1, a)
                px[o + 2] = blend(px[o + 2], c.2, a)
            }
            }
            }
        }
    }
    return out
}

/// The mask as a colour picture: each value gets its colour from `colors`; values
/// without one, and `255` (ignore) unless `colors` names it, are black.
public func colorize(mask: GrayImage, colors: [UInt8: (UInt8, UInt8, UInt8)]) -> RGBImage {
    var lut = [(UInt8, UInt8, UInt8)](repeating: (0, 0, 0), count: 256)
    for (k, c) in colors { lut[Int(k)] = c }
    var out = [UInt8](repeating: 0, count: mask.width * mask.height * 3)
    out.withUnsafeMutableBufferPointer { px in
        mask.pixels.withUnsafeBufferPointer { m in
            for i in 0..<m.count {
                let c = lut[Int(m[i])]
                px[3 * i] = c.0
                px[3 * i + 1] = c.1
                px[3 * i + 2] = c.2
            }
        }
    }
    return RGBImage(width: mask.width, height: mask.height, pixels: out)
}

// MARK: - Helpers

/// A 256-entry lookup of colours and whether each value is painted (255 never is).
private func colorTable(_ colors: [UInt8: (UInt8, UInt8, UInt8)]) -> ([(UInt8, UInt8, UInt8)], [Bool]) {
    var lut = [(UInt8, UInt8, UInt8)](repeating: (0, 0, 0), count: 256)
    var painted = [Bool](repeating: false, count: 256)
    for (k, c) in colors where k != 255 {
        lut[Int(k)] = c
        painted[Int(k)] = true
    }
    return (lut, painted)
}

/// `(1 - a/256) * x + (a/256) * y`, in integers.
@inline(__always)
func blend(_ x: UInt8, _ y: UInt8, _ a: Int) -> UInt8 {
    UInt8(truncatingIfNeeded: (Int(x) * (256 - a) + Int(y) * a + 128) >> 8)
}
