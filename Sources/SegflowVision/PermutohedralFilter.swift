import Foundation

// MARK: - Filtering on a built lattice

/// Splat / blur / slice of pixel-major rows of `vectors` SIMD4s (channels padded to 4).
/// Value rows are 1-based; row 0 stays zero and stands in for absent blur neighbours.
extension PermutohedralLattice {
    /// Gathers into vertex rows `range` (0-based vertices) the weighted sum of the pixel
    /// rows of `input`, in pixel order like the original scatter.
    @inline(__always)
    static func splat<W: DenseCRFWidth>(_: W.Type, _ input: UnsafePointer<SIMD4<Float>>,
               into values: UnsafeMutablePointer<SIMD4<Float>>, vectors: Int, vertices range: Range<Int>,
               start: UnsafePointer<Int32>, pixel: UnsafePointer<Int32>, weight: UnsafePointer<Float>) {
        let cv = W.vectors(vectors)
        for v in range {
            let out = values + (v + 1) * cv
            if cv <= 4 {
                var acc = DenseCRFAccumulator()
                for e in Int(start[v])..<Int(start[v + 1]) {
                    acc.add(SIMD4(repeating: weight[e]), input + Int(pixel[e]) * cv, cv)
                }
                acc.store(out, cv)
                continue
            }
            for c in 0..<cv { out[c] = SIMD4() }
            for e in Int(start[v])..<Int(start[v + 1]) {
                let src = input + Int(pixel[e]) * cv
                let w = SIMD4<Float>(repeating: weight[e])
                for c in 0..<cv { out[c] = out[c] + w * src[c] }
            }
        }
    }

    /// One blur pass along `axis` for vertices `range`: new = old + 0.5 * (n1 + n2).
    @inline(__always)
    static func blur<W: DenseCRFWidth>(_: W.Type, axis: Int, from old: UnsafePointer<SIMD4<Float>>,
                     to new: UnsafeMutablePointer<SIMD4<Float>>, vectors: Int, vertices range: Range<Int>,
                     m: Int, neighbors: UnsafePointer<Int32>) {
        let cv = W.vectors(vectors)
        let half = SIMD4<Float>(repeating: 0.5)
        let base = 2 * axis * m
        for v in range {
            let row = (v + 1) * cv
            let n1 = Int(neighbors[base + 2 * v]) * cv
            let n2 = Int(neighbors[base + 2 * v + 1]) * cv
            for c in 0..<cv {
                new[row + c] = old[row + c] + half * (old[n1 + c] + old[n2 + c])
            }
        }
    }

    /// Normalisation factors 1 / sqrt(K 1 + 1e-20) per pixel (NORMALIZE_SYMMETRIC).
    /// The original filters the ones vector with its scalar path: slice weight (w * v) * alpha.
    func symmetricNorm() -> [Float] {
        var a = [Float](repeating: 0, count: m + 1)
        var b = [Float](repeating: 0, count: m + 1)
        splatStart.withUnsafeBufferPointer { start in
            splatWeight.withUnsafeBufferPointer { weight in
                for v in 0..<m {
                    var acc: Float = 0
                    for e in Int(start[v])..<Int(start[v + 1]) { acc += weight[e] }
                    a[v + 1] = acc
                }
            }
        }
        blurNeighbor.withUnsafeBufferPointer { nb in
            for axis in 0...d {
                let base = 2 * axis * m
                for v in 0..<m {
                    b[v + 1] = a[v + 1] + 0.5 * (a[Int(nb[base + 2 * v])] + a[Int(nb[base + 2 * v + 1])])
                }
                swap(&a, &b)
            }
        }
        var norm = [Float](repeating: 0, count: n)
        for i in 0..<n {
            var s: Float = 0
            for r in 0...d {
                let k = i * (d + 1) + r
                s += barycentric[k] * a[Int(sliceRow[k])] * alpha
            }
            norm[i] = Float(1.0 / (Double(s) + 1e-20).squareRoot())
        }
        return norm
    }
}
