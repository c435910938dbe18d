import XCTest
@testable import SegflowVision

// MARK: - Fixtures

/// The C LCG used by the pydensecrf golden script (bench/crf/golden.py), so both sides
/// build bit-identical inputs.
private struct LCG {
    var state: Int
    mutating func next() -> Double {
        state = (state &* 1_103_515_245 &+ 12_345) % 2_147_483_648
        return Double(state) / 2_147_483_648.0
    }
}

/// A w x h image (64x48 by default), left half dark and right half bright, truth = the
/// half; probabilities put 0.8 on the true class except for 30 % of pixels, flipped.
private func twoRegionScene(width w: Int = 64, height h: Int = 48)
    -> (rgb: [UInt8], probs: [Float], truth: [UInt8], width: Int, height: Int) {
    var rng = LCG(state: 7)
    var rgb = [UInt8](repeating: 0, count: w * h * 3)
    var probs = [Float](repeating: 0, count: 2 * w * h)
    var truth = [UInt8](repeating: 0, count: w * h)
    for y in 0..<h {
        for x in 0..<w {
            let i = y * w + x
            let t = x >= w / 2 ? 1 : 0
            truth[i] = UInt8(t)
            let base = t == 1 ? 200 : 40
            for c in 0..<3 { rgb[3 * i + c] = UInt8(base + Int(rng.next() * 20)) }
            let flipped = rng.next() < 0.3
            let label = flipped ? 1 - t : t
            probs[label * w * h + i] = 0.8
            probs[(1 - label) * w * h + i] = 0.2
        }
    }
    return (rgb, probs, truth, w, h)
}

private func argmax(_ probs: [Float], classes: Int, pixels: Int) -> [UInt8] {
    (0..<pixels).map { i in
        var best = 0
        for c in 1..<classes where probs[c * pixels + i] > probs[best * pixels + i] { best = c }
        return UInt8(best)
    }
}

private func accuracy(_ a: [UInt8], _ b: [UInt8]) -> Double {
    Double(zip(a, b).filter { $0 == $1 }.count) / Double(a.count)
}

// MARK: - DenseCRF

final class DenseCRFTests: XCTestCase {
    func testCRFCleansAFlippedUnaryOnTwoRegions() {
        let s = twoRegionScene()
        let n = s.width * s.height
        let unary = CRFUnary.fromProbabilities(s.probs, classes: 2, pixels: n, normalize: false)
        let before = accuracy(argmax(s.probs, classes: 2, pixels: n), s.truth)
        let labels = DenseCRF.inferLabels(unary: unary, classes: 2, width: s.width, height: s.height,
                                          rgb: s.rgb, params: DenseCRFParams(), threads: 2)
        let after = accuracy(labels, s.truth)
        XCTAssertLessThan(before, 0.75)
        XCTAssertGreaterThan(after, 0.97, "CRF accuracy \(after) vs unary \(before)")
        XCTAssertGreaterThan(after - before, 0.2)
    }

    func testMarginalsAreDistributionsAndLabelsTheirArgmax() {
        let s = twoRegionScene()
        let n = s.width * s.height
        let unary = CRFUnary.fromProbabilities(s.probs, classes: 2, pixels: n, normalize: false)
        let q = DenseCRF.inferProbabilities(unary: unary, classes: 2, width: s.width, height: s.height,
                                            rgb: s.rgb, params: DenseCRFParams(), threads: 1)
        XCTAssertEqual(q.count, 2 * n)
        for i in 0..<n {
            XCTAssertGreaterThanOrEqual(q[i], 0)
            XCTAssertEqual(q[i] + q[n + i], 1, accuracy: 1e-5)
        }
        let labels = DenseCRF.inferLabels(unary: unary, classes: 2, width: s.width, height: s.height,
                                          rgb: s.rgb, params: DenseCRFParams(), threads: 1)
        XCTAssertEqual(labels, argmax(q, classes: 2, pixels: n))
    }

    func testZeroIterationsIsTheSoftmaxOfTheUnary() {
        let s = twoRegionScene()
        let n = s.width * s.height
        let unary = CRFUnary.fromProbabilities(s.probs, classes: 2, pixels: n, normalize: false)
        var params = DenseCRFParams()
        params.iterations = 0
        let q = DenseCRF.inferProbabilities(unary: unary, classes: 2, width: s.width, height: s.height,
                                            rgb: s.rgb, params: params, threads: 2)
        for i in 0..<(2 * n) { XCTAssertEqual(q[i], s.probs[i], accuracy: 1e-5) }
    }

    func testSameInputGivesBitwiseSameOutputForAnyThreadCount() {
        let (w, h, classes) = (29, 23, 5)
        var rng = LCG(state: 99)
        let rgb = (0..<(w * h * 3)).map { _ in UInt8(rng.next() * 256) }
        let unary = (0..<(classes * w * h)).map { _ in Float(rng.next() * 4) }
        let reference = DenseCRF.inferProbabilities(unary: unary, classes: classes, width: w, height: h,
                                                    rgb: rgb, params: DenseCRFParams(), threads: 1)
        for threads in [2, 3, 8] {
            let q = DenseCRF.inferProbabilities(unary: unary, classes: classes, width: w, height: h,
                                                rgb: rgb, params: DenseCRFParams(), threads: threads)
            XCTAssertEqual(q.map(\.bitPattern), reference.map(\.bitPattern), "threads \(threads)")
        }
    }

    /// Extra classes that can never win (unary 1000) leave the real classes' marginals
    /// bitwise unchanged, whatever row width (1, 6 or a run-time 8 SIMD4s) they force.
    func testEveryRowWidthComputesTheSameMarginals() {
        let s = twoRegionScene(width: 24, height: 18)
        let n = s.width * s.height
        let unary = CRFUnary.fromProbabilities(s.probs, classes: 2, pixels: n, normalize: false)
        let base = DenseCRF.inferProbabilities(unary: unary, classes: 2, width: s.width, height: s.height,
                                               rgb: s.rgb, params: DenseCRFParams(), threads: 2)
        for classes in [3, 13, 21, 30] {
            let padded = unary + [Float](repeating: 1000, count: (classes - 2) * n)
            let q = DenseCRF.inferProbabilities(unary: padded, classes: classes, width: s.width,
                                                height: s.height, rgb: s.rgb, params: DenseCRFParams(), threads: 2)
            XCTAssertEqual(Array(q[0..<(2 * n)]).map(\.bitPattern), base.map(\.bitPattern), "classes \(classes)")
            XCTAssertTrue(q[(2 * n)...].allSatisfy { $0 == 0 }, "classes \(classes)")
        }
    }

    /// The AVX-512 step (C) and the portable one (Swift) compute the same marginals to the
    /// bit, for every row width it handles; odd sizes leave a tail after the pixel groups.
    func testAVX512StepGivesBitwiseTheSameMarginalsAsThePortableStep() throws {
        guard DenseCRFStepPath.avx512Available else { throw XCTSkip("this CPU has no AVX-512F") }
        let (w, h) = (37, 29)
        var rng = LCG(state: 99)
        let rgb = (0..<(3 * w * h)).map { _ in UInt8(rng.next() * 255) }
        for classes in [1, 2, 5, 11, 16] {
            let probs = (0..<(classes * w * h)).map { _ in Float(0.05 + rng.next()) }
            let unary = CRFUnary.fromProbabilities(probs, classes: classes, pixels: w * h, normalize: true)
            var marginals: [DenseCRFStepPath: [UInt32]] = [:]
            for path in [DenseCRFStepPath.portable, .avx512] {
                let engine = DenseCRFEngine(unary: unary, classes: classes, width: w, height: h, rgb: rgb,
                                            params: DenseCRFParams(iterations: 4), threads: 3)
                engine.stepPath = path
                XCTAssertTrue(path.handles(vectors: engine.vectors))
                marginals[path] = withExtendedLifetime(engine) { engine.run().channelMajor().map(\.bitPattern) }
            }
            let (a, b) = (marginals[.avx512]!, marginals[.portable]!)
            XCTAssertEqual(a.count, b.count)
            XCTAssertEqual(zip(a, b).filter { $0 != $1 }.count, 0, "classes \(classes): marginals that differ in any bit")
        }
        XCTAssertFalse(DenseCRFStepPath.avx512.handles(vectors: 5), "17+ classes take the portable step")
    }

    /// The smoothness kernel is cached per image size: hits, misses and size changes
    /// must not change a bit of the output.
    func testGaussianGeometryCacheChangesNothing() {
        let s = twoRegionScene(width: 30, height: 20)
        let other = twoRegionScene(width: 21, height: 17)
        let unary = CRFUnary.fromProbabilities(s.probs, classes: 2, pixels: 600, normalize: false)
        let otherUnary = CRFUnary.fromProbabilities(other.probs, classes: 2, pixels: 21 * 17, normalize: false)
        func run() -> [UInt32] {
            DenseCRF.inferProbabilities(unary: unary, classes: 2, width: 30, height: 20, rgb: s.rgb,
                                        params: DenseCRFParams(), threads: 2).map(\.bitPattern)
        }
        let first = run()
        XCTAssertEqual(run(), first)
        _ = DenseCRF.inferLabels(unary: otherUnary, classes: 2, width: 21, height: 17, rgb: other.rgb,
                                 params: DenseCRFParams(), threads: 2)
        XCTAssertEqual(run(), first)
        // A different sxy is a different kernel.
        let wider = DenseCRF.inferProbabilities(unary: unary, classes: 2, width: 30, height: 20, rgb: s.rgb,
                                                params: DenseCRFParams(sxyGaussian: 6), threads: 2)
        XCTAssertNotEqual(wider.map(\.bitPattern), first)
    }

    func testTinyAndEmptyImages() {
        // 1x1: the only pixel keeps the unary's choice; marginals still sum to 1.
        let one = DenseCRF.inferProbabilities(unary: [0.1, 2.0], classes: 2, width: 1, height: 1,
                                              rgb: [10, 20, 30], params: DenseCRFParams(), threads: 2)
        XCTAssertEqual(one[0] + one[1], 1, accuracy: 1e-6)
        XCTAssertGreaterThan(one[0], one[1])
        // 3x1 of one colour; unary (C, N): class 0 = [0, 5, 0], class 1 = [5, 0, 5]. The
        // middle pixel prefers class 1 but its two identical neighbours outvote it.
        let row = DenseCRF.inferLabels(unary: [0, 5, 0, 5, 0, 5], classes: 2, width: 3, height: 1,
                                       rgb: [UInt8](repeating: 100, count: 9), params: DenseCRFParams(), threads: 1)
        XCTAssertEqual(row, [0, 0, 0])
        let empty = DenseCRF.inferLabels(unary: [], classes: 3, width: 0, height: 0, rgb: [],
                                         params: DenseCRFParams(), threads: 2)
        XCTAssertEqual(empty, [])
    }

    /// Marginals pydensecrf2 1.1 printed for the same input (bench/crf/golden.py):
    /// 40x30, 3 classes, gaussian 3/3, bilateral 80/13/4, 5 iterations.
    func testMatchesPydensecrfGolden() {
        let (w, h, classes) = (40, 30, 3)
        var rng = LCG(state: 12345)
        var rgb = [UInt8](repeating: 0, count: w * h * 3)
        var truth = [Int](repeating: 0, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                let inside = (x - 20) * (x - 20) + (y - 15) * (y - 15) < 81
                let t = y < 6 ? 2 : (inside ? 1 : 0)
                truth[y * w + x] = t
                let base = [40, 200, 120][t]
                for c in 0..<3 { rgb[3 * (y * w + x) + c] = UInt8(base + Int(rng.next() * 30)) }
            }
        }
        var probs = [Float](repeating: 0, count: classes * w * h)
        for i in 0..<(w * h) {
            var s = (0..<classes).map { _ in 0.2 + rng.next() }
            s[truth[i]] += 0.25
            let total = s[0] + s[1] + s[2]
            for c in 0..<classes { probs[c * w * h + i] = Float(s[c] / total) }
        }
        let unary = CRFUnary.fromProbabilities(probs, classes: classes, pixels: w * h, normalize: false)
        let params = DenseCRFParams(compatBilateral: 4, iterations: 5)
        let q = DenseCRF.inferProbabilities(unary: unary, classes: classes, width: w, height: h,
                                            rgb: rgb, params: params, threads: 2)
        let expected: [((Int, Int), [Float])] = [
            ((0, 0), [0.001683936920017004, 0.0013049911940470338, 0.9970110654830933]),
            ((10, 5), [0.9968722462654114, 0.0010358141735196114, 0.0020919411908835173]),
            ((15, 20), [0.0022508183028548956, 0.9973445534706116, 0.0004046316025778651]),
            ((20, 30), [0.9969622492790222, 0.0019422705518081784, 0.001095425570383668]),
            ((29, 39), [0.9961000680923462, 0.0027599434833973646, 0.001139907632023096]),
            ((7, 13), [0.9799157381057739, 0.01199772022664547, 0.008086567744612694]),
        ]
        for ((y, x), values) in expected {
            for c in 0..<classes {
                XCTAssertEqual(q[c * w * h + y * w + x], values[c], accuracy: 2e-6, "pixel (\(y), \(x)) class \(c)")
            }
        }
        let labels = argmax(q, classes: classes, pixels: w * h)
        XCTAssertEqual(labels.map(Int.init), truth)
        XCTAssertLessThan(accuracy(argmax(probs, classes: classes, pixels: w * h), labels.map { $0 }), 0.6)
    }
}
