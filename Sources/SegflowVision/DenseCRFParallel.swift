import Dispatch

// MARK: - Deterministic parallel loops

/// Splits `0..<count` into contiguous chunks run on up to `threads` threads.
///
/// Every caller writes each output element from exactly one chunk and computes it the
/// same way whatever the split, so results are bitwise identical for any thread count.
enum DenseCRFParallel {
    static func forEachChunk(_ count: Int, threads: Int, minChunk: Int = 1024,
                             _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let maxChunks = max(1, count / max(1, minChunk))
        // A few chunks per thread even out uneven work (blur lists, hash misses).
        let chunks = min(maxChunks, threads <= 1 ? 1 : threads * 4)
        if chunks <= 1 {
            body(0..<count)
            return
        }
        let size = (count + chunks - 1) / chunks
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = c * size
            let hi = min(count, lo + size)
            if lo < hi { body(lo..<hi) }
        }
    }
}
