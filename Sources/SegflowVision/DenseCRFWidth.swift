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

/// Element-wise max without the generic `pointwiseMax` call.
@inline(__always)
func simdMax(_ a: SIMD4<Float>, _ b: SIMD4<Float>) -> SIMD4<Float> {
    a.replacing(with: b, where: b .> a)
}

@inline(__always)
func simdMin(_ a: SIMD4<Float>, _ b: SIMD4<Float>) -> SIMD4<Float> {
    a.replacing(with: b, where: b .< a)
}
