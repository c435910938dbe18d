/// SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators",
/// OOPSLA 2014; the generator behind Java's `SplittableRandom`): a 64-bit counter passed
/// through a fixed mixing function.
///
/// Why our own generator: simulated annotations are part of an experiment's inputs, so the
/// same seed must give the same bytes on every platform, Swift version and run.
/// `SystemRandomNumberGenerator` is not seedable, and the standard library's
/// `random(in:using:)` does not promise a fixed way of turning generator output into a
/// number, so `next(below:)` and `nextDouble()` below fix that mapping too. Use those,
/// not `Int.random(in:using:)`, wherever reproducibility matters.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    /// The counter; the next output is `mix(state + golden gamma)`.
    public private(set) var state: UInt64

    /// The odd constant SplitMix64 adds per step (2^64 divided by the golden ratio).
    static let gamma: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// A generator whose first output is SplitMix64's for `seed` (seed 0 starts
    /// 0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, ...).
    public init(seed: UInt64) {
        state = seed
    }

    /// An independent stream for (`seed`, `stream`): both are mixed so that neighbouring
    /// streams (e.g. consecutive pixel indices) do not start on overlapping sequences.
    /// The annotators use one stream per region, so a region's result depends only on the
    /// seed and the region itself, not on how many regions came before it.
    public init(seed: UInt64, stream: UInt64) {
        state = Self.mix(seed) ^ Self.mix(stream &+ Self.gamma &* 3)
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= Self.gamma
        return Self.mix(state)
    }

    /// A uniform integer in `0..<bound` (`bound` > 0), unbiased: Lemire's multiply-and-reject
    /// ("Fast random integer generation in an interval", 2019), spelled out here so the
    /// mapping from bits to numbers never changes.
    public mutating func next(below bound: Int) -> Int {
        precondition(bound > 0, "next(below:) needs a positive bound, got \(bound)")
        let b = UInt64(bound)
        var m = next().multipliedFullWidth(by: b)
        if m.low < b {
            let threshold = (0 &- b) % b
            while m.low < threshold { m = next().multipliedFullWidth(by: b) }
        }
        return Int(m.high)
    }

    /// A uniform double in [0, 1): the top 53 bits over 2^53, exact and the same everywhere.
    public mutating func nextDouble() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// SplitMix64's finaliser (a variant of MurmurHash3's fmix64).
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
