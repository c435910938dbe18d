// MARK: - Resizing

/// Bilinear resize (pixel centres aligned, as OpenCV's `INTER_LINEAR` and PIL's
/// `BILINEAR` without antialiasing). Returns an empty image for a zero target size.
public func resized(_ img: RGBImage, width: Int, height: Int) -> RGBImage {
    precondition(width >= 0 && height >= 0, "negative target size \(width)x\(height)")
    if width == img.width && height == img.height { return img }
    if width == 0 || height == 0 || img.width == 0 || img.height == 0 {
        return RGBImage(width: width, height: height)
    }
    let xs = samples(from: img.width, to: width)
    let ys = samples(from: img.height, to: height)
    // Flat per-column tables: byte offsets of the two neighbours and the second's weight.
    let xa = xs.map { $0.i0 * 3 }, xb = xs.map { $0.i1 * 3 }, xw = xs.map { Int32($0.w) }
    let stride = img.width * 3
    var out = [UInt8](repeating: 0, count: width * height * 3)
    out.withUnsafeMutableBufferPointer { dstBuf in
        img.pixels.withUnsafeBufferPointer { srcBuf in
            xa.withUnsafeBufferPointer { xa in
                xb.withUnsafeBufferPointer { xb in
                    xw.withUnsafeBufferPointer { xw in
                        let src = srcBuf.baseAddress!, dst = dstBuf.baseAddress!
                        for y in 0..<height {
                            let top = src + ys[y].i0 * stride, bot = src + ys[y].i1 * stride
                            let wy = Int32(ys[y].w), vy = Int32(weightOne) - wy
                            var o = dst + y * width * 3
                            for x in 0..<width {
                                let a = xa[x], b = xb[x], wx = xw[x], vx = Int32(weightOne) - wx
                                for c in 0..<3 {
                                    // Rows in 11-bit fixed point, then columns: fits Int32 (255 * 2^22).
                                    let t = (Int32(top[a + c]) * vx + Int32(top[b + c]) * wx + 1024) >> 11
                                    let u = (Int32(bot[a + c]) * vx + Int32(bot[b + c]) * wx + 1024) >> 11
                                    o[c] = UInt8(truncatingIfNeeded: (t * vy + u * wy + 1024) >> 11)
                                }
                                o += 3
                            }
                        }
                    }
                }
            }
        }
    }
    return RGBImage(width: width, height: height, pixels: out)
}

/// Nearest-neighbour resize for label masks: class ids are never blended.
public func resized(_ mask: GrayImage, width: Int, height: Int) -> GrayImage {
    precondition(width >= 0 && height >= 0, "negative target size \(width)x\(height)")
    if width == mask.width && height == mask.height { return mask }
    if width == 0 || height == 0 || mask.width == 0 || mask.height == 0 {
        return GrayImage(width: width, height: height)
    }
    let xs = (0..<width).map { min(mask.width - 1, (2 * $0 + 1) * mask.width / (2 * width)) }
    var out = [UInt8](repeating: 0, count: width * height)
    out.withUnsafeMutableBufferPointer { dst in
        mask.pixels.withUnsafeBufferPointer { src in
            xs.withUnsafeBufferPointer { xs in
                for y in 0..<height {
                    let row = min(mask.height - 1, (2 * y + 1) * mask.height / (2 * height)) * mask.width
                    let o = y * width
                    for x in 0..<width { dst[o + x] = src[row + xs[x]] }
                }
            }
        }
    }
    return GrayImage(width: width, height: height, pixels: out)
}

// MARK: - Helpers

private let weightShift = 11
private let weightOne = 1 << weightShift

/// For each target coordinate: the two source neighbours and the weight of the second.
private func samples(from source: Int, to target: Int) -> [(i0: Int, i1: Int, w: Int)] {
    let scale = Double(source) / Double(target)
    return (0..<target).map { t in
        let s = min(max((Double(t) + 0.5) * scale - 0.5, 0), Double(source - 1))
        let i0 = Int(s)
        let i1 = min(i0 + 1, source - 1)
        return (i0, i1, Int((s - Double(i0)) * Double(weightOne) + 0.5))
    }
}
