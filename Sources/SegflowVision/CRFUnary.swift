import Foundation

// MARK: - Unary potentials

/// Builds dense-CRF unaries (-log p, layout (C, H, W)) from network outputs.
public enum CRFUnary {
    /// Probabilities are clipped to at least this before the log (pydensecrf's default).
    public static let clip: Float = 1e-5

    /// `pydensecrf.utils.unary_from_softmax(probs)` exactly (scale None, clip 1e-5):
    /// -log(clip(p, 1e-5, 1)) in float32. probs layout (C, H, W), `pixels` = H * W.
    ///
    /// With `normalize` each pixel's probabilities are first divided by their sum over
    /// classes (a pixel summing to 0 becomes uniform); pydensecrf does not do this, so
    /// pass `false` to match it.
    public static func fromProbabilities(_ probs: [Float], classes: Int, pixels: Int,
                                         normalize: Bool) -> [Float] {
        precondition(probs.count == classes * pixels, "probs must hold classes * pixels floats")
        var p = probs
        if normalize { normalizePerPixel(&p, classes: classes, pixels: pixels) }
        return p.map { -logf(min(max($0, clip), 1)) }
    }

    /// PSA-style unary from class activation maps in [0, 1], layout (C, H, W).
    ///
    /// 1. With `addBackground`, a background score (1 - max_c cam)^alpha is prepended as
    ///    channel 0, so the result has C + 1 channels; otherwise it has C. CAM values are
    ///    clamped to [0, 1] first.
    /// 2. Scores are normalised per pixel by their sum (no softmax); a pixel whose
    ///    scores sum to 0 becomes uniform.
    /// 3. The result is -log(clip(p, 1e-5, 1)), as `fromProbabilities`.
    ///
    /// PSA feeds the unnormalised scores straight to `unary_from_softmax`; step 2 is the
    /// one difference, and it only shifts each pixel's unary by a constant when no score
    /// is clipped, which leaves the CRF's marginals unchanged.
    public static func fromCAMs(_ cams: [Float], classes: Int, pixels: Int, alpha: Float,
                                addBackground: Bool) -> [Float] {
        precondition(cams.count == classes * pixels, "cams must hold classes * pixels floats")
        let outClasses = addBackground ? classes + 1 : classes
        let shift = addBackground ? pixels : 0
        var scores = [Float](repeating: 0, count: outClasses * pixels)
        for i in 0..<(classes * pixels) { scores[shift + i] = min(max(cams[i], 0), 1) }
        if addBackground {
            for i in 0..<pixels {
                var mx: Float = 0
                for c in 0..<classes { mx = max(mx, scores[(c + 1) * pixels + i]) }
                scores[i] = powf(1 - mx, alpha)
            }
        }
        normalizePerPixel(&scores, classes: outClasses, pixels: pixels)
        return scores.map { -logf(min(max($0, clip), 1)) }
    }

    private static func normalizePerPixel(_ p: inout [Float], classes: Int, pixels: Int) {
        guard classes > 0 else { return }
        for i in 0..<pixels {
            var sum: Float = 0
            for c in 0..<classes { sum += p[c * pixels + i] }
            if sum > 0 {
                for c in 0..<classes { p[c * pixels + i] /= sum }
            } else {
                for c in 0..<classes { p[c * pixels + i] = 1 / Float(classes) }
            }
        }
    }
}
