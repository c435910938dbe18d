import Foundation

// MARK: - Kernel geometry (shareable)

/// A copy of `array` in memory the caller owns (deallocate it).
private func ownedCopy<T>(_ array: [T]) -> UnsafeMutablePointer<T> {
    let p = UnsafeMutablePointer<T>.allocate(capacity: max(1, array.count))
    _ = UnsafeMutableBufferPointer(start: p, count: array.count).initialize(from: array)
    return p
}

/// A permutohedral lattice for fixed features with its NORMALIZE_SYMMETRIC factors:
/// immutable once built, so one instance may serve many calls and threads.
final class DenseCRFKernelGeometry: @unchecked Sendable {
    let d: Int
    let m: Int
    let n: Int
    let alpha: Float
    let neighbors: UnsafeMutablePointer<Int32>
    let sliceRow: UnsafeMutablePointer<Int32>
    let barycentric: UnsafeMutablePointer<Float>
    let norm: UnsafeMutablePointer<Float>

    init(features: [Float], dimension: Int, pixels: Int) {
        let lat = PermutohedralLattice(features: features, dimension: dimension, count: pixels)
        d = lat.d
        m = lat.m
        n = pixels
        alpha = lat.alpha
        neighbors = ownedCopy(lat.blurNeighbor)
        sliceRow = ownedCopy(lat.sliceRow)
        barycentric = ownedCopy(lat.barycentric)
        norm = ownedCopy(lat.symmetricNorm())
    }

    deinit {
        neighbors.deallocate()
        sliceRow.deallocate()
        barycentric.deallocate()
        norm.deallocate()
    }
}

/// The smoothness kernel depends only on the image size and sxy, so a batch of equally
/// sized images shares it: the last one built is kept (a pure cache: the geometry is a
/// deterministic function of the key, so results never depend on hits or misses).
enum DenseCRFGeometryCache {
    private struct Key: Equatable {
        let width: Int
        let height: Int
        let sxyBits: UInt32
    }

    private final class Slot: @unchecked Sendable {
        let lock = NSLock()
        var key: Key?
        var geometry: DenseCRFKernelGeometry?
    }

    private static let slot = Slot()

    static func gaussian(width: Int, height: Int, sxy: Float) -> DenseCRFKernelGeometry {
        let key = Key(width: width, height: height, sxyBits: sxy.bitPattern)
        slot.lock.lock()
        if slot.key == key, let g = slot.geometry {
            slot.lock.unlock()
            return g
        }
        slot.lock.unlock()
        // Features exactly as DenseCRF2D::addPairwiseGaussian builds them: i / sx, j / sy.
        var features = [Float](repeating: 0, count: 2 * width * height)
        for y in 0..<height {
            for x in 0..<width {
                features[2 * (y * width + x)] = Float(x) / sxy
                features[2 * (y * width + x) + 1] = Float(y) / sxy
            }
        }
        let g = DenseCRFKernelGeometry(features: features, dimension: 2, pixels: width * height)
        slot.lock.lock()
        slot.key = key
        slot.geometry = g
        slot.lock.unlock()
        return g
    }
}

// MARK: - One pairwise kernel

/// The raw pointers the hot loops read: a trivial value, so no reference counting.
struct DenseCRFKernelView {
    let d: Int
    let m: Int
    let vectors: Int
    let n: Int
    let neighbors: UnsafePointer<Int32>
    let sliceRow: UnsafePointer<Int32>
    /// Barycentric weights, for splatting.
    let barycentric: UnsafePointer<Float>
    /// The slice scale (the SSE slice multiplies by barycentric * alpha).
    let alpha: Float
    let norm: UnsafePointer<Float>
    let negCompat: Float
}

/// A Gaussian kernel with a Potts compatibility for one call: a geometry plus the
/// buffers one filtering pass needs.
final class DenseCRFKernel {
    let geometry: DenseCRFKernelGeometry
    let view: DenseCRFKernelView
    private var front: UnsafeMutablePointer<SIMD4<Float>>
    private var back: UnsafeMutablePointer<SIMD4<Float>>

    init(geometry g: DenseCRFKernelGeometry, compat: Float, vectors: Int) {
        geometry = g
        view = DenseCRFKernelView(d: g.d, m: g.m, vectors: vectors, n: g.n,
                                  neighbors: g.neighbors, sliceRow: g.sliceRow, barycentric: g.barycentric,
                                  alpha: g.alpha, norm: g.norm, negCompat: -compat)
        // Trivial values, written before they are read; only row 0, which stands in for
        // absent blur neighbours, needs zeros.
        let rows = (g.m + 1) * vectors
        front = .allocate(capacity: rows)
        front.initialize(repeating: SIMD4(), count: vectors)
        back = .allocate(capacity: rows)
        back.initialize(repeating: SIMD4(), count: vectors)
    }

    deinit {
        front.deallocate()
        back.deallocate()
    }

    /// Vertex rows after `splat` and `blur`; valid until the next `splat`.
    var blurred: UnsafePointer<SIMD4<Float>> { UnsafePointer(front) }

    /// Splats the pixel rows of Q (times the kernel's norm) in pixel order; sequential,
    /// as the original's summation order is. The two kernels splat side by side.
    func splat<W: DenseCRFWidth>(_ width: W.Type, q: UnsafePointer<SIMD4<Float>>) {
        let v = view
        PermutohedralLattice.splat(width, q, norm: v.norm, into: front, vectors: v.vectors, d: v.d, m: v.m,
                                   n: v.n, sliceRow: v.sliceRow, barycentric: v.barycentric)
    }

    /// Blurs along axes 0...d (densecrf's forward order), vertices split across threads.
    func blur<W: DenseCRFWidth>(_ width: W.Type, threads: Int) {
        let v = view
        for axis in 0...v.d {
            let old = UnsafePointer(front)
            let new = back
            DenseCRFParallel.forEachChunk(v.m, threads: threads, minChunk: 1024) { range in
                PermutohedralLattice.blur(width, axis: axis, from: old, to: new, vectors: v.vectors, vertices: range,
                                          m: v.m, neighbors: v.neighbors)
            }
            swap(&front, &back)
        }
    }
}
