import XCTest
@testable import SegflowVision

final class PermutohedralTests: XCTestCase {
    /// Filters `channels` (pixel-major, 4 floats per pixel) with the lattice.
    private func filter(_ lattice: PermutohedralLattice, _ input: [SIMD4<Float>]) -> [SIMD4<Float>] {
        let m = lattice.m
        var a = [SIMD4<Float>](repeating: SIMD4(), count: m + 1)
        var b = a
        let weights = lattice.barycentric.map { $0 * lattice.alpha }
        input.withUnsafeBufferPointer { inp in
            a.withUnsafeMutableBufferPointer { a in
                lattice.sliceRow.withUnsafeBufferPointer { rows in
                    lattice.barycentric.withUnsafeBufferPointer { bary in
                        PermutohedralLattice.splat(DenseCRFWidth1.self, inp.baseAddress!, norm: nil,
                                                   into: a.baseAddress!, vectors: 1, d: lattice.d, m: m,
                                                   n: lattice.n, sliceRow: rows.baseAddress!,
                                                   barycentric: bary.baseAddress!)
                    }
                }
            }
        }
        lattice.blurNeighbor.withUnsafeBufferPointer { nb in
            for axis in 0...lattice.d {
                a.withUnsafeBufferPointer { old in
                    b.withUnsafeMutableBufferPointer { new in
                        PermutohedralLattice.blur(DenseCRFWidth1.self, axis: axis, from: old.baseAddress!,
                                                  to: new.baseAddress!, vectors: 1, vertices: 0..<m, m: m,
                                                  neighbors: nb.baseAddress!)
                    }
                }
                swap(&a, &b)
            }
        }
        let d1 = lattice.d + 1
        return (0..<lattice.n).map { i in
            var s = SIMD4<Float>()
            for r in 0..<d1 { s += SIMD4(repeating: weights[i * d1 + r]) * a[Int(lattice.sliceRow[i * d1 + r])] }
            return s
        }
    }

    private func gaussianFeatures(width: Int, height: Int, sigma: Float) -> [Float] {
        var f = [Float]()
        for y in 0..<height {
            for x in 0..<width { f += [Float(x) / sigma, Float(y) / sigma] }
        }
        return f
    }

    func testConstantSignalStaysConstantAfterNormalisation() {
        let (w, h) = (48, 36)
        let lattice = PermutohedralLattice(features: gaussianFeatures(width: w, height: h, sigma: 3),
                                           dimension: 2, count: w * h)
        let constant = SIMD4<Float>(3, 3, 3, 3)
        let out = filter(lattice, [SIMD4<Float>](repeating: constant, count: w * h))
        let ones = filter(lattice, [SIMD4<Float>](repeating: SIMD4(repeating: 1), count: w * h))
        // Normalising by the filtered ones (K c / K 1) gives back the constant everywhere.
        for i in 0..<(w * h) {
            XCTAssertGreaterThan(ones[i][0], 0)
            XCTAssertEqual(out[i][0] / ones[i][0], 3, accuracy: 1e-4)
        }
        // With NORMALIZE_SYMMETRIC (norm * K(norm * c)) it is constant up to the lattice's
        // discretisation, away from the border.
        let norm = lattice.symmetricNorm()
        let scaled = (0..<(w * h)).map { constant * norm[$0] }
        let sym = filter(lattice, scaled)
        for y in 8..<(h - 8) {
            for x in 8..<(w - 8) {
                let i = y * w + x
                XCTAssertEqual(sym[i][0] * norm[i], 3, accuracy: 0.15, "(\(x), \(y))")
            }
        }
        // And the filter of a constant is smooth in the interior, not a copy of the input:
        // the kernel mass K 1 varies little between interior pixels.
        let interior = (8..<(h - 8)).flatMap { y in (8..<(w - 8)).map { ones[y * w + $0][0] } }
        XCTAssertLessThan(interior.max()! / interior.min()!, 1.1)
    }

    func testBlurSpreadsAnImpulseSymmetrically() {
        let (w, h) = (31, 31)
        let lattice = PermutohedralLattice(features: gaussianFeatures(width: w, height: h, sigma: 3),
                                           dimension: 2, count: w * h)
        var input = [SIMD4<Float>](repeating: SIMD4(), count: w * h)
        input[15 * w + 15] = SIMD4(repeating: 1)
        let out = filter(lattice, input)
        let centre = out[15 * w + 15][0]
        XCTAssertGreaterThan(centre, out[15 * w + 18][0])
        XCTAssertGreaterThan(out[15 * w + 18][0], out[15 * w + 24][0])
        XCTAssertGreaterThan(out[15 * w + 18][0], 0)
        XCTAssertEqual(out[0][0], 0, accuracy: 1e-6)
    }

    func testLatticeBuildsTheSameForTheSameFeatures() {
        let f = gaussianFeatures(width: 20, height: 10, sigma: 2)
        let a = PermutohedralLattice(features: f, dimension: 2, count: 200)
        let b = PermutohedralLattice(features: f, dimension: 2, count: 200)
        XCTAssertEqual(a.m, b.m)
        XCTAssertEqual(a.sliceRow, b.sliceRow)
        XCTAssertEqual(a.barycentric, b.barycentric)
        // Barycentric weights of each point sum to 1.
        for i in 0..<200 {
            XCTAssertEqual(a.barycentric[(3 * i)..<(3 * i + 3)].reduce(0, +), 1, accuracy: 1e-5)
        }
    }
}
