import Foundation

// MARK: - Filtering on a built lattice

/// Splat / blur / slice of pixel-major rows of `vectors` SIMD4s (channels padded to 4).
/// Value rows are 1-based; row 0 stays zero and stands in for absent blur neighbours.
extension PermutohedralLattice {
    /// Splats pixel rows `q * norm` into vertex rows, in pixel order exactly like the
    /// original (values[o] += w * in[i] for i ascending, vertices j = 0...d): `values`
    /// rows 1...m are cleared first. Streams q and the slice lists; the vertex rows it
    /// updates stay in cache, unlike a gather that would chase pixels across the image.
    @inline(__always)
    static func splat<W: DenseCRFWidth>(_: W.Type, _ q: UnsafePointer<SIMD4<Float>>, norm: UnsafePointer<Float>?,
                                        into values: UnsafeMutablePointer<SIMD4<Float>>, vectors: Int,
                                        d: Int, m: Int, n: Int,
                                        sliceRow: UnsafePointer<Int32>, barycentric: UnsafePointer<Float>) {
        let cv = W.vectors(vectors)
        (values + cv).initialize(repeating: SIMD4(), count: m * cv)
        let d1 = d + 1
        withUnsafeTemporaryAllocation(of: SIMD4<Float>.self, capacity: cv) { u in
            let u = u.baseAddress!
            for i in 0..<n {
                // The kernel's input row: Q * norm (NORMALIZE_SYMMETRIC, before filtering).
                let src = q + i * cv
                if let norm {
                    let s = SIMD4<Float>(repeating: norm[i])
                    for c in 0..<cv { u[c] = src[c] * s }
                } else {
                    for c in 0..<cv { u[c] = src[c] }
                }
                for r in 0..<d1 {
                    let w = SIMD4<Float>(repeating: barycentric[i * d1 + r])
                    let row = values + Int(sliceRow[i * d1 + r]) * cv
                    for c in 0..<cv { row[c] = row[c] + w * u[c] }
                }
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
        // Splat the ones in pixel order: values[o] += w * 1.
        for k in 0..<(n * (d + 1)) { a[Int(sliceRow[k])] += barycentric[k] }
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
