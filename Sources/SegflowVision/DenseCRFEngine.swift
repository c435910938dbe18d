import CDenseCRF
import Dispatch

// MARK: - Mean field

/// Holds one image's unary, kernels and marginals (pixel-major rows of SIMD4s).
final class DenseCRFEngine {
    let classes: Int
    let pixels: Int
    let vectors: Int
    let iterations: Int
    let threads: Int
    let kernels: [DenseCRFKernel]
    /// -unary, padding lanes -1e30 so that they exponentiate to 0.
    let negUnary: UnsafeMutablePointer<SIMD4<Float>>
    let q: UnsafeMutablePointer<SIMD4<Float>>
    /// The per-pixel step's implementation; tests set it to compare the two.
    var stepPath: DenseCRFStepPath = .preferred
    /// Whether the step (and the initial softmax) run in AVX-512 for this row width.
    private var usesAVX512: Bool { stepPath == .avx512 && stepPath.handles(vectors: vectors) }

    init(unary: [Float], classes: Int, width: Int, height: Int, rgb: [UInt8],
         params: DenseCRFParams, threads: Int) {
        let n = width * height
        precondition(classes >= 1, "need at least one class")
        precondition(unary.count == classes * n, "unary must hold classes * width * height floats")
        precondition(rgb.count == 3 * n, "rgb must hold width * height * 3 bytes")
        self.classes = classes
        self.pixels = n
        self.vectors = (classes + 3) / 4
        self.iterations = max(0, params.iterations)
        self.threads = max(1, threads)
        let cv = vectors

        negUnary = .allocate(capacity: n * cv)
        q = .allocate(capacity: n * cv)
        let negUnary = self.negUnary

        // Two independent jobs, run side by side when threads allow: the smoothness kernel
        // plus the unary transposition (lighter lattice), and the appearance kernel.
        // Features exactly as DenseCRF2D builds them: i / sx, j / sy, colour / s.
        let built = UnsafeMutablePointer<DenseCRFKernel?>.allocate(capacity: 2)
        built.initialize(repeating: nil, count: 2)
        defer { built.deinitialize(count: 2); built.deallocate() }
        let make = { (k: Int) in
            if k == 0 {
                let padded = UnsafeMutableRawPointer(negUnary).bindMemory(to: Float.self, capacity: n * cv * 4)
                padded.initialize(repeating: -1e30, count: n * cv * 4)
                unary.withUnsafeBufferPointer { u in
                    for i in 0..<n {
                        for c in 0..<classes { padded[i * cv * 4 + c] = -u[c * n + i] }
                    }
                }
                let geometry = DenseCRFGeometryCache.gaussian(width: width, height: height, sxy: params.sxyGaussian)
                built[0] = DenseCRFKernel(geometry: geometry, compat: params.compatGaussian, vectors: cv)
            } else {
                var bilateral = [Float](repeating: 0, count: 5 * n)
                rgb.withUnsafeBufferPointer { rgb in
                    for y in 0..<height {
                        for x in 0..<width {
                            let i = y * width + x
                            bilateral[5 * i] = Float(x) / params.sxyBilateral
                            bilateral[5 * i + 1] = Float(y) / params.sxyBilateral
                            bilateral[5 * i + 2] = Float(rgb[3 * i]) / params.srgb
                            bilateral[5 * i + 3] = Float(rgb[3 * i + 1]) / params.srgb
                            bilateral[5 * i + 4] = Float(rgb[3 * i + 2]) / params.srgb
                        }
                    }
                }
                let geometry = DenseCRFKernelGeometry(features: bilateral, dimension: 5, pixels: n)
                built[1] = DenseCRFKernel(geometry: geometry, compat: params.compatBilateral, vectors: cv)
            }
        }
        if self.threads > 1 {
            DispatchQueue.concurrentPerform(iterations: 2, execute: make)
        } else {
            make(0)
            make(1)
        }
        kernels = [built[0]!, built[1]!]
    }

    deinit {
        negUnary.deallocate()
        q.deallocate()
    }

    /// Runs `iterations` mean-field steps in densecrf's order: Q = softmax(-U); then
    /// tmp = -U; tmp -= pairwise_k(Q) for each kernel in order added; Q = softmax(tmp).
    func run() -> DenseCRFMarginals {
        switch vectors {
        case 1: iterate(DenseCRFWidth1.self)
        case 2: iterate(DenseCRFWidth2.self)
        case 3: iterate(DenseCRFWidth3.self)
        case 4: iterate(DenseCRFWidth4.self)
        case 5: iterate(DenseCRFWidth5.self)
        case 6: iterate(DenseCRFWidth6.self)
        default: iterate(DenseCRFWidthAny.self)
        }
        return DenseCRFMarginals(rows: q, classes: classes, pixels: pixels, vectors: vectors)
    }

    private func iterate<W: DenseCRFWidth>(_ width: W.Type) {
        let negUnary = UnsafePointer(self.negUnary)
        let q = self.q
        // Initial Q = softmax(-U): the step with no kernels to slice.
        if usesAVX512 {
            stepAVX512(negUnary: negUnary, slicing: [])
        } else {
            softmaxOfUnary(width, negUnary: negUnary)
        }
        let kernels = self.kernels
        // Per iteration: each kernel splats and blurs (side by side when threads allow),
        // then the per-pixel step runs split over pixels. Blurring is cheap (vertices are
        // far fewer than pixels), so it is not split further: every split is a barrier,
        // and on a busy machine each barrier can wait for a descheduled worker.
        for _ in 0..<iterations {
            if threads > 1 {
                DispatchQueue.concurrentPerform(iterations: kernels.count) { k in
                    kernels[k].splat(width, q: UnsafePointer(q))
                    kernels[k].blur(width, threads: 1)
                }
            } else {
                for k in kernels {
                    k.splat(width, q: UnsafePointer(q))
                    k.blur(width, threads: 1)
                }
            }
            step(width, negUnary: negUnary)
        }
    }

    /// Q = softmax(-U), per pixel.
    private func softmaxOfUnary<W: DenseCRFWidth>(_ width: W.Type, negUnary: UnsafePointer<SIMD4<Float>>) {
        let cv = W.vectors(vectors)
        let q = self.q
        DenseCRFParallel.forEachChunk(pixels, threads: threads) { range in
            withUnsafeTemporaryAllocation(of: SIMD4<Float>.self, capacity: cv) { t in
                let t = t.baseAddress!
                for i in range {
                    for c in 0..<cv { t[c] = negUnary[i * cv + c] }
                    expAndNormalize(width, t, vectors: cv, into: q + i * cv)
                }
            }
        }
    }

    /// Slices both kernels, forms tmp and exponentiates into Q, per pixel.
    private func step<W: DenseCRFWidth>(_ width: W.Type, negUnary: UnsafePointer<SIMD4<Float>>) {
        if usesAVX512 {
            stepAVX512(negUnary: negUnary, slicing: kernels)
            return
        }
        let cv = W.vectors(vectors)
        let q = self.q
        let g = kernels[0].view
        let b = kernels[1].view
        let gValues = kernels[0].blurred
        let bValues = kernels[1].blurred
        DenseCRFParallel.forEachChunk(pixels, threads: threads) { range in
            withUnsafeTemporaryAllocation(of: SIMD4<Float>.self, capacity: 2 * cv) { scratch in
                let t = scratch.baseAddress!
                let s = t + cv
                for i in range {
                    for c in 0..<cv { t[c] = negUnary[i * cv + c] }
                    Self.slice(width, g, values: gValues, pixel: i, into: s)
                    Self.subtractPairwise(width, g, sliced: s, pixel: i, from: t)
                    Self.slice(width, b, values: bValues, pixel: i, into: s)
                    Self.subtractPairwise(width, b, sliced: s, pixel: i, from: t)
                    expAndNormalize(width, t, vectors: cv, into: q + i * cv)
                }
            }
        }
    }

    /// The same step in C with AVX-512 (see CDenseCRF.h): one vector per pixel row.
    private func stepAVX512(negUnary: UnsafePointer<SIMD4<Float>>, slicing: [DenseCRFKernel]) {
        let stepKernels = slicing.map(\.stepKernel)
        let unary = UnsafeRawPointer(negUnary).assumingMemoryBound(to: Float.self)
        let q = UnsafeMutableRawPointer(self.q).assumingMemoryBound(to: Float.self)
        let vectors = Int32(self.vectors)
        stepKernels.withUnsafeBufferPointer { k in
            let k = k.baseAddress
            let count = Int32(stepKernels.count)
            DenseCRFParallel.forEachChunk(pixels, threads: threads) { range in
                segflow_crf_step_avx512(vectors, range.lowerBound, range.upperBound, unary, q, k, count)
            }
        }
    }

    /// s = sum over the pixel's vertices of (barycentric * alpha) * value.
    @inline(__always)
    private static func slice<W: DenseCRFWidth>(_: W.Type, _ k: DenseCRFKernelView, values: UnsafePointer<SIMD4<Float>>,
                                                pixel i: Int, into s: UnsafeMutablePointer<SIMD4<Float>>) {
        let cv = W.vectors(k.vectors)
        let d1 = k.d + 1
        if cv <= 4 {
            var acc = DenseCRFAccumulator()
            for r in 0..<d1 {
                acc.add(SIMD4(repeating: k.barycentric[i * d1 + r] * k.alpha),
                        values + Int(k.sliceRow[i * d1 + r]) * cv, cv)
            }
            acc.store(s, cv)
            return
        }
        for c in 0..<cv { s[c] = SIMD4() }
        for r in 0..<d1 {
            let w = SIMD4<Float>(repeating: k.barycentric[i * d1 + r] * k.alpha)
            let row = values + Int(k.sliceRow[i * d1 + r]) * cv
            for c in 0..<cv { s[c] = s[c] + w * row[c] }
        }
    }

    /// tmp -= (-w) * (sliced * norm): Potts compatibility after the symmetric normalisation.
    @inline(__always)
    private static func subtractPairwise<W: DenseCRFWidth>(_: W.Type, _ k: DenseCRFKernelView,
                                                           sliced s: UnsafePointer<SIMD4<Float>>,
                                                           pixel i: Int, from t: UnsafeMutablePointer<SIMD4<Float>>) {
        let nrm = SIMD4<Float>(repeating: k.norm[i])
        let negW = SIMD4<Float>(repeating: k.negCompat)
        for c in 0..<W.vectors(k.vectors) { t[c] = t[c] - negW * (s[c] * nrm) }
    }
}

// MARK: - Result

/// Marginals as pixel-major padded rows; borrowed from the engine that made them.
struct DenseCRFMarginals {
    let rows: UnsafePointer<SIMD4<Float>>
    let classes: Int
    let pixels: Int
    let vectors: Int

    init(rows: UnsafeMutablePointer<SIMD4<Float>>, classes: Int, pixels: Int, vectors: Int) {
        self.rows = UnsafePointer(rows)
        self.classes = classes
        self.pixels = pixels
        self.vectors = vectors
    }

    /// (C, H, W) layout.
    func channelMajor() -> [Float] {
        let flat = UnsafeRawPointer(rows).assumingMemoryBound(to: Float.self)
        let stride = vectors * 4
        var out = [Float](repeating: 0, count: classes * pixels)
        out.withUnsafeMutableBufferPointer { o in
            for i in 0..<pixels {
                for c in 0..<classes { o[c * pixels + i] = flat[i * stride + c] }
            }
        }
        return out
    }

    /// First index of the largest marginal per pixel (numpy's argmax rule).
    func argmax() -> [UInt8] {
        let flat = UnsafeRawPointer(rows).assumingMemoryBound(to: Float.self)
        let stride = vectors * 4
        var out = [UInt8](repeating: 0, count: pixels)
        for i in 0..<pixels {
            var best = 0
            var bestValue = flat[i * stride]
            for c in 1..<max(1, classes) where flat[i * stride + c] > bestValue {
                best = c
                bestValue = flat[i * stride + c]
            }
            out[i] = UInt8(best)
        }
        return out
    }
}
