import XCTest
import SegflowVision

final class CRFUnaryTests: XCTestCase {
    func testFromProbabilitiesIsNegLogOfClippedProbability() {
        // One pixel per column: classes 2, pixels 3, layout (C, H*W).
        let probs: [Float] = [1, 0.5, 1e-7,
                              0, 0.2, 1.5]
        let u = CRFUnary.fromProbabilities(probs, classes: 2, pixels: 3, normalize: false)
        let expected: [Float] = [0, -logf(0.5), -logf(1e-5),
                                 -logf(1e-5), -logf(0.2), 0]
        XCTAssertEqual(u.count, 6)
        for (a, b) in zip(u, expected) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        XCTAssertEqual(u[2], 11.512925, accuracy: 1e-5)
    }

    func testFromProbabilitiesCanNormalisePerPixel() {
        let probs: [Float] = [2, 0,
                              2, 0]
        let u = CRFUnary.fromProbabilities(probs, classes: 2, pixels: 2, normalize: true)
        XCTAssertEqual(u[0], -logf(0.5), accuracy: 1e-6)
        XCTAssertEqual(u[2], -logf(0.5), accuracy: 1e-6)
        // An all-zero pixel becomes uniform.
        XCTAssertEqual(u[1], -logf(0.5), accuracy: 1e-6)
        XCTAssertEqual(u[3], -logf(0.5), accuracy: 1e-6)
    }

    func testFromCAMsPrependsThePoweredBackgroundAndNormalises() {
        // One CAM channel over three pixels: 0, 1, 0.5.
        let cams: [Float] = [0, 1, 0.5]
        let u = CRFUnary.fromCAMs(cams, classes: 1, pixels: 3, alpha: 1, addBackground: true)
        XCTAssertEqual(u.count, 6)
        let clipped = -logf(1e-5)
        let expected: [Float] = [0, clipped, -logf(0.5),   // background: 1, 0, 0.5
                                 clipped, 0, -logf(0.5)]   // the class
        for (a, b) in zip(u, expected) { XCTAssertEqual(a, b, accuracy: 1e-6) }

        // alpha sharpens the background: (1 - 0.5)^2 = 0.25 against 0.5 -> 1/3, 2/3.
        let sharp = CRFUnary.fromCAMs([0.5], classes: 1, pixels: 1, alpha: 2, addBackground: true)
        XCTAssertEqual(sharp[0], -logf(1.0 / 3), accuracy: 1e-6)
        XCTAssertEqual(sharp[1], -logf(2.0 / 3), accuracy: 1e-6)
    }

    func testFromCAMsWithoutBackgroundOnlyNormalises() {
        let cams: [Float] = [0.2, 0.6,
                             0.6, 0.2]
        let u = CRFUnary.fromCAMs(cams, classes: 2, pixels: 2, alpha: 1, addBackground: false)
        XCTAssertEqual(u[0], -logf(0.25), accuracy: 1e-6)
        XCTAssertEqual(u[2], -logf(0.75), accuracy: 1e-6)
    }
}
