/// A simulated click: one pixel with its class, as a point annotation tool records it.
public struct SimulatedPoint: Sendable, Equatable {
    /// The class id under the click (always the clicked region's class).
    public var classID: UInt8
    /// Pixel column and row.
    public var x: Int
    public var y: Int

    /// A click from its parts.
    public init(classID: UInt8, x: Int, y: Int) {
        self.classID = classID; self.x = x; self.y = y
    }
}

/// A simulated bounding box with its class; x1 and y1 are exclusive, so the box covers
/// columns x0..<x1 and rows y0..<y1 and is never empty.
public struct SimulatedBox: Sendable, Equatable {
    /// The class of the region the box was drawn around.
    public var classID: UInt8
    /// Left, top (inclusive) and right, bottom (exclusive) edges, in pixels.
    public var x0: Int
    public var y0: Int
    public var x1: Int
    public var y1: Int

    /// A box from its parts.
    public init(classID: UInt8, x0: Int, y0: Int, x1: Int, y1: Int) {
        self.classID = classID; self.x0 = x0; self.y0 = y0; self.x1 = x1; self.y1 = y1
    }
}

/// Weak labels simulated from ground-truth masks: the standard protocol for comparing
/// supervision types (points, scribbles, boxes) on one dataset without hiring annotators.
///
/// All three work per region: the 8-connected components of each class
/// (`MaskRegions.connected`, in the raster order of their first pixels), skipping pixels
/// whose value is not a class per `isLabel` (255, the dataset's ignore id). Regions smaller
/// than `minArea` pixels get nothing, as a person skips specks. Randomness comes from
/// `SeededRandom` with one stream per region, derived from `seed`, the annotator and the
/// region's first pixel: the same mask and seed give the same output on every platform
/// and run, and one region's result does not depend on the others. Per-region work stays
/// inside the region's box, so many small regions cost little.
public enum SimulatedAnnotator {
    /// Clicks placed "well inside" each region of at least `minArea` pixels.
    ///
    /// Protocol: an exact Euclidean distance transform of each region (Felzenszwalb and
    /// Huttenlocher) gives every pixel its distance to the nearest pixel outside the region,
    /// where pixels beyond the image border count as outside. With `perRegion == 1` the click
    /// is the pixel of maximum distance, ties broken by the seeded generator. With
    /// `perRegion > 1` the candidates are the pixels whose distance is at least half the
    /// region's maximum; the first click is a seeded random candidate and each next one is
    /// the candidate farthest from all clicks so far (farthest-point sampling, ties to the
    /// first in raster order), which keeps clicks apart. A region with fewer candidate
    /// pixels than `perRegion` gets one click per candidate. A click is always on a pixel
    /// of its region, so its class is the mask's class there.
    ///
    /// Output: regions in order, each region's clicks in the order chosen. `perRegion <= 0`
    /// gives no clicks.
    public static func points(mask: [UInt8], width: Int, height: Int, isLabel: [Bool],
                              perRegion: Int, minArea: Int, seed: UInt64) -> [SimulatedPoint] {
        guard perRegion > 0 else { return [] }
        var out: [SimulatedPoint] = []
        for region in annotated(mask: mask, width: width, height: height, isLabel: isLabel, minArea: minArea) {
            let raster = RegionRaster(region: region, imageWidth: width)
            let d2 = raster.squaredDistances()
            let depth = raster.local.map { Int(d2[$0]) }  // per region pixel, in pixels order
            let deepest = depth.max() ?? 0
            var rng = random(seed: seed, .points, region)
            func click(_ i: Int) -> SimulatedPoint {
                let p = Int(region.pixels[i])
                return SimulatedPoint(classID: region.classID, x: p % width, y: p / width)
            }
            if perRegion == 1 {
                let ties = depth.indices.filter { depth[$0] == deepest }
                out.append(click(ties[rng.next(below: ties.count)]))
                continue
            }
            // d >= max / 2, compared squared and in integers: 4 d^2 >= max^2.
            let candidates = depth.indices.filter { 4 * depth[$0] >= deepest }
            let xs = candidates.map { Int(region.pixels[$0]) % width }
            let ys = candidates.map { Int(region.pixels[$0]) / width }
            var nearest = [Int](repeating: .max, count: candidates.count)
            var pick = rng.next(below: candidates.count)
            for _ in 0..<perRegion {
                out.append(click(candidates[pick]))
                var best = -1, bestDistance = 0
                for j in candidates.indices {
                    let dx = xs[j] - xs[pick], dy = ys[j] - ys[pick]
                    let d = min(nearest[j], dx * dx + dy * dy)
                    nearest[j] = d
                    if d > bestDistance { bestDistance = d; best = j }
                }
                if best < 0 { break }  // every candidate already holds a click
                pick = best
            }
        }
        return out
    }

    /// The depth (a fraction of a region's deepest pixel's) below which pixels are not part of a
    /// scribble's core; see `scribbles`.
    public static let scribbleCoreDepth = 0.1

    /// A sparse label map (count width*height): the class id on scribbled pixels, 255
    /// elsewhere. One scribble per region of at least `minArea` pixels.
    ///
    /// Protocol: the region is eroded to a core, the pixels whose Euclidean distance to the
    /// outside (as in `points`) exceeds the stroke radius r = (scribbleWidth - 1) / 2 and is
    /// at least `scribbleCoreDepth` (a tenth) of the region's maximum; a region too thin for
    /// that keeps all its pixels as the core. The erosion keeps a stroke off the region's edge
    /// in proportion to its size, yet lets it run through most of the region's length, as a
    /// person's scribble does: on 100 CamVid train images, seedCRF's pseudo masks scored
    /// 51.1 % mIoU with a core of half the maximum depth, 56.5 % with a fifth, 58.6 % with a
    /// tenth and 59.7 % with no depth floor (sxyBilateral 20, srgb 3). The core is thinned to a skeleton (Zhang and Suen, 1984; should thinning
    /// erase it, as it does a 2x2 block, the core's deepest pixel stands in). The stroke is
    /// a longest path through the largest 8-connected piece of that skeleton, found by two
    /// breadth-first searches: from a seeded random skeleton pixel to the farthest one, and
    /// from there to the farthest again (exact on tree-shaped skeletons, a long path when
    /// the region has holes). The seed thus decides between equally long strokes, e.g.
    /// which diagonal of a square's X-shaped skeleton is drawn. Finally the path is thickened
    /// by a disc of radius r and intersected with the region, so a scribble never covers a
    /// pixel of another class or of the ignore value.
    ///
    /// `scribbleWidth` (>= 1) is the stroke's width in pixels: 1 draws the bare path.
    public static func scribbles(mask: [UInt8], width: Int, height: Int, isLabel: [Bool],
                                 minArea: Int, scribbleWidth: Int, seed: UInt64) -> [UInt8] {
        precondition(scribbleWidth >= 1, "scribbleWidth must be at least 1, got \(scribbleWidth)")
        var out = [UInt8](repeating: 255, count: width * height)
        let radius = Double(scribbleWidth - 1) / 2
        let reach = Int(radius)
        var disc: [(dx: Int, dy: Int)] = []
        for dy in -reach...reach {
            for dx in -reach...reach where Double(dx * dx + dy * dy) <= radius * radius { disc.append((dx, dy)) }
        }
        for region in annotated(mask: mask, width: width, height: height, isLabel: isLabel, minArea: minArea) {
            let raster = RegionRaster(region: region, imageWidth: width)
            let d2 = raster.squaredDistances()
            let deepest = raster.local.reduce(0) { max($0, Int(d2[$1])) }
            var core = raster.local.filter {
                let d = Int(d2[$0])
                // d2 >= (coreDepth * deepest distance)^2, in squared distances.
                return Double(d) > radius * radius && Double(d) >= scribbleCoreDepth * scribbleCoreDepth * Double(deepest)
            }
            if core.isEmpty { core = raster.local }  // too thin to erode
            var grid = [UInt8](repeating: 0, count: raster.width * raster.height)
            for l in core { grid[l] = 1 }
            var skeleton = thin(&grid, width: raster.width, pixels: core)
            if skeleton.isEmpty {
                var top = core[0]
                for l in core where d2[l] > d2[top] { top = l }
                grid[top] = 1
                skeleton = [top]
            }
            var rng = random(seed: seed, .scribbles, region)
            for l in longestPath(grid, width: raster.width, skeleton: skeleton, rng: &rng) {
                let lx = l % raster.width, ly = l / raster.width
                for o in disc {
                    let nx = lx + o.dx, ny = ly + o.dy
                    guard nx >= 0, nx < raster.width, ny >= 0, ny < raster.height,
                          raster.inside[ny * raster.width + nx] != 0 else { continue }
                    out[(raster.originY + ny) * width + raster.originX + nx] = region.classID
                }
            }
        }
        return out
    }

    /// The tight box of each region of at least `minArea` pixels; `jitter` (fraction of the
    /// box's width/height, 0 = tight) moves each side by a uniform random amount in
    /// [-jitter, +jitter] * size, clamped to the image, never empty.
    ///
    /// Protocol: the tight box is the region's own (`MaskRegion.x0...y1`). With jitter > 0
    /// the sides move independently, drawn in the order left, top, right, bottom from the
    /// region's seeded stream: left and right by up to jitter times the box's width, top and
    /// bottom by up to jitter times its height, each rounded to the nearest pixel (halves
    /// away from zero) and clamped to the image. A box that the draws turn inside out or
    /// flatten becomes one pixel wide (or high) at the middle of its two drawn sides, so
    /// every box covers at least one pixel. A region's box is a box around the region, not
    /// around the object: an object split by an occluder gets one box per visible piece.
    public static func boxes(mask: [UInt8], width: Int, height: Int, isLabel: [Bool],
                             minArea: Int, jitter: Double, seed: UInt64) -> [SimulatedBox] {
        precondition(jitter >= 0 && jitter.isFinite, "jitter must be a finite fraction >= 0, got \(jitter)")
        return annotated(mask: mask, width: width, height: height, isLabel: isLabel, minArea: minArea).map { r in
            var rng = random(seed: seed, .boxes, r)
            func moved(_ side: Int, _ size: Int, _ limit: Int) -> Int {
                let shift = (2 * rng.nextDouble() - 1) * jitter * Double(size)
                return Int(min(max((Double(side) + shift).rounded(), 0), Double(limit)))
            }
            let w = r.x1 - r.x0, h = r.y1 - r.y0
            var x0 = moved(r.x0, w, width), y0 = moved(r.y0, h, height)
            var x1 = moved(r.x1, w, width), y1 = moved(r.y1, h, height)
            if x1 <= x0 { x0 = min((x0 + x1) / 2, width - 1); x1 = x0 + 1 }
            if y1 <= y0 { y0 = min((y0 + y1) / 2, height - 1); y1 = y0 + 1 }
            return SimulatedBox(classID: r.classID, x0: x0, y0: y0, x1: x1, y1: y1)
        }
    }

    // MARK: - Shared steps

    /// Which annotator draws from a stream: the same seed gives each its own numbers.
    enum Kind: UInt64 { case points = 1, scribbles = 2, boxes = 3 }

    /// The region's own stream: seeded by `seed`, told apart by annotator and first pixel.
    static func random(seed: UInt64, _ kind: Kind, _ region: MaskRegion) -> SeededRandom {
        SeededRandom(seed: seed, stream: kind.rawValue << 32 | UInt64(UInt32(bitPattern: region.pixels[0])))
    }

    /// The 8-connected regions an annotator labels: those of at least `minArea` pixels.
    static func annotated(mask: [UInt8], width: Int, height: Int, isLabel: [Bool], minArea: Int) -> [MaskRegion] {
        MaskRegions.connected(mask: mask, width: width, height: height, isLabel: isLabel)
            .filter { $0.area >= minArea }
    }

    /// Zhang–Suen thinning of the 0/1 `grid` in place; `pixels` are its 1-cells, none on the
    /// grid's border (a `RegionRaster` guarantees that). Returns the cells left, ascending.
    /// Only the remaining foreground is visited each pass, so the cost follows the core's
    /// area times its half-thickness, not the box's area.
    static func thin(_ grid: inout [UInt8], width w: Int, pixels: [Int]) -> [Int] {
        var remaining = pixels
        var doomed: [Int] = []
        var changed = true
        while changed {
            changed = false
            for step in 0..<2 {
                doomed.removeAll(keepingCapacity: true)
                for p in remaining {
                    // Neighbours clockwise from north: P2..P9 in Zhang and Suen's naming.
                    let n = grid[p - w], ne = grid[p - w + 1], e = grid[p + 1], se = grid[p + w + 1]
                    let s = grid[p + w], sw = grid[p + w - 1], wst = grid[p - 1], nw = grid[p - w - 1]
                    let count = Int(n) + Int(ne) + Int(e) + Int(se) + Int(s) + Int(sw) + Int(wst) + Int(nw)
                    // Lü and Wang's 3 (Zhang and Suen had 2): an end of a two-pixel-thick
                    // diagonal line has two neighbours, and deleting it eats the line away.
                    guard count >= 3 && count <= 6 else { continue }
                    // 0 -> 1 steps around the ring (cells are 0 or 1, so (1 - a) & b is the step).
                    let rises = Int((1 &- n) & ne) + Int((1 &- ne) & e) + Int((1 &- e) & se) + Int((1 &- se) & s)
                        + Int((1 &- s) & sw) + Int((1 &- sw) & wst) + Int((1 &- wst) & nw) + Int((1 &- nw) & n)
                    guard rises == 1 else { continue }
                    if step == 0 {
                        guard n & e & s == 0 && e & s & wst == 0 else { continue }
                    } else {
                        guard n & e & wst == 0 && n & s & wst == 0 else { continue }
                    }
                    doomed.append(p)
                }
                guard !doomed.isEmpty else { continue }
                changed = true
                for p in doomed { grid[p] = 0 }
                remaining.removeAll { grid[$0] == 0 }
            }
        }
        return remaining
    }

    /// A longest path (as a list of cells) through the largest 8-connected piece of the
    /// 1-cells `skeleton` of `grid` (ties: the piece found first in raster order), by the
    /// double breadth-first search described in `scribbles`.
    static func longestPath(_ grid: [UInt8], width w: Int, skeleton: [Int], rng: inout SeededRandom) -> [Int] {
        let steps = [-w - 1, -w, -w + 1, -1, 1, w - 1, w, w + 1]
        var parent = [Int](repeating: -2, count: grid.count)  // -2: not reached yet
        var queue: [Int] = []

        /// Breadth-first search from `start`, filling `parent` (-1 at the start); returns the
        /// order of visits and the range of it that holds the farthest layer.
        func search(from start: Int) -> (order: [Int], farthest: Range<Int>) {
            queue.removeAll(keepingCapacity: true)
            queue.append(start)
            parent[start] = -1
            var head = 0, layerStart = 0, layerEnd = 1
            while head < queue.count {
                if head == layerEnd { layerStart = layerEnd; layerEnd = queue.count }
                let p = queue[head]
                head += 1
                for step in steps where grid[p + step] != 0 && parent[p + step] == -2 {
                    parent[p + step] = p
                    queue.append(p + step)
                }
            }
            return (queue, layerStart..<queue.count)
        }
        func reset(_ cells: [Int]) { for c in cells { parent[c] = -2 } }

        var piece: [Int] = []
        for s in skeleton where parent[s] == -2 {
            let found = search(from: s).order
            if found.count > piece.count { piece = found }
        }
        reset(skeleton)
        let first = search(from: piece[rng.next(below: piece.count)])
        let a = first.order[first.farthest.lowerBound + rng.next(below: first.farthest.count)]
        reset(first.order)
        let second = search(from: a)
        var b = second.order[second.farthest.lowerBound + rng.next(below: second.farthest.count)]
        var path = [b]
        while parent[b] >= 0 { b = parent[b]; path.append(b) }
        return path
    }
}
