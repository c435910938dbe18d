import Crypto
import Foundation

/// A SHA-256 digest: the name of every artifact, key and tree in segflow.
///
/// Persisted forms always use `hex`; `Hasher`/`hashValue` never reach the disk.
public struct Digest: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    // Four big-endian words inline: no heap allocation per digest (a 10k-item plan handles ~50k of them).
    private let w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    /// The 32 raw bytes.
    public var bytes: [UInt8] {
        var out = [UInt8](); out.reserveCapacity(32)
        for w in [w0, w1, w2, w3] { for i in (0..<8).reversed() { out.append(UInt8(truncatingIfNeeded: w >> (UInt64(i) * 8))) } }
        return out
    }

    public init<S: Sequence>(bytes: S) where S.Element == UInt8 {
        var w: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var n = 0
        for b in bytes {
            switch n / 8 {
            case 0: w.0 = w.0 << 8 | UInt64(b)
            case 1: w.1 = w.1 << 8 | UInt64(b)
            case 2: w.2 = w.2 << 8 | UInt64(b)
            default: w.3 = w.3 << 8 | UInt64(b)
            }
            n += 1
        }
        precondition(n == 32, "a SHA-256 digest has 32 bytes")
        (w0, w1, w2, w3) = w
    }

    private init(words: (UInt64, UInt64, UInt64, UInt64)) { (w0, w1, w2, w3) = words }

    /// The hash library's digest, read as four words in place (its byte-by-byte iterator cost more than the
    /// hash of a short key).
    init(_ sha: SHA256Digest) {
        self = sha.withUnsafeBytes { raw in
            Digest(words: (UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                           UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                           UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
                           UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self))))
        }
    }

    /// Parses 64 lowercase or uppercase hex characters; nil for anything else.
    public init?(hex: String) {
        var hex = hex
        guard let d = hex.withUTF8({ Digest(hexBytes: $0) }) else { return nil }
        self = d
    }

    /// Parses 64 hex characters given as UTF-8 bytes.
    ///
    /// Eight characters per 64-bit word (a plan parses tens of thousands of digests from the index).
    public init?(hexBytes: UnsafeBufferPointer<UInt8>) {
        guard hexBytes.count == 64, let p = hexBytes.baseAddress else { return nil }
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        for i in 0..<4 {
            let raw = UnsafeRawPointer(p + 16 * i)
            guard let hi = Self.hex8(UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))),
                  let lo = Self.hex8(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))) else { return nil }
            let w = hi << 32 | lo
            switch i {
            case 0: words.0 = w
            case 1: words.1 = w
            case 2: words.2 = w
            default: words.3 = w
            }
        }
        self.init(words: words)
    }

    /// Eight hex characters (first character in the low byte) -> 32 bits, the first most significant;
    /// nil when one is not 0-9, a-f or A-F. SWAR: a byte is in [lo, hi) when adding 0x80 - lo sets its
    /// top bit and adding 0x80 - hi does not (no carry crosses bytes, all bytes being below 0x80).
    @inline(__always)
    private static func hex8(_ v: UInt64) -> UInt64? {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let top: UInt64 = 0x8080_8080_8080_8080
        guard v & top == 0 else { return nil }
        let lower = v | 0x2020_2020_2020_2020
        let digit = (v &+ ones &* (0x80 - 0x30)) & ~(v &+ ones &* (0x80 - 0x3A))
        let letter = (lower &+ ones &* (0x80 - 0x61)) & ~(lower &+ ones &* (0x80 - 0x67))
        guard (digit | letter) & top == top else { return nil }
        // A character's value: its low nibble, plus 9 for letters (bit 6 set).
        var x = (v & 0x0F0F_0F0F_0F0F_0F0F) &+ ((v >> 6) & ones) &* 9
        // Pack the eight nibbles, byte 0 first: pairs, then quads, then all eight.
        x = ((x & 0x000F_000F_000F_000F) << 4) | ((x >> 8) & 0x000F_000F_000F_000F)
        x = ((x & 0x0000_00FF_0000_00FF) << 8) | ((x >> 16) & 0x0000_00FF_0000_00FF)
        return ((x & 0xFFFF) << 16) | ((x >> 32) & 0xFFFF)
    }

    /// Feeds the raw bytes to a closure without allocating.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var be = (w0.bigEndian, w1.bigEndian, w2.bigEndian, w3.bigEndian)
        return try Swift.withUnsafeBytes(of: &be, body)
    }

    /// Lowercase hex, 64 characters.
    public var hex: String {
        String(unsafeUninitializedCapacity: 64) { buf in
            writeHex(into: UnsafeMutableRawBufferPointer(buf))
            return 64
        }
    }

    /// Writes the 64 lowercase hex characters into `out` (at least 64 bytes), without allocating:
    /// object paths are built this way thousands of times per plan.
    public func writeHex(into out: UnsafeMutableRawBufferPointer) {
        precondition(out.count >= 64)
        let table: StaticString = "0123456789abcdef"
        let t = table.utf8Start
        var i = 0
        func put(_ w: UInt64) {
            var shift: UInt64 = 60
            while true {
                out[i] = t[Int((w >> shift) & 15)]; i += 1
                if shift == 0 { break }
                shift -= 4
            }
        }
        put(w0); put(w1); put(w2); put(w3)
    }

    /// The first 12 hex characters, for humans.
    public var short: String { String(hex.prefix(12)) }
    public var description: String { hex }

    public static func < (a: Digest, b: Digest) -> Bool { (a.w0, a.w1, a.w2, a.w3) < (b.w0, b.w1, b.w2, b.w3) }

    /// SHA-256 of raw bytes.
    public static func of<D: DataProtocol>(_ data: D) -> Digest {
        Digest(SHA256.hash(data: data))
    }

    /// SHA-256 of a file, streamed in 1 MiB chunks.
    public static func ofFile(at path: String) throws -> Digest {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw SegflowError.user("cannot read \(path)", hint: "check that the file exists and is readable")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while true {
            let chunk = try handle.read(upToCount: 1 << 20) ?? Data()
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
        }
        return Digest(hasher.finalize())
    }

    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        guard let d = Digest(hex: s) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a digest: \(s)"))
        }
        self = d
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(hex)
    }
}

/// SHA-256 fed in pieces (copy-and-hash in one pass), without exposing the crypto library.
public struct DigestStream {
    private var hasher = SHA256()
    public init() {}
    public mutating func update(_ data: Data) { hasher.update(data: data) }
    /// Bytes in place (a reused copy buffer: no `Data` per chunk).
    public mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }
    public func finalize() -> Digest { Digest(hasher.finalize()) }
}
