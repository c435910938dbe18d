// Open-addressing hash table from lattice keys to vertex ids (insertion order).

/// A lattice vertex key: the first `d` coordinates of a remainder-0 point (the
/// original stores them as `short`; Int32 lanes make the SIMD arithmetic simpler and
/// agree while coordinates fit in 16 bits); unused lanes stay zero.
typealias LatticeKey = SIMD8<Int32>

extension SIMD8 where Scalar == Int32 {
    /// Largest feature dimension a key holds (the original imposes none; we need 5).
    static var maxDimension: Int { 7 }

    /// A key with `value` in lanes 0..<d and zero elsewhere.
    static func lanes(_ d: Int, _ value: Int32) -> SIMD8<Int32> {
        var k = SIMD8<Int32>()
        for i in 0..<d { k[i] = value }
        return k
    }
}

/// Flat linear-probing table over 256-bit keys; capacity is a power of two, grown at
/// half load. Vertex ids only name storage rows: no result depends on them.
final class LatticeHashTable {
    private var slots: UnsafeMutablePointer<Int32>
    private var capacity: Int
    private var keys: UnsafeMutablePointer<SIMD4<UInt64>>
    private var keyCapacity: Int
    private(set) var count = 0

    init(capacity expected: Int) {
        var c = 16
        while c < 2 * expected { c <<= 1 }
        capacity = c
        slots = .allocate(capacity: c)
        slots.initialize(repeating: -1, count: c)
        keyCapacity = max(16, expected)
        keys = .allocate(capacity: keyCapacity)
    }

    deinit {
        slots.deallocate()
        keys.deallocate()
    }

    func key(_ id: Int) -> LatticeKey { unsafeBitCast(keys[id], to: LatticeKey.self) }

    @inline(__always)
    private static func hash(_ k: SIMD4<UInt64>) -> Int {
        var r = (k[0] &* 0x9e37_79b9_7f4a_7c15) ^ (k[1] &* 0xc2b2_ae3d_27d4_eb4f)
            ^ (k[2] &* 0x1656_67b1_9e37_79f9) ^ (k[3] &* 0x27d4_eb2f_1656_67c5)
        r ^= r >> 29
        r = r &* 0xbf58_476d_1ce4_e5b9
        r ^= r >> 32
        return Int(truncatingIfNeeded: r)
    }

    /// The id of `k`, or -1 when absent.
    @inline(__always)
    func find(_ key: LatticeKey) -> Int {
        let k = unsafeBitCast(key, to: SIMD4<UInt64>.self)
        let mask = capacity - 1
        var h = Self.hash(k) & mask
        while true {
            let e = Int(slots[h])
            if e < 0 || keys[e] == k { return e }
            h = (h + 1) & mask
        }
    }

    /// The id of `k`, inserting it with the next id when absent.
    @inline(__always)
    func findOrInsert(_ key: LatticeKey) -> Int {
        if 2 * (count + 1) > capacity { grow() }
        let k = unsafeBitCast(key, to: SIMD4<UInt64>.self)
        let mask = capacity - 1
        var h = Self.hash(k) & mask
        while true {
            let e = Int(slots[h])
            if e < 0 { break }
            if keys[e] == k { return e }
            h = (h + 1) & mask
        }
        if count == keyCapacity {
            let bigger = UnsafeMutablePointer<SIMD4<UInt64>>.allocate(capacity: 2 * keyCapacity)
            bigger.moveInitialize(from: keys, count: count)
            keys.deallocate()
            keys = bigger
            keyCapacity *= 2
        }
        keys[count] = k
        slots[h] = Int32(count)
        count += 1
        return count - 1
    }

    private func grow() {
        slots.deallocate()
        capacity *= 2
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: -1, count: capacity)
        let mask = capacity - 1
        for id in 0..<count {
            var h = Self.hash(keys[id]) & mask
            while slots[h] >= 0 { h = (h + 1) & mask }
            slots[h] = Int32(id)
        }
    }
}
