// MARK: - exp and normalisation as densecrf's `expAndNormalize` computes them

/// Eigen 3's SSE `pexp<Packet4f>` (the Cephes polynomial), which is what densecrf's
/// `b.array().exp()` runs on x86-64; transcribed lane for lane, FMA-free.
@inline(__always)
func cephesExp(_ input: SIMD4<Float>) -> SIMD4<Float> {
    let one = SIMD4<Float>(repeating: 1)
    var x = input.clamped(lowerBound: SIMD4(repeating: -88.3762626647949),
                          upperBound: SIMD4(repeating: 88.3762626647950))
    // exp(x) = exp(g + n log 2)
    var fx = x * 1.44269504088896341 + 0.5
    let truncated = SIMD4<Float>(SIMD4<Int32>(fx, rounding: .towardZero))
    // floor: subtract one where truncation went up.
    fx = truncated - SIMD4<Float>(repeating: 0).replacing(with: 1, where: truncated .> fx)
    x = x - fx * 0.693359375
    x = x - fx * -2.12194440e-4
    let z = x * x
    var y = SIMD4<Float>(repeating: 1.9875691500e-4)
    y = y * x + 1.3981999507e-3
    y = y * x + 8.3334519073e-3
    y = y * x + 4.1665795894e-2
    y = y * x + 1.6666665459e-1
    y = y * x + 5.0000001201e-1
    y = y * z + x
    y = y + one
    // 2^n through the exponent bits.
    let n = SIMD4<Int32>(fx, rounding: .towardZero) &+ 0x7f
    let pow2 = unsafeBitCast(n &<< 23, to: SIMD4<Float>.self)
    return pointwiseMax(y * pow2, input)
}

/// Softmax of one pixel's row `t` (`vectors` SIMD4s; padding lanes hold a huge negative
/// value and come out 0), written to `q`: subtract the max, exp, divide by the sum.
@inline(__always)
func expAndNormalize(_ t: UnsafeMutablePointer<SIMD4<Float>>, vectors: Int,
                     into q: UnsafeMutablePointer<SIMD4<Float>>) {
    var mx = t[0]
    for c in 1..<max(1, vectors) { mx = pointwiseMax(mx, t[c]) }
    let m = mx.max()
    var sum: Float = 0
    for c in 0..<vectors {
        let e = cephesExp(t[c] - m)
        t[c] = e
        sum += e.sum()
    }
    for c in 0..<vectors { q[c] = t[c] / sum }
}
