// Open-addressing hash table from lattice keys to vertex ids (insertion order).

/// A lattice vertex key: the first `d` coordinates of a remainder-0 point, as Int16
/// like the original's `short` keys; unused lanes stay zero.
typealias LatticeKey = SIMD8<Int16>

extension SIMD8 where Scalar == Int16 {
    /// Largest feature dimension a key holds (the original imposes none; we need 5).
    static var maxDimension: Int { 7 }

    /// A key with `value` in lanes 0..<d and zero elsewhere.
    static func lanes(_ d: Int, _ value: Int16) -> SIMD8<Int16> {
        var k = SIMD8<Int16>()
        for i in 0..<d { k[i] = value }
        return k
    }
}

/// Flat linear-probing table; capacity is a power of two, grown at half load.
struct LatticeHashTable {
    private var slots: [Int32]
    private var keys: [LatticeKey] = []
    private var mask: Int

    init(capacity: Int) {
        var c = 16
        while c < 2 * capacity { c <<= 1 }
        slots = [Int32](repeating: -1, count: c)
        mask = c - 1
        keys.reserveCapacity(capacity)
    }

    var count: Int { keys.count }

    func key(_ id: Int) -> LatticeKey { keys[id] }

    @inline(__always)
    private static func hash(_ k: LatticeKey) -> Int {
        // The original's multiplicative hash over the coordinates, then a final mix so
        // that the power-of-two mask sees high bits too.
        var r: UInt64 = 0
        for i in 0..<8 {
            r = (r &+ UInt64(bitPattern: Int64(k[i]))) &* 1_664_525
        }
        r ^= r >> 29
        r = r &* 0xbf58_476d_1ce4_e5b9
        r ^= r >> 32
        return Int(truncatingIfNeeded: r)
    }

    /// The id of `k`, or -1 when absent.
    func find(_ k: LatticeKey) -> Int {
        var h = Self.hash(k) & mask
        return slots.withUnsafeBufferPointer { s in
            keys.withUnsafeBufferPointer { ks in
                while true {
                    let e = Int(s[h])
                    if e < 0 { return -1 }
                    if ks[e] == k { return e }
                    h = (h + 1) & mask
                }
            }
        }
    }

    /// The id of `k`, inserting it with the next id when absent.
    mutating func findOrInsert(_ k: LatticeKey) -> Int {
        if 2 * (keys.count + 1) > slots.count { grow() }
        var h = Self.hash(k) & mask
        let found: Int = slots.withUnsafeBufferPointer { s in
            keys.withUnsafeBufferPointer { ks in
                while true {
                    let e = Int(s[h])
                    if e < 0 { return -1 }
                    if ks[e] == k { return e }
                    h = (h + 1) & mask
                }
            }
        }
        if found >= 0 { return found }
        let id = keys.count
        keys.append(k)
        slots[h] = Int32(id)
        return id
    }

    private mutating func grow() {
        let c = slots.count * 2
        slots = [Int32](repeating: -1, count: c)
        mask = c - 1
        for (id, k) in keys.enumerated() {
            var h = Self.hash(k) & mask
            while slots[h] >= 0 { h = (h + 1) & mask }
            slots[h] = Int32(id)
        }
    }
}
