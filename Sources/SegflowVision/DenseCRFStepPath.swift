import CDenseCRF
import Foundation

// MARK: - Which per-pixel step runs

/// The implementation of the mean-field step (slice both kernels, subtract, softmax).
///
/// Both compute the same operations per lane in the same order, so marginals and labels
/// are bitwise equal whichever runs (tests compare them); AVX-512 holds up to 16 classes
/// in one vector, where the portable path needs one 4-lane vector per 4 classes.
enum DenseCRFStepPath: Sendable, Hashable {
    /// Swift SIMD4 code that any x86-64 or arm64 CPU runs.
    case portable
    /// `segflow_crf_step_avx512` (C, compiled for AVX-512F only in that function).
    case avx512

    /// Whether this machine can run the AVX-512 step.
    static let avx512Available: Bool = segflow_crf_has_avx512() != 0

    /// AVX-512 where the CPU has it; `SEGFLOW_CRF_SIMD=portable` forces the portable step
    /// (to compare the two, or to rule the vector code out when hunting a problem).
    static let preferred: DenseCRFStepPath = {
        if ProcessInfo.processInfo.environment["SEGFLOW_CRF_SIMD"] == "portable" { return .portable }
        return avx512Available ? .avx512 : .portable
    }()

    /// Whether this path handles rows of `vectors` 4-lane chunks (AVX-512: up to 16 classes).
    func handles(vectors: Int) -> Bool {
        switch self {
        case .portable: return true
        case .avx512: return Self.avx512Available && vectors <= 4
        }
    }
}

extension DenseCRFKernel {
    /// The kernel as the C step reads it, valid until the next `splat`.
    var stepKernel: segflow_crf_kernel {
        let v = view
        return segflow_crf_kernel(vertices: Int32(v.d + 1), slice_row: v.sliceRow, barycentric: v.barycentric,
                                  alpha: v.alpha, norm: v.norm, neg_compat: v.negCompat,
                                  values: UnsafeRawPointer(blurred).assumingMemoryBound(to: Float.self))
    }
}
