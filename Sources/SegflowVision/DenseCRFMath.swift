// MARK: - exp and normalisation as densecrf's `expAndNormalize` computes them

/// Eigen 3's SSE `pexp<Packet4f>` (the Cephes polynomial), which is what densecrf's
/// `b.array().exp()` runs on x86-64; transcribed lane for lane, FMA-free.
@inline(__always)
func cephesExp(_ input: SIMD4<Float>) -> SIMD4<Float> {
    // Constants as whole vectors: the vector-by-scalar operators rebuild the broadcast
    // at every use in this code, which costs more than the arithmetic.
    let one = SIMD4<Float>(repeating: 1)
    let half = SIMD4<Float>(repeating: 0.5)
    let hi = SIMD4<Float>(repeating: 88.3762626647950)
    let lo = SIMD4<Float>(repeating: -88.3762626647949)
    let log2e = SIMD4<Float>(repeating: 1.44269504088896341)
    let c1 = SIMD4<Float>(repeating: 0.693359375)
    let c2 = SIMD4<Float>(repeating: -2.12194440e-4)
    let p0 = SIMD4<Float>(repeating: 1.9875691500e-4)
    let p1 = SIMD4<Float>(repeating: 1.3981999507e-3)
    let p2 = SIMD4<Float>(repeating: 8.3334519073e-3)
    let p3 = SIMD4<Float>(repeating: 4.1665795894e-2)
    let p4 = SIMD4<Float>(repeating: 1.6666665459e-1)
    let p5 = SIMD4<Float>(repeating: 5.0000001201e-1)
    // |fx0| < 2^22 here, so adding and removing 1.5 * 2^23 rounds to an integer in SIMD.
    let magic = SIMD4<Float>(repeating: 12_582_912)
    let magicBias = SIMD4<Float>(repeating: 12_582_912 + 127)

    var x = simdMax(simdMin(input, hi), lo)
    // exp(x) = exp(g + n log 2)
    let fx0 = x * log2e + half
    // floor(fx0), which Eigen's truncate-and-correct computes too.
    let rounded = (fx0 + magic) - magic
    let fx = rounded - simdSelect(rounded .> fx0, one, SIMD4<Float>())
    x = x - fx * c1
    x = x - fx * c2
    let z = x * x
    var y = p0
    y = y * x + p1
    y = y * x + p2
    y = y * x + p3
    y = y * x + p4
    y = y * x + p5
    y = y * z + x
    y = y + one
    // 2^n through the exponent bits: n + 127 sits in the low mantissa bits of n + 127 + 1.5 * 2^23.
    let biased = unsafeBitCast(fx + magicBias, to: SIMD4<UInt32>.self) & SIMD4<UInt32>(repeating: 0x3f_ffff)
    let pow2 = unsafeBitCast(biased &<< SIMD4<UInt32>(repeating: 23), to: SIMD4<Float>.self)
    return simdMax(y * pow2, input)
}

/// Softmax of one pixel's row `t` (`W` SIMD4s; padding lanes hold a huge negative
/// value and come out 0), written to `q`: subtract the max, exp, divide by the sum.
@inline(__always)
func expAndNormalize<W: DenseCRFWidth>(_: W.Type, _ t: UnsafeMutablePointer<SIMD4<Float>>, vectors: Int,
                                       into q: UnsafeMutablePointer<SIMD4<Float>>) {
    let cv = W.vectors(vectors)
    var mx = t[0]
    var c = 1
    while c < cv { mx = simdMax(mx, t[c]); c += 1 }
    let m = horizontalMax(mx)
    var total = SIMD4<Float>()
    for c in 0..<cv {
        let e = cephesExp(t[c] - m)
        t[c] = e
        total += e
    }
    let sum = horizontalSum(total)
    for c in 0..<cv { q[c] = t[c] / sum }
}

@inline(__always)
func horizontalMax(_ v: SIMD4<Float>) -> Float {
    let a = v.lowHalf.replacing(with: v.highHalf, where: v.highHalf .> v.lowHalf)
    return Swift.max(a[0], a[1])
}

@inline(__always)
func horizontalSum(_ v: SIMD4<Float>) -> Float {
    let a = v.lowHalf + v.highHalf
    return a[0] + a[1]
}
