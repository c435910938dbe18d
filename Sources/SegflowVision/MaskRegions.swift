/// One connected region of a label mask: pixels of one class id joined through 8- (or 4-)
/// neighbours. The simulated annotators place their clicks, scribbles and boxes per region,
/// the way a person annotates each object (or each visible piece of one) separately.
public struct MaskRegion: Sendable, Equatable {
    /// The mask value every pixel of the region has.
    public var classID: UInt8
    /// The number of pixels (`pixels.count`).
    public var area: Int
    /// Tight box, x1/y1 exclusive: the region touches all four sides.
    public var x0: Int, y0: Int, x1: Int, y1: Int
    /// Pixel indices (y * width + x), ascending: `pixels[0]` is the region's first pixel in
    /// raster order, which also fixes the order of regions.
    public var pixels: [Int32]

    /// A region from its parts; `MaskRegions.connected` is the usual way to get one.
    public init(classID: UInt8, area: Int, x0: Int, y0: Int, x1: Int, y1: Int, pixels: [Int32]) {
        self.classID = classID
        self.area = area
        self.x0 = x0; self.y0 = y0; self.x1 = x1; self.y1 = y1
        self.pixels = pixels
    }
}

/// Connected-component labelling of label masks.
public enum MaskRegions {
    /// The connected regions of `mask` (`width * height` bytes, row-major), in the raster
    /// order of their first pixels, so the result never depends on anything but the mask.
    ///
    /// `isLabel[v]` (256 entries) says whether pixel value v is a class (false for 255 and
    /// the dataset's ignore id): only those form regions; other pixels belong to none and
    /// also do not join the regions around them. `eightConnected` joins diagonal neighbours
    /// too (the default: a diagonal stroke is one object to a person); false joins only
    /// the four edge neighbours.
    ///
    /// Two-pass union-find labelling, O(width * height): one raster pass unions each pixel
    /// with its already-visited neighbours of the same value, a second resolves labels and
    /// a counting sort hands each region its pixels already ascending.
    public static func connected(mask: [UInt8], width: Int, height: Int, isLabel: [Bool],
                                 eightConnected: Bool = true) -> [MaskRegion] {
        precondition(width >= 0 && height >= 0 && mask.count == width * height,
                     "mask of \(mask.count) bytes is not \(width)x\(height)")
        precondition(isLabel.count == 256, "isLabel needs 256 entries, got \(isLabel.count)")
        let n = width * height
        // Provisional label per pixel (-1: not a class), then the final region index.
        var label = [Int32](repeating: -1, count: n)
        // Union-find forest over provisional labels (at most one per pixel). Roots are
        // always the smallest label of their set, and labels are created in raster order,
        // so a root is the label of its component's first pixel and parent[i] <= i.
        var parent = [Int32](repeating: 0, count: n)
        var labels = 0
        mask.withUnsafeBufferPointer { mask in
            label.withUnsafeMutableBufferPointer { label in
                parent.withUnsafeMutableBufferPointer { parent in
                    labels = unionPass(mask: mask, width: width, height: height, isLabel: isLabel,
                                       eightConnected: eightConnected, label: label, parent: parent)
                }
            }
        }

        // Final index per provisional label: since parent[i] <= i, one ascending sweep
        // resolves every label to its root, and roots come out in first-pixel order.
        var regionOf = [Int32](repeating: -1, count: labels)
        var count = 0
        for i in 0..<labels {
            let root = Int(parent[Int(parent[i])])
            parent[i] = Int32(root)
            if root == i { regionOf[i] = Int32(count); count += 1 } else { regionOf[i] = regionOf[root] }
        }

        var areas = [Int](repeating: 0, count: count), classes = [UInt8](repeating: 0, count: count)
        var x0s = [Int](repeating: .max, count: count), y0s = [Int](repeating: -1, count: count)
        var x1s = [Int](repeating: 0, count: count), y1s = [Int](repeating: 0, count: count)
        for y in 0..<height {
            for x in 0..<width {
                let p = y * width + x
                guard label[p] >= 0 else { continue }
                let r = Int(regionOf[Int(label[p])])
                label[p] = Int32(r)
                areas[r] += 1
                // Rows come in order: the first row seen is the top, the last the bottom.
                if y0s[r] < 0 { y0s[r] = y; classes[r] = mask[p] }
                y1s[r] = y + 1
                if x < x0s[r] { x0s[r] = x }
                if x >= x1s[r] { x1s[r] = x + 1 }
            }
        }

        // Counting sort of pixel indices by region: scanning in raster order keeps each
        // region's run ascending without a per-region sort.
        var start = [Int](repeating: 0, count: count + 1)
        for r in 0..<count { start[r + 1] = start[r] + areas[r] }
        var cursor = start
        var flat = [Int32](repeating: 0, count: start[count])
        for p in 0..<n where label[p] >= 0 {
            let r = Int(label[p])
            flat[cursor[r]] = Int32(p)
            cursor[r] += 1
        }
        return (0..<count).map { r in
            MaskRegion(classID: classes[r], area: areas[r], x0: x0s[r], y0: y0s[r], x1: x1s[r], y1: y1s[r],
                       pixels: Array(flat[start[r]..<start[r + 1]]))
        }
    }

    /// The first pass: gives each class pixel a provisional label, unioning the labels of
    /// already-visited neighbours of the same value. Returns the number of labels made.
    /// On raw buffers because it touches every pixel of every image.
    private static func unionPass(mask: UnsafeBufferPointer<UInt8>, width: Int, height: Int, isLabel: [Bool],
                                  eightConnected: Bool, label: UnsafeMutableBufferPointer<Int32>,
                                  parent: UnsafeMutableBufferPointer<Int32>) -> Int {
        var labels: Int32 = 0
        func find(_ start: Int32) -> Int32 {
            var x = start
            while parent[Int(x)] != x {
                parent[Int(x)] = parent[Int(parent[Int(x)])]  // path halving
                x = parent[Int(x)]
            }
            return x
        }
        /// `current` joined with `other` (either may be -1: none yet): equal labels, the
        /// common case inside a region, need no find.
        func merge(_ current: Int32, _ other: Int32) -> Int32 {
            if current < 0 || current == other { return other }
            let a = find(current), b = find(other)
            if a < b { parent[Int(b)] = a } else if b < a { parent[Int(a)] = b }
            return min(a, b)
        }
        for y in 0..<height {
            let row = y * width
            for x in 0..<width {
                let p = row + x
                let v = mask[p]
                guard isLabel[Int(v)] else { continue }
                // A neighbour with the same value is a class pixel, so it already has a label.
                var current: Int32 = -1
                if x > 0 && mask[p - 1] == v { current = label[p - 1] }
                if y > 0 {
                    let up = p - width
                    if eightConnected && x > 0 && mask[up - 1] == v { current = merge(current, label[up - 1]) }
                    if mask[up] == v { current = merge(current, label[up]) }
                    if eightConnected && x + 1 < width && mask[up + 1] == v { current = merge(current, label[up + 1]) }
                }
                if current < 0 {
                    current = labels
                    parent[Int(labels)] = labels
                    labels += 1
                }
                label[p] = current
            }
        }
        return Int(labels)
    }
}

/// A region drawn into its own box grown by one pixel on every side, so per-region work
/// (distance transform, thinning, path search) costs the box's area, not the image's, and
/// needs no bounds checks: the one-pixel ring is outside the region by construction.
struct RegionRaster {
    /// Image coordinates of local cell (0, 0): the region's box corner minus one.
    let originX: Int, originY: Int
    /// Local grid size: the box plus two.
    let width: Int, height: Int
    /// 1 on region cells, 0 elsewhere (UInt8 so thinning can count neighbours by adding).
    let inside: [UInt8]
    /// The local index of each region pixel, in the order of `MaskRegion.pixels`
    /// (ascending here too, since local order is raster order within the box).
    let local: [Int]

    init(region: MaskRegion, imageWidth: Int) {
        originX = region.x0 - 1
        originY = region.y0 - 1
        width = region.x1 - region.x0 + 2
        height = region.y1 - region.y0 + 2
        var inside = [UInt8](repeating: 0, count: width * height)
        var local = [Int]()
        local.reserveCapacity(region.area)
        for p in region.pixels {
            let ix = Int(p) % imageWidth, iy = Int(p) / imageWidth
            let l = (iy - originY) * width + (ix - originX)
            inside[l] = 1
            local.append(l)
        }
        self.inside = inside
        self.local = local
    }

    /// Exact squared Euclidean distance from each cell to the nearest cell outside the
    /// region (0 outside), Felzenszwalb & Huttenlocher, "Distance transforms of sampled
    /// functions" (2012). Pixels beyond the image count as outside: the ring around the
    /// box stands in for them, and no outside pixel farther out can be nearer than the ring.
    /// Integer arithmetic throughout, so the values are the same on every platform.
    func squaredDistances() -> [Int32] {
        let w = width, h = height
        var out = [Int32](repeating: 0, count: w * h)
        // Pass 1, columns: distance to the nearest outside cell in the same column. Every
        // column starts and ends on the ring, so both scans start from 0. Row by row, so
        // memory is read in order.
        var g = [Int32](repeating: 0, count: w * h)
        inside.withUnsafeBufferPointer { inside in
            g.withUnsafeMutableBufferPointer { g in
                for y in 1..<h {
                    let row = y * w
                    for x in 0..<w where inside[row + x] != 0 { g[row + x] = g[row - w + x] + 1 }
                }
                for y in stride(from: h - 2, through: 0, by: -1) {
                    let row = y * w
                    for x in 0..<w where g[row + x] > g[row + w + x] + 1 { g[row + x] = g[row + w + x] + 1 }
                }
            }
        }
        // Pass 2, rows: lower envelope of the parabolas (q - v)^2 + g(v)^2. Every row has
        // ring cells with g = 0 at both ends, so all values are finite.
        // Scratch for the rows, one buffer cut in four: v, zNum, zDen, f.
        var scratch = [Int](repeating: 0, count: 4 * w)
        g.withUnsafeBufferPointer { g in
            out.withUnsafeMutableBufferPointer { out in
                scratch.withUnsafeMutableBufferPointer { s in
                    let part = (0..<4).map { UnsafeMutableBufferPointer(rebasing: s[($0 * w)..<($0 * w + w)]) }
                    for y in 1..<(h - 1) {
                        Self.envelope(g: UnsafeBufferPointer(rebasing: g[(y * w)..<(y * w + w)]),
                                      into: UnsafeMutableBufferPointer(rebasing: out[(y * w)..<(y * w + w)]),
                                      v: part[0], zNum: part[1], zDen: part[2], f: part[3])
                    }
                }
            }
        }
        return out
    }

    /// One row of Felzenszwalb–Huttenlocher: `out[q] = min over p of (q - p)^2 + g[p]^2`.
    /// The breakpoints between parabolas are fractions kept as integer numerator and
    /// denominator (`zNum`, `zDen`, denominators > 0) and compared by cross-multiplying:
    /// no floating point at all, so nothing can round differently anywhere. `v`, `zNum`,
    /// `zDen` and `f` are scratch of the row's length. The ring rows (all 0) are not passed in.
    private static func envelope(g: UnsafeBufferPointer<Int32>, into out: UnsafeMutableBufferPointer<Int32>,
                                 v: UnsafeMutableBufferPointer<Int>, zNum: UnsafeMutableBufferPointer<Int>,
                                 zDen: UnsafeMutableBufferPointer<Int>, f: UnsafeMutableBufferPointer<Int>) {
        let w = g.count
        for x in 0..<w { f[x] = Int(g[x]) * Int(g[x]) }
        // Parabola k is lowest from breakpoint k (exclusive of k == 0: -infinity) up to k + 1.
        var k = 0
        v[0] = 0
        for q in 1..<w {
            var num = 0, den = 1
            while true {
                let p = v[k]
                num = (f[q] + q * q) - (f[p] + p * p)
                den = 2 * (q - p)
                // Pop parabola k while the new one undercuts it from its breakpoint on.
                if k > 0 && num * zDen[k] <= zNum[k] * den { k -= 1 } else { break }
            }
            k += 1
            v[k] = q; zNum[k] = num; zDen[k] = den
        }
        let last = k
        k = 0
        for q in 0..<w {
            while k < last && zNum[k + 1] < q * zDen[k + 1] { k += 1 }
            let d = q - v[k]
            out[q] = Int32(d * d + f[v[k]])
        }
    }
}
