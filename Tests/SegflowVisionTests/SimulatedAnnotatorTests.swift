import Foundation
import XCTest
import SegflowImaging
@testable import SegflowVision

/// Connected components and the simulated point, scribble and box annotators: hand-made
/// masks with known answers, pinned outputs for a fixed seed, and the invariant that no
/// simulated label ever disagrees with the mask it came from (on a real CamVid mask too).
final class SimulatedAnnotatorTests: XCTestCase {
    /// Every value but 11 (CamVid's "Unlabelled") and 255 is a class.
    static let isLabel: [Bool] = (0..<256).map { $0 != 11 && $0 != 255 }

    // MARK: - Connected components

    func testEightConnectivityJoinsDiagonalsAndFourDoesNot() {
        // 1 0 0
        // 0 1 0
        // 0 0 1
        let mask: [UInt8] = [1, 0, 0, 0, 1, 0, 0, 0, 1]
        let eight = MaskRegions.connected(mask: mask, width: 3, height: 3, isLabel: Self.isLabel)
        XCTAssertEqual(eight, [
            MaskRegion(classID: 1, area: 3, x0: 0, y0: 0, x1: 3, y1: 3, pixels: [0, 4, 8]),
            // The zeros meet across the diagonal of ones between pixels 1 and 3, 5 and 7.
            MaskRegion(classID: 0, area: 6, x0: 0, y0: 0, x1: 3, y1: 3, pixels: [1, 2, 3, 5, 6, 7]),
        ])
        let four = MaskRegions.connected(mask: mask, width: 3, height: 3, isLabel: Self.isLabel, eightConnected: false)
        XCTAssertEqual(four, [
            MaskRegion(classID: 1, area: 1, x0: 0, y0: 0, x1: 1, y1: 1, pixels: [0]),
            MaskRegion(classID: 0, area: 3, x0: 1, y0: 0, x1: 3, y1: 2, pixels: [1, 2, 5]),
            MaskRegion(classID: 0, area: 3, x0: 0, y0: 1, x1: 2, y1: 3, pixels: [3, 6, 7]),
            MaskRegion(classID: 1, area: 1, x0: 1, y0: 1, x1: 2, y1: 2, pixels: [4]),
            MaskRegion(classID: 1, area: 1, x0: 2, y0: 2, x1: 3, y1: 3, pixels: [8]),
        ])
    }

    func testIgnoredValuesFormNoRegionAndDoNotBridge() {
        // 11 and 255 are not classes: they form no region and split the ones around them.
        let mask: [UInt8] = [2, 2, 11, 2, 2, 255, 2,
                             11, 11, 11, 255, 255, 255, 255]
        let regions = MaskRegions.connected(mask: mask, width: 7, height: 2, isLabel: Self.isLabel)
        XCTAssertEqual(regions.map(\.pixels), [[0, 1], [3, 4], [6]])
        XCTAssertEqual(regions.map(\.classID), [2, 2, 2])
        XCTAssertTrue(MaskRegions.connected(mask: [255, 11, 11, 255], width: 2, height: 2, isLabel: Self.isLabel).isEmpty)
    }

    func testLateMergesKeepRasterOrderAndAscendingPixels() {
        // Two arms that only meet on the last row, then a third class inside: the U is one
        // region numbered by its first pixel, with its pixels ascending across the merge.
        // 1 0 1 3
        // 1 0 1 3
        // 1 1 1 0
        let mask: [UInt8] = [1, 0, 1, 3,
                             1, 0, 1, 3,
                             1, 1, 1, 0]
        let regions = MaskRegions.connected(mask: mask, width: 4, height: 3, isLabel: Self.isLabel, eightConnected: false)
        XCTAssertEqual(regions, [
            MaskRegion(classID: 1, area: 7, x0: 0, y0: 0, x1: 3, y1: 3, pixels: [0, 2, 4, 6, 8, 9, 10]),
            MaskRegion(classID: 0, area: 2, x0: 1, y0: 0, x1: 2, y1: 2, pixels: [1, 5]),
            MaskRegion(classID: 3, area: 2, x0: 3, y0: 0, x1: 4, y1: 2, pixels: [3, 7]),
            MaskRegion(classID: 0, area: 1, x0: 3, y0: 2, x1: 4, y1: 3, pixels: [11]),
        ])
    }

    func testSeededRandomIsSplitMix64() {
        // SplitMix64's published outputs for seed 0: the same numbers on every platform.
        var rng = SeededRandom(seed: 0)
        XCTAssertEqual(rng.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(rng.next(), 0x6E78_9E6A_A1B9_65F4)
        XCTAssertEqual(rng.next(), 0x06C4_5D18_8009_454F)
        var a = SeededRandom(seed: 9, stream: 1), b = SeededRandom(seed: 9, stream: 2)
        XCTAssertNotEqual(a.next(), b.next())
        for bound in [1, 2, 3, 7, 1000] {
            for _ in 0..<50 { XCTAssert((0..<bound).contains(a.next(below: bound))) }
        }
        for _ in 0..<50 { XCTAssert((0.0..<1.0).contains(a.nextDouble())) }
    }

    func testDistanceTransformIsExactEuclidean() {
        // Random 3-class masks against brute force: squared distance from each region pixel
        // to the nearest pixel of another region or beyond the image border.
        var rng = SeededRandom(seed: 11)
        let w = 23, h = 17
        for _ in 0..<5 {
            // Blocky noise, so regions have interiors as well as thin bits.
            let mask = (0..<(w * h)).map { i -> UInt8 in
                let (x, y) = (i % w, i / w)
                return (x / 4 + y / 3) % 3 == 0 || rng.next(below: 5) == 0 ? 1 : UInt8(rng.next(below: 3) == 0 ? 2 : 0)
            }
            for region in MaskRegions.connected(mask: mask, width: w, height: h, isLabel: Self.isLabel) {
                let raster = RegionRaster(region: region, imageWidth: w)
                let d2 = raster.squaredDistances()
                let members = Set(region.pixels.map(Int.init))
                for (k, p) in region.pixels.enumerated() {
                    let (x, y) = (Int(p) % w, Int(p) / w)
                    var best = [x + 1, y + 1, w - x, h - y].map { $0 * $0 }.min()!
                    for q in 0..<(w * h) where !members.contains(q) {
                        let dx = q % w - x, dy = q / w - y
                        best = min(best, dx * dx + dy * dy)
                    }
                    XCTAssertEqual(Int(d2[raster.local[k]]), best, "pixel (\(x), \(y))")
                }
            }
        }
    }

    // MARK: - A synthetic scene

    /// 40x30 of class 0 with: a 16x10 rectangle of class 1 at (4, 3); a disc of class 2,
    /// radius 6, centred at (30, 20); a two-pixel-thick diagonal band of class 3; a 2x2
    /// speck of class 4 (below the tests' minArea); a block of the ignore id 11; and a
    /// column of 255 down the right edge.
    static let scene: (mask: [UInt8], width: Int, height: Int) = {
        let w = 40, h = 30
        var m = [UInt8](repeating: 0, count: w * h)
        for y in 3..<13 { for x in 4..<20 { m[y * w + x] = 1 } }
        for y in 0..<h { for x in 0..<w where (x - 30) * (x - 30) + (y - 20) * (y - 20) <= 36 { m[y * w + x] = 2 } }
        for x in 2..<16 { for y in [x + 13, x + 14] where y < h { m[y * w + x] = 3 } }
        for y in 3..<5 { for x in 35..<37 { m[y * w + x] = 4 } }
        for y in 2..<8 { for x in 22..<27 { m[y * w + x] = 11 } }
        for y in 0..<h { m[y * w + 39] = 255 }
        return (m, w, h)
    }()
    static let minArea = 10

    func points(seed: UInt64, perRegion: Int) -> [SimulatedPoint] {
        let s = Self.scene
        return SimulatedAnnotator.points(mask: s.mask, width: s.width, height: s.height, isLabel: Self.isLabel,
                                         perRegion: perRegion, minArea: Self.minArea, seed: seed)
    }

    func scribbles(seed: UInt64, width: Int = 3) -> [UInt8] {
        let s = Self.scene
        return SimulatedAnnotator.scribbles(mask: s.mask, width: s.width, height: s.height, isLabel: Self.isLabel,
                                            minArea: Self.minArea, scribbleWidth: width, seed: seed)
    }

    func boxes(seed: UInt64, jitter: Double) -> [SimulatedBox] {
        let s = Self.scene
        return SimulatedAnnotator.boxes(mask: s.mask, width: s.width, height: s.height, isLabel: Self.isLabel,
                                        minArea: Self.minArea, jitter: jitter, seed: seed)
    }

    func testGoldenPoints() {
        // One click: background, rectangle (16 tied centre pixels at distance 5), disc
        // (its centre), band. Then three far-apart clicks per region.
        XCTAssertEqual(points(seed: 7, perRegion: 1), [
            SimulatedPoint(classID: 0, x: 17, y: 19), SimulatedPoint(classID: 1, x: 15, y: 8),
            SimulatedPoint(classID: 2, x: 30, y: 20), SimulatedPoint(classID: 3, x: 3, y: 16),
        ])
        XCTAssertEqual(points(seed: 7, perRegion: 3), [
            SimulatedPoint(classID: 0, x: 21, y: 18), SimulatedPoint(classID: 0, x: 3, y: 26), SimulatedPoint(classID: 0, x: 31, y: 3),
            SimulatedPoint(classID: 1, x: 14, y: 10), SimulatedPoint(classID: 1, x: 6, y: 5), SimulatedPoint(classID: 1, x: 17, y: 5),
            SimulatedPoint(classID: 2, x: 30, y: 17), SimulatedPoint(classID: 2, x: 30, y: 23), SimulatedPoint(classID: 2, x: 27, y: 20),
            SimulatedPoint(classID: 3, x: 3, y: 16), SimulatedPoint(classID: 3, x: 15, y: 29), SimulatedPoint(classID: 3, x: 9, y: 22),
        ])
    }

    func testGoldenBoxes() {
        XCTAssertEqual(boxes(seed: 7, jitter: 0), [
            SimulatedBox(classID: 0, x0: 0, y0: 0, x1: 39, y1: 30),
            SimulatedBox(classID: 1, x0: 4, y0: 3, x1: 20, y1: 13),
            SimulatedBox(classID: 2, x0: 24, y0: 14, x1: 37, y1: 27),
            SimulatedBox(classID: 3, x0: 2, y0: 15, x1: 16, y1: 30),
        ])
        XCTAssertEqual(boxes(seed: 7, jitter: 0.1), [
            SimulatedBox(classID: 0, x0: 0, y0: 2, x1: 40, y1: 27),
            SimulatedBox(classID: 1, x0: 3, y0: 2, x1: 20, y1: 12),
            SimulatedBox(classID: 2, x0: 24, y0: 14, x1: 37, y1: 28),
            SimulatedBox(classID: 3, x0: 3, y0: 16, x1: 16, y1: 29),
        ])
    }

    func testGoldenScribbles() {
        let map = scribbles(seed: 7)
        XCTAssertEqual(map.count, 40 * 30)
        var perClass = [Int](repeating: 0, count: 256)
        for v in map { perClass[Int(v)] += 1 }
        // The band (28 pixels, distance 1 everywhere) is too thin to erode: its own
        // skeleton, thickened and cut to the band, covers all of it.
        // (Pinned again when the core's depth floor went from half to a tenth of the deepest
        // pixel's: the big region's stroke grew from 89 to 224 pixels.)
        XCTAssertEqual(Array(perClass[0..<5]), [224, 23, 5, 28, 0])
        XCTAssertEqual(perClass[255], 40 * 30 - 224 - 23 - 5 - 28)
        XCTAssertEqual(Self.fnv1a(map), 0x533A_AC22_5442_876C)
    }

    func testSameSeedSameBytesAndOtherSeedsMoveClicks() {
        XCTAssertEqual(points(seed: 42, perRegion: 3), points(seed: 42, perRegion: 3))
        XCTAssertEqual(scribbles(seed: 42), scribbles(seed: 42))
        XCTAssertEqual(boxes(seed: 42, jitter: 0.2), boxes(seed: 42, jitter: 0.2))
        XCTAssertNotEqual(points(seed: 1, perRegion: 3), points(seed: 2, perRegion: 3))
        // With one click the rectangle's 16 tied centre pixels are the seed's to choose.
        let rectangle = (0..<20).map { points(seed: UInt64($0), perRegion: 1)[1] }
        XCTAssertGreaterThan(Set(rectangle.map { $0.y * 40 + $0.x }).count, 1)
        for p in rectangle { XCTAssert((8..<16).contains(p.x) && (7..<9).contains(p.y), "\(p) is not a centre pixel") }
        XCTAssertNotEqual(boxes(seed: 1, jitter: 0.2), boxes(seed: 2, jitter: 0.2))
    }

    func testRectangleScribbleIsAStrokeThroughTheMiddle() {
        // Core: pixels at distance >= 3 (half of 5, and more than the radius 1) from the
        // outside, i.e. x 6...17, y 5...10; the stroke lies on its skeleton, thickened by 1.
        let map = scribbles(seed: 3)
        var xs: [Int] = [], ys: [Int] = []
        for (i, v) in map.enumerated() where v == 1 { xs.append(i % 40); ys.append(i / 40) }
        XCTAssertFalse(xs.isEmpty)
        XCTAssertGreaterThanOrEqual(xs.min()!, 5); XCTAssertLessThanOrEqual(xs.max()!, 18)
        XCTAssertGreaterThanOrEqual(ys.min()!, 4); XCTAssertLessThanOrEqual(ys.max()!, 11)
        XCTAssertGreaterThanOrEqual(xs.max()! - xs.min()!, 8, "a stroke along the rectangle, not a dot")
        // Width 1 draws the bare path: a one-pixel-wide stroke has fewer pixels.
        XCTAssertLessThan(scribbles(seed: 3, width: 1).filter { $0 == 1 }.count, xs.count)
    }

    func testNothingDisagreesWithTheSyntheticMask() {
        let s = Self.scene
        for seed: UInt64 in [0, 1, 99] {
            checkInvariants(mask: s.mask, width: s.width, height: s.height, minArea: Self.minArea, seed: seed)
        }
        // The 2x2 speck of class 4 is below minArea; minArea 1 gives it everything.
        XCTAssertFalse(points(seed: 0, perRegion: 2).contains { $0.classID == 4 })
        XCTAssertFalse(scribbles(seed: 0).contains(4))
        let all = SimulatedAnnotator.scribbles(mask: s.mask, width: s.width, height: s.height, isLabel: Self.isLabel,
                                               minArea: 1, scribbleWidth: 3, seed: 0)
        XCTAssertTrue(all.contains(4), "a 2x2 block, which thinning erases, still gets its deepest pixel")
    }

    func testJitterZeroIsTightAndJitterStaysInsideTheImage() {
        let s = Self.scene
        let tight = MaskRegions.connected(mask: s.mask, width: s.width, height: s.height, isLabel: Self.isLabel)
            .filter { $0.area >= Self.minArea }
            .map { SimulatedBox(classID: $0.classID, x0: $0.x0, y0: $0.y0, x1: $0.x1, y1: $0.y1) }
        for seed: UInt64 in 0..<5 { XCTAssertEqual(boxes(seed: seed, jitter: 0), tight) }
        var moved = false
        for seed: UInt64 in 0..<50 {
            for jitter in [0.05, 0.3, 1.0, 5.0] {
                let b = boxes(seed: seed, jitter: jitter)
                XCTAssertEqual(b.count, tight.count)
                for (box, t) in zip(b, tight) {
                    XCTAssertEqual(box.classID, t.classID)
                    XCTAssert(box.x0 >= 0 && box.y0 >= 0 && box.x1 <= s.width && box.y1 <= s.height, "\(box) leaves the image")
                    XCTAssert(box.x0 < box.x1 && box.y0 < box.y1, "\(box) is empty")
                    if jitter <= 0.3 {
                        // A side moves at most jitter * size, plus half a pixel of rounding.
                        let w = Double(t.x1 - t.x0), h = Double(t.y1 - t.y0)
                        XCTAssertLessThanOrEqual(Double(abs(box.x0 - t.x0)), jitter * w + 0.5)
                        XCTAssertLessThanOrEqual(Double(abs(box.y1 - t.y1)), jitter * h + 0.5)
                    }
                    if box != t { moved = true }
                }
            }
        }
        XCTAssertTrue(moved)
    }

    // MARK: - A real CamVid mask

    func testCamVidMaskInvariantsAndTimings() throws {
        let folder = "/work/shared/data/camvid/trainannot"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder).filter({ $0.hasSuffix(".png") }).sorted(),
              !names.isEmpty else {
            throw XCTSkip("no CamVid masks at \(folder)")
        }
        for name in [names[0], names[names.count / 2]] {
            let gray = try ImageIO.readMask(path: "\(folder)/\(name)")
            XCTAssertEqual(gray.width * gray.height, gray.pixels.count)
            let minArea = 50
            let regions = MaskRegions.connected(mask: gray.pixels, width: gray.width, height: gray.height, isLabel: Self.isLabel)
            XCTAssertTrue(regions.contains { $0.area < minArea }, "\(name) should have specks below minArea to test")
            checkInvariants(mask: gray.pixels, width: gray.width, height: gray.height, minArea: minArea, seed: 5)

            // Timings for the record, not asserted (a debug build is many times slower).
            func time(_ body: () -> Void) -> Double {
                let start = DispatchTime.now().uptimeNanoseconds
                body()
                return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            }
            let m = gray.pixels, w = gray.width, h = gray.height, l = Self.isLabel
            let tRegions = time { _ = MaskRegions.connected(mask: m, width: w, height: h, isLabel: l) }
            let tPoints = time { _ = SimulatedAnnotator.points(mask: m, width: w, height: h, isLabel: l, perRegion: 3, minArea: minArea, seed: 1) }
            let tScribbles = time { _ = SimulatedAnnotator.scribbles(mask: m, width: w, height: h, isLabel: l, minArea: minArea, scribbleWidth: 5, seed: 1) }
            let tBoxes = time { _ = SimulatedAnnotator.boxes(mask: m, width: w, height: h, isLabel: l, minArea: minArea, jitter: 0.1, seed: 1) }
            print(String(format: "simulated annotators on %@ (%dx%d, %d regions): regions %.2f ms, points %.2f ms, scribbles %.2f ms, boxes %.2f ms",
                         name, w, h, regions.count, tRegions, tPoints, tScribbles, tBoxes))
        }
    }

    // MARK: - Helpers

    /// Checks, for one mask and seed, that: every click and scribbled pixel lies on a region
    /// of at least `minArea` pixels and has that region's class; each such region gets at
    /// least one click (at most `perRegion`) and some scribble, smaller ones get nothing;
    /// and the tight boxes are exactly the regions' boxes, one per region in order.
    func checkInvariants(mask: [UInt8], width: Int, height: Int, minArea: Int, seed: UInt64,
                         file: StaticString = #filePath, line: UInt = #line) {
        let regions = MaskRegions.connected(mask: mask, width: width, height: height, isLabel: Self.isLabel)
        var regionOf = [Int](repeating: -1, count: mask.count)
        for (r, region) in regions.enumerated() { for p in region.pixels { regionOf[Int(p)] = r } }
        let kept = regions.indices.filter { regions[$0].area >= minArea }

        let perRegion = 3
        var clicks = [Int](repeating: 0, count: regions.count)
        for p in SimulatedAnnotator.points(mask: mask, width: width, height: height, isLabel: Self.isLabel,
                                           perRegion: perRegion, minArea: minArea, seed: seed) {
            let i = p.y * width + p.x
            XCTAssertEqual(mask[i], p.classID, "click \(p) is off its class", file: file, line: line)
            let r = regionOf[i]
            XCTAssert(r >= 0 && regions[r].area >= minArea, "click \(p) on a region below minArea", file: file, line: line)
            if r >= 0 { clicks[r] += 1 }
        }
        for r in regions.indices {
            if regions[r].area >= minArea {
                XCTAssert((1...perRegion).contains(clicks[r]), "region \(r) got \(clicks[r]) clicks", file: file, line: line)
            } else {
                XCTAssertEqual(clicks[r], 0, file: file, line: line)
            }
        }

        let map = SimulatedAnnotator.scribbles(mask: mask, width: width, height: height, isLabel: Self.isLabel,
                                               minArea: minArea, scribbleWidth: 5, seed: seed)
        XCTAssertEqual(map.count, mask.count, file: file, line: line)
        var scribbled = [Bool](repeating: false, count: regions.count)
        var wrong = 0
        for (i, v) in map.enumerated() where v != 255 {
            let r = regionOf[i]
            if mask[i] != v || r < 0 || regions[r].area < minArea { wrong += 1 } else { scribbled[r] = true }
        }
        XCTAssertEqual(wrong, 0, "scribbled pixels off their class or on small regions", file: file, line: line)
        XCTAssertEqual(kept.filter { !scribbled[$0] }, [], "regions without a scribble", file: file, line: line)

        let tight = SimulatedAnnotator.boxes(mask: mask, width: width, height: height, isLabel: Self.isLabel,
                                             minArea: minArea, jitter: 0, seed: seed)
        XCTAssertEqual(tight, kept.map { r in
            let g = regions[r]
            return SimulatedBox(classID: g.classID, x0: g.x0, y0: g.y0, x1: g.x1, y1: g.y1)
        }, file: file, line: line)
        for (box, r) in zip(tight, kept) {
            // The box holds every pixel of its region and each side touches one.
            let xs = regions[r].pixels.map { Int($0) % width }, ys = regions[r].pixels.map { Int($0) / width }
            XCTAssertEqual([xs.min()!, ys.min()!, xs.max()! + 1, ys.max()! + 1], [box.x0, box.y0, box.x1, box.y1], file: file, line: line)
        }
    }

    /// 64-bit FNV-1a, a digest that needs no library and is the same everywhere.
    static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h
    }
}

