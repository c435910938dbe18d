// MARK: - Captions

/// Draws `s` with the built-in 5x7 font, top-left corner at (`x`, `y`), each font
/// pixel a `scale` x `scale` square, clipped to the image. Characters advance
/// `6 * scale` pixels; `\n` starts a new line `8 * scale` lower. Characters outside
/// printable ASCII are drawn as `?`.
public func drawText(_ s: String, on img: inout RGBImage, x: Int, y: Int, scale: Int = 1,
                     color: (UInt8, UInt8, UInt8) = (255, 255, 255)) {
    let k = max(1, scale)
    var cx = x, cy = y
    for u in s.unicodeScalars {
        if u == "\n" {
            cx = x
            cy += 8 * k
            continue
        }
        let code = (32...126).contains(u.value) ? Int(u.value) : Int(UInt8(ascii: "?"))
        drawGlyph(code - 32, on: &img, x: cx, y: cy, scale: k, color: color)
        cx += 6 * k
    }
}

/// The size `drawText` covers for `s`: `(6 * longest line - 1) * scale` by `(8 * lines - 1) * scale`.
public func textSize(_ s: String, scale: Int = 1) -> (width: Int, height: Int) {
    let k = max(1, scale)
    let lines = s.split(separator: "\n", omittingEmptySubsequences: false)
    let longest = lines.map { $0.unicodeScalars.count }.max() ?? 0
    return (longest == 0 ? 0 : (6 * longest - 1) * k, (8 * lines.count - 1) * k)
}

private func drawGlyph(_ index: Int, on img: inout RGBImage, x: Int, y: Int, scale: Int,
                       color: (UInt8, UInt8, UInt8)) {
    for row in 0..<7 {
        let bits = font5x7[7 * index + row]
        if bits == 0 { continue }
        for col in 0..<5 where bits & (0x10 >> col) != 0 {
            fillRect(on: &img, x: x + col * scale, y: y + row * scale, width: scale, height: scale,
                     color: color)
        }
    }
}
