// MARK: - Composition

/// Lays `tiles` out in a grid of `columns`, each scaled (bilinear) to the first tile's
/// height, keeping its aspect ratio. Cells are as wide as the widest scaled tile; tiles
/// sit at their cell's top-left; `gap` pixels of `background` separate cells (none
/// around the border). Size: `cols * cellWidth + (cols - 1) * gap` by
/// `rows * height + (rows - 1) * gap`, with `cols = min(columns, tiles.count)`.
public func contactSheet(_ tiles: [RGBImage], columns: Int, gap: Int,
                         background: (UInt8, UInt8, UInt8) = (255, 255, 255)) -> RGBImage {
    guard let first = tiles.first, first.height > 0 else { return RGBImage(width: 0, height: 0) }
    let h = first.height
    let scaled = tiles.map { t -> RGBImage in
        guard t.height != h else { return t }
        let w = t.height == 0 ? 1 : max(1, Int((Double(t.width) * Double(h) / Double(t.height)).rounded()))
        return resized(t, width: w, height: h)
    }
    let cols = max(1, min(columns, tiles.count))
    let rows = (tiles.count + cols - 1) / cols
    let g = max(0, gap)
    let cellW = scaled.map(\.width).max() ?? 0
    var sheet = RGBImage(width: cols * cellW + (cols - 1) * g, height: rows * h + (rows - 1) * g,
                         fill: background)
    for (i, t) in scaled.enumerated() {
        paste(t, on: &sheet, x: (i % cols) * (cellW + g), y: (i / cols) * (h + g))
    }
    return sheet
}

/// Copies `tile` onto `canvas` with its top-left corner at (`x`, `y`), clipped to the canvas.
public func paste(_ tile: RGBImage, on canvas: inout RGBImage, x: Int, y: Int) {
    let x0 = max(0, x), x1 = min(canvas.width, x + tile.width)
    let y0 = max(0, y), y1 = min(canvas.height, y + tile.height)
    guard x0 < x1, y0 < y1 else { return }
    let cw = canvas.width, tw = tile.width
    let bytes = (x1 - x0) * 3
    canvas.pixels.withUnsafeMutableBufferPointer { dst in
        tile.pixels.withUnsafeBufferPointer { src in
            for row in y0..<y1 {
                let d = (row * cw + x0) * 3
                let s = ((row - y) * tw + (x0 - x)) * 3
                (dst.baseAddress! + d).update(from: src.baseAddress! + s, count: bytes)
            }
        }
    }
}

/// Fills a rectangle (clipped to the image) with one colour, e.g. behind a caption.
public func fillRect(on img: inout RGBImage, x: Int, y: Int, width: Int, height: Int,
                     color: (UInt8, UInt8, UInt8)) {
    let x0 = max(0, x), x1 = min(img.width, x + width)
    let y0 = max(0, y), y1 = min(img.height, y + height)
    guard x0 < x1, y0 < y1 else { return }
    let w = img.width
    img.pixels.withUnsafeMutableBufferPointer { px in
        for row in y0..<y1 {
            var o = (row * w + x0) * 3
            for _ in x0..<x1 {
                px[o] = color.0
                px[o + 1] = color.1
                px[o + 2] = color.2
                o += 3
            }
        }
    }
}
