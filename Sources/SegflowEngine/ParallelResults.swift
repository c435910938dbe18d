import Foundation

/// `body(k)` for every `k` in `0..<count` on every core, each result (or error) at its index. GCD hands
/// the iterations out one at a time, so a few large files among many small ones still balance.
func parallelResults<T>(_ count: Int, _ body: (Int) throws -> T) -> [Result<T, Error>] {
    guard count > 0 else { return [] }
    var out = [Result<T, Error>?](repeating: nil, count: count)
    out.withUnsafeMutableBufferPointer { buf in
        let buf = buf
        // Disjoint slots of `buf`: one writer each.
        DispatchQueue.concurrentPerform(iterations: count) { k in buf[k] = Result { try body(k) } }
    }
    return out.map { $0! }
}
