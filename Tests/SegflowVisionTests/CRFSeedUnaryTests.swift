import XCTest
import SegflowVision

/// Unaries from seeds and boxes (the seedCRF / boxMasks stages); pydensecrf agreement on CamVid is
/// checked by bench/crf/seeds.py in CI.
final class CRFSeedUnaryTests: XCTestCase {
    func testFromLabelsIsPydensecrfUnaryFromLabelsWithZeroUnsure() {
        // 3 classes, 3 pixels: channel 2, unsure, channel 0.
        let u = CRFSeedUnary.fromLabels([2, 255, 0], classes: 3, gtProb: 0.9)
        let p = Float(-log(0.9)), n = Float(-log(0.1 / 2)), unsure = Float(-log(1.0 / 3))
        XCTAssertEqual(u, [n, unsure, p,
                           n, unsure, n,
                           p, unsure, n])
    }

    func testStampDiscIsClippedToTheImage() {
        var labels = [UInt8](repeating: 255, count: 5 * 4)
        CRFSeedUnary.stampDisc(&labels, width: 5, height: 4, x: 0, y: 0, radius: 1, channel: 3)
        XCTAssertEqual(labels.enumerated().filter { $0.element == 3 }.map(\.offset), [0, 1, 5])
        CRFSeedUnary.stampDisc(&labels, width: 5, height: 4, x: 4, y: 3, radius: 0, channel: 1)
        XCTAssertEqual(labels[19], 1)
        XCTAssertEqual(labels.filter { $0 != 255 }.count, 4)
    }

    func testTheSmallestBoxWinsWhereBoxesOverlap() {
        let big = ChannelBox(channel: 0, x0: 0, y0: 0, x1: 6, y1: 4)
        let small = ChannelBox(channel: 1, x0: 4, y0: 2, x1: 9, y1: 4)   // reaches past the 8-wide image
        for order in [[big, small], [small, big]] {
            let map = BoxSeeds.labelMap(order, width: 8, height: 5, outside: 255)
            XCTAssertEqual(map[0], 0)
            XCTAssertEqual(map[2 * 8 + 4], 1, "overlap")
            XCTAssertEqual(map[3 * 8 + 7], 1, "clipped to the image")
            XCTAssertEqual(map[4 * 8 + 0], 255, "outside every box")
        }
    }

    /// Two overlapping boxes on a two-colour image with a noisy unary: the CRF follows the colour edge
    /// inside the big box, and the small box's class wins where the boxes overlap.
    func testBoxMasksOnASyntheticImageWithOverlappingBoxes() {
        let (w, h) = (40, 30)
        // Background grey; a bright square (the object) at x 20..<32, y 8..<22.
        var rgb = [UInt8](repeating: 90, count: w * h * 3)
        var rng: UInt64 = 12345
        func noise() -> Int { rng = rng &* 6364136223846793005 &+ 1442695040888963407; return Int(rng >> 60) - 8 }
        for y in 0..<h { for x in 0..<w {
            let base = (20..<32).contains(x) && (8..<22).contains(y) ? 220 : 90
            for c in 0..<3 { rgb[(y * w + x) * 3 + c] = UInt8(clamping: base + noise()) }
        } }
        // Class 0 "ground" box over everything; class 1 "object" box a little loose around the square.
        let boxes = [ChannelBox(channel: 0, x0: 0, y0: 0, x1: 40, y1: 30), ChannelBox(channel: 1, x0: 18, y0: 6, x1: 34, y1: 24)]
        let labels = BoxSeeds.labelMap(boxes, width: w, height: h, outside: 255)
        XCTAssertEqual(labels[0], 0)
        XCTAssertEqual(labels[7 * w + 19], 1, "the smaller box wins in the overlap")
        // A noisy unary: flip every 7th labelled pixel to the other class.
        var noisy = labels
        for i in stride(from: 0, to: noisy.count, by: 7) { noisy[i] = 1 - noisy[i] }
        let unary = CRFSeedUnary.fromLabels(noisy, classes: 2, gtProb: 0.6)
        let out = DenseCRF.inferLabels(unary: unary, classes: 2, width: w, height: h, rgb: rgb,
                                       params: DenseCRFParams(sxyBilateral: 20, srgb: 10), threads: 2)
        var wrong = 0
        for y in 0..<h { for x in 0..<w {
            let truth: UInt8 = (20..<32).contains(x) && (8..<22).contains(y) ? 1 : 0
            if out[y * w + x] != truth { wrong += 1 }
        } }
        // The loose box's margin (16x18 - 12x14 = 120 pixels) is labelled "object" by the box and must
        // mostly go back to the ground; the noise must be cleaned.
        XCTAssertLessThan(wrong, 30, "\(wrong) of \(w * h) pixels wrong")
        XCTAssertEqual(out[15 * w + 26], 1)
        XCTAssertEqual(out[7 * w + 19], 0, "a margin pixel of the loose box goes back to the ground")
    }

    func testBoxConstrainedCAMsKeepClassesOutsideTheirBoxesUnlikely() {
        // 2 classes, 3 pixels in a row: pixel 0 in box A only, pixel 1 in both, pixel 2 in none.
        let boxes = [ChannelBox(channel: 0, x0: 0, y0: 0, x1: 2, y1: 1), ChannelBox(channel: 1, x0: 1, y0: 0, x1: 2, y1: 1)]
        let cams: [Float] = [0.9, 0.1, 0.5,   // class 0
                             0.9, 0.7, 0.5]   // class 1: high everywhere, but only its box counts
        let u = BoxSeeds.camUnary(boxes, cams: cams, classes: 2, width: 3, height: 1, outsideChannel: nil, gtProb: 0.9)
        let p = u.map { exp(-Double($0)) }
        XCTAssertGreaterThan(p[0], 0.85, "box A's pixel is class 0")
        XCTAssertLessThan(p[3], 0.15)
        XCTAssertEqual(p[1] / p[4], (0.1 + 0.05) / (0.7 + 0.05), accuracy: 1e-5, "shared by the CAMs of the covering boxes")
        XCTAssertEqual(p[2], 0.5, accuracy: 1e-6, "no box, no background: uniform")
    }
}
