// Fully connected CRF with Gaussian edge potentials (Kraehenbuehl & Koltun, NIPS 2011),
// following the original densecrf code that pydensecrf (pydensecrf2 1.1) wraps:
// `DenseCRF2D`, `addPairwiseGaussian(sxy, compat)`, `addPairwiseBilateral(sxy, srgb,
// rgb, compat)`, Potts compatibility, NORMALIZE_SYMMETRIC kernels and `inference(n)`.
//
// Layout of the parts: PermutohedralLattice (+Hash, +Filter) builds and filters the
// lattice; DenseCRFEngine runs mean field; DenseCRFMath is Eigen's exp and densecrf's
// expAndNormalize; DenseCRFWidth specialises the row width; DenseCRFParallel splits loops.
// On the CamVid benchmark (bench/crf/RESULTS.md) the MAP labels equal pydensecrf's on
// every pixel.

// MARK: - Parameters

/// Kernel widths, Potts weights and iteration count; the defaults are the PSA/SEAM ones.
public struct DenseCRFParams: Sendable, Equatable {
    /// Spatial standard deviation (pixels) of the smoothness kernel.
    public var sxyGaussian: Float = 3
    /// Potts weight of the smoothness kernel.
    public var compatGaussian: Float = 3
    /// Spatial standard deviation (pixels) of the appearance kernel.
    public var sxyBilateral: Float = 80
    /// Colour standard deviation (0...255 units) of the appearance kernel.
    public var srgb: Float = 13
    /// Potts weight of the appearance kernel.
    public var compatBilateral: Float = 10
    /// Mean-field iterations.
    public var iterations: Int = 10

    public init(sxyGaussian: Float = 3, compatGaussian: Float = 3, sxyBilateral: Float = 80,
                srgb: Float = 13, compatBilateral: Float = 10, iterations: Int = 10) {
        self.sxyGaussian = sxyGaussian
        self.compatGaussian = compatGaussian
        self.sxyBilateral = sxyBilateral
        self.srgb = srgb
        self.compatBilateral = compatBilateral
        self.iterations = iterations
    }
}

// MARK: - Inference

/// Mean-field inference of the dense CRF on one image.
///
/// Safe to call from several threads at once (each call owns its buffers). `threads`
/// only splits work inside one call: results are bitwise identical for any value.
/// Memory: about 32 * ceil(C / 4) + 4 * C + 72 bytes per pixel (-U and Q rows, the
/// result, both lattices' slice lists), e.g. 37 MB for 480x360 with 11 classes.
public enum DenseCRF {
    /// Marginals after `params.iterations` mean-field steps.
    ///
    /// - Parameters:
    ///   - unary: -log p, layout (C, H, W) float32 (channel-major, like the .npy CAM
    ///     files and pydensecrf's U).
    ///   - rgb: H*W*3 interleaved uint8.
    ///   - threads: worker threads (1 runs inline); the result is bitwise the same for any value.
    /// - Returns: (C, H, W) marginals.
    public static func inferProbabilities(unary: [Float], classes: Int, width: Int, height: Int,
                                          rgb: [UInt8], params: DenseCRFParams, threads: Int) -> [Float] {
        let engine = DenseCRFEngine(unary: unary, classes: classes, width: width, height: height,
                                    rgb: rgb, params: params, threads: threads)
        return withExtendedLifetime(engine) { engine.run().channelMajor() }
    }

    /// Argmax label per pixel (H*W, row-major) of the marginals; ties go to the lower index.
    public static func inferLabels(unary: [Float], classes: Int, width: Int, height: Int,
                                   rgb: [UInt8], params: DenseCRFParams, threads: Int) -> [UInt8] {
        precondition(classes <= 256, "inferLabels returns UInt8 labels: at most 256 classes")
        let engine = DenseCRFEngine(unary: unary, classes: classes, width: width, height: height,
                                    rgb: rgb, params: params, threads: threads)
        return withExtendedLifetime(engine) { engine.run().argmax() }
    }
}
