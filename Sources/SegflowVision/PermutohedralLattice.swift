// Permutohedral lattice (Adams, Baek, Davis 2010) as used by the dense CRF of
// Kraehenbuehl & Koltun (densecrf / pydensecrf `permutohedral.cpp`).
//
// The arithmetic follows the original's SSE build (the one pip compiles on x86-64):
// float32 elevation with the same scale factors, rounding to nearest-even, the same
// rank / barycentric computation, splat in pixel order, blur axis 0...d with
// `old + 0.5 * (n1 + n2)`, and slice with `barycentric * alpha` weights.
//
// What differs is only the data layout, chosen for speed and threads:
// - all channels of a vertex are contiguous (SIMD4 chunks), so one pass filters them all;
// - vertex ids never influence a result (each vertex's sum, blur and slice are
//   independent of numbering), so the hash table may differ from the original.

import Foundation

// MARK: - Lattice

/// A permutohedral lattice built for fixed features; filters pixel-major value rows.
struct PermutohedralLattice {
    /// Feature dimension.
    let d: Int
    /// Number of pixels (points).
    let n: Int
    /// Number of lattice vertices; value rows are 1-based, row 0 is the always-zero row.
    let m: Int
    /// Per pixel, the d+1 enclosing vertices (1-based rows).
    let sliceRow: [Int32]
    /// Per pixel, the d+1 barycentric weights (no alpha).
    let barycentric: [Float]
    /// Blur neighbours, axis-major: for axis j and vertex v (0-based),
    /// entries 2*(j*m+v) and 2*(j*m+v)+1 are the rows of n1 and n2 (0 when absent).
    let blurNeighbor: [Int32]
    /// The original's "magic scaling constant" 1 / (1 + 2^-d).
    let alpha: Float

    /// Builds the lattice for `features`, laid out pixel-major (`n * d` floats).
    init(features: [Float], dimension d: Int, count n: Int) {
        precondition(d >= 1 && d <= LatticeKey.maxDimension, "lattice dimension \(d) unsupported")
        precondition(features.count == n * d)
        self.d = d
        self.n = n
        self.alpha = 1.0 / (1 + powf(2, -Float(d)))

        let elevator = LatticeElevator(dimension: d)
        // The SSE build processes 4 points at a time and inserts the vertices of the
        // zero-feature padding points too; they splat nothing but can bridge blur gaps.
        let padded = (n + 3) / 4 * 4
        // Start small: lattices have far fewer vertices than points, and a table that
        // stays in cache is faster to probe; it grows at half load.
        let table = LatticeHashTable(capacity: 2048)
        var sliceRow = [Int32](repeating: 0, count: n * (d + 1))
        var barycentric = [Float](repeating: 0, count: n * (d + 1))
        let zero = [Float](repeating: 0, count: d)
        withUnsafeTemporaryAllocation(of: LatticeKey.self, capacity: 2 * (d + 1)) { keys in
            let keys = keys.baseAddress!
            let previous = keys + (d + 1)
            features.withUnsafeBufferPointer { f in
                zero.withUnsafeBufferPointer { z in
                    sliceRow.withUnsafeMutableBufferPointer { rows in
                        barycentric.withUnsafeMutableBufferPointer { bary in
                            for i in 0..<padded {
                                if i < n {
                                    elevator.enclose(f.baseAddress! + i * d, keys: keys,
                                                     barycentric: bary.baseAddress! + i * (d + 1))
                                    for r in 0...d {
                                        // Neighbouring points mostly share their simplex:
                                        // reuse the previous point's vertex when the key repeats.
                                        if i > 0 && keys[r] == previous[r] {
                                            rows[i * (d + 1) + r] = rows[(i - 1) * (d + 1) + r]
                                        } else {
                                            rows[i * (d + 1) + r] = Int32(table.findOrInsert(keys[r]) + 1)
                                            previous[r] = keys[r]
                                        }
                                    }
                                } else {
                                    withUnsafeTemporaryAllocation(of: Float.self, capacity: d + 1) { scratch in
                                        elevator.enclose(z.baseAddress!, keys: keys, barycentric: scratch.baseAddress!)
                                    }
                                    for r in 0...d { _ = table.findOrInsert(keys[r]) }
                                }
                            }
                        }
                    }
                }
            }
        }
        let m = table.count
        self.m = m
        self.sliceRow = sliceRow
        self.barycentric = barycentric

        // Neighbours along axis j: key - 1 in every coordinate except key + d in
        // coordinate j (for j = d all coordinates move), and the opposite.
        let steps: [LatticeKey] = (0...d).map { j in
            var step = LatticeKey.lanes(d, -1)
            if j < d { step[j] = Int32(d) }
            return step
        }
        var neighbors = [Int32](repeating: 0, count: 2 * (d + 1) * m)
        neighbors.withUnsafeMutableBufferPointer { nb in
            for j in 0...d {
                let step = steps[j]
                for v in 0..<m {
                    let key = table.key(v)
                    nb[2 * (j * m + v)] = Int32(table.find(key &+ step) + 1)
                    nb[2 * (j * m + v) + 1] = Int32(table.find(key &- step) + 1)
                }
            }
        }
        self.blurNeighbor = neighbors
    }
}

// MARK: - Elevation onto the lattice

/// Per-point simplex search, a transcription of the SSE `Permutohedral::init` arithmetic.
struct LatticeElevator {
    let d: Int
    let scale: [Float]
    /// -1 in the key lanes 0..<d, 0 elsewhere.
    let laneMask: SIMD8<Int32>

    init(dimension d: Int) {
        self.d = d
        laneMask = LatticeKey.lanes(d, -1)
        // inv_std_dev is a float; the scale factors are computed in double, then stored as float.
        let invStdDev = Float(sqrt(2.0 / 3.0) * Double(d + 1))
        scale = (0..<d).map { (i: Int) -> Float in
            let root: Double = sqrt(Double((i + 2) * (i + 1)))
            return Float(1.0 / root * Double(invStdDev))
        }
    }

    /// Computes the d+1 vertex keys and barycentric weights (d+1 floats) of the simplex
    /// enclosing the point `f`.
    @inline(__always)
    func enclose(_ f: UnsafePointer<Float>, keys: UnsafeMutablePointer<LatticeKey>,
                 barycentric out: UnsafeMutablePointer<Float>) {
        let d = self.d
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { buf in
            let elevated = buf.baseAddress!
            let rem0 = elevated + 8
            let weights = rem0 + 8
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: 8) { rankBuf in
                let rank = rankBuf.baseAddress!
                scale.withUnsafeBufferPointer { scale in
                    Self.enclose(d: d, f, scale: scale.baseAddress!, laneMask: laneMask,
                                 elevated: elevated, rem0: rem0, rank: rank, weights: weights,
                                 keys: keys, out: out)
                }
            }
        }
    }

    @inline(__always)
    private static func enclose(d: Int, _ f: UnsafePointer<Float>, scale: UnsafePointer<Float>,
                                laneMask: SIMD8<Int32>,
                                elevated: UnsafeMutablePointer<Float>,
                                rem0: UnsafeMutablePointer<Float>, rank: UnsafeMutablePointer<Int32>,
                                weights: UnsafeMutablePointer<Float>, keys: UnsafeMutablePointer<LatticeKey>,
                                out: UnsafeMutablePointer<Float>) {
        let invDPlus1: Float = 1.0 / Float(d + 1)
        let dPlus1 = Float(d + 1)
        let dp1 = Int32(d + 1)
        // Adding and removing 1.5 * 2^23 rounds to nearest-even (|v| < 2^22), like cvtps2dq.
        let magic: Float = 12_582_912

        var sm: Float = 0
        var j = d
        while j > 0 {
            let cf = f[j - 1] * scale[j - 1]
            elevated[j] = sm - Float(j) * cf
            sm += cf
            j -= 1
        }
        elevated[0] = sm

        var sum: Float = 0
        for i in 0..<8 {
            rem0[i] = 0
            rank[i] = 0
        }
        for i in 0...d {
            let v = ((invDPlus1 * elevated[i]) + magic) - magic
            rem0[i] = v * dPlus1
            sum += v
        }
        for i in 0..<d {
            let di = elevated[i] - rem0[i]
            for k in (i + 1)...d {
                // Branch-free: the comparison is a coin flip for the predictor.
                let c: Int32 = di < elevated[k] - rem0[k] ? 1 : 0
                rank[i] += c
                rank[k] += 1 - c
            }
        }
        let isum = Int32(sum)
        for i in 0...d {
            rank[i] += isum
            if rank[i] < 0 {
                rank[i] += dp1
                rem0[i] += dPlus1
            } else if rank[i] >= dp1 {
                rank[i] -= dp1
                rem0[i] -= dPlus1
            }
        }
        for i in 0...(d + 1) { weights[i] = 0 }
        for i in 0...d {
            let v = (elevated[i] - rem0[i]) * invDPlus1
            let p = d - Int(rank[i])
            weights[p] += v
            weights[p + 1] -= v
        }
        weights[0] += 1 + weights[d + 1]
        for r in 0...d { out[r] = weights[r] }

        // key[i] = rem0[i] + canonical[r][rank[i]], where canonical[r][k] is r when
        // k <= d - r and r - (d + 1) otherwise; whole keys at once in SIMD.
        let remV = UnsafeRawPointer(rem0).loadUnaligned(as: SIMD8<Float>.self)
        let remBits = unsafeBitCast(remV + SIMD8(repeating: magic), to: SIMD8<Int32>.self)
        let remInt = (remBits & 0x7f_ffff) &- 0x40_0000
        let rankV = UnsafeRawPointer(rank).loadUnaligned(as: SIMD8<Int32>.self)
        for r in 0...d {
            let r32 = Int32(r)
            // d + 1 where rank + r > d: the sign bit of d - rank - r, spread by >>.
            let wrap = ((Int32(d) &- r32 &- rankV) &>> 31) & dp1
            keys[r] = ((remInt &+ r32) &- wrap) & laneMask
        }
    }
}
