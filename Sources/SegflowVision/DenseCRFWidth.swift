// MARK: - Row widths known at compile time

/// The number of SIMD4 chunks in a value row (classes padded to 4).
///
/// Hot loops are generic over this so that, specialised, their per-row loops have a
/// constant trip count: they unroll and their accumulators live in registers.
protocol DenseCRFWidth {
    /// The chunk count; `dynamic` is the runtime value, which only the fallback uses.
    static func vectors(_ dynamic: Int) -> Int
}

enum DenseCRFWidth1: DenseCRFWidth { @inline(__always) static func vectors(_: Int) -> Int { 1 } }
enum DenseCRFWidth2: DenseCRFWidth { @inline(__always) static func vectors(_: Int) -> Int { 2 } }
enum DenseCRFWidth3: DenseCRFWidth { @inline(__always) static func vectors(_: Int) -> Int { 3 } }
enum DenseCRFWidth4: DenseCRFWidth { @inline(__always) static func vectors(_: Int) -> Int { 4 } }
enum DenseCRFWidth5: DenseCRFWidth { @inline(__always) static func vectors(_: Int) -> Int { 5 } }
enum DenseCRFWidth6: DenseCRFWidth { @inline(__always) static func vectors(_: Int) -> Int { 6 } }
/// Any other width, read at run time.
enum DenseCRFWidthAny: DenseCRFWidth { @inline(__always) static func vectors(_ n: Int) -> Int { n } }

/// Element-wise max and min without the generic `pointwiseMax` call or the lane loop
/// that `replacing(with:where:)` becomes.
@inline(__always)
func simdMax(_ a: SIMD4<Float>, _ b: SIMD4<Float>) -> SIMD4<Float> {
    // Per-lane `a < b ? b : a` is the pattern LLVM turns into maxps.
    SIMD4(a[0] < b[0] ? b[0] : a[0], a[1] < b[1] ? b[1] : a[1],
          a[2] < b[2] ? b[2] : a[2], a[3] < b[3] ? b[3] : a[3])
}

@inline(__always)
func simdMin(_ a: SIMD4<Float>, _ b: SIMD4<Float>) -> SIMD4<Float> {
    SIMD4(b[0] < a[0] ? b[0] : a[0], b[1] < a[1] ? b[1] : a[1],
          b[2] < a[2] ? b[2] : a[2], b[3] < a[3] ? b[3] : a[3])
}

/// Lanes of `yes` where `mask` is set, else of `no`.
@inline(__always)
func simdSelect(_ mask: SIMDMask<SIMD4<Int32>>, _ yes: SIMD4<Float>, _ no: SIMD4<Float>) -> SIMD4<Float> {
    SIMD4(mask[0] ? yes[0] : no[0], mask[1] ? yes[1] : no[1],
          mask[2] ? yes[2] : no[2], mask[3] ? yes[3] : no[3])
}

// MARK: - Register accumulators

/// Up to four SIMD4 accumulators held in registers. Accumulating through a pointer
/// instead makes the compiler store and reload after every step, because the output
/// might alias the rows being read.
struct DenseCRFAccumulator {
    var a0 = SIMD4<Float>()
    var a1 = SIMD4<Float>()
    var a2 = SIMD4<Float>()
    var a3 = SIMD4<Float>()

    /// self += w * row, for the first `cv` (<= 4) chunks.
    @inline(__always)
    mutating func add(_ w: SIMD4<Float>, _ row: UnsafePointer<SIMD4<Float>>, _ cv: Int) {
        a0 = a0 + w * row[0]
        if cv > 1 { a1 = a1 + w * row[1] }
        if cv > 2 { a2 = a2 + w * row[2] }
        if cv > 3 { a3 = a3 + w * row[3] }
    }

    @inline(__always)
    func store(_ out: UnsafeMutablePointer<SIMD4<Float>>, _ cv: Int) {
        out[0] = a0
        if cv > 1 { out[1] = a1 }
        if cv > 2 { out[2] = a2 }
        if cv > 3 { out[3] = a3 }
    }
}
