import Crypto
import Foundation

/// A SHA-256 digest: the name of every artifact, key and tree in segflow.
///
/// Persisted forms always use `hex`; `Hasher`/`hashValue` never reach the disk.
public struct Digest: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    /// The 32 raw bytes.
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 32, "a SHA-256 digest has 32 bytes")
        self.bytes = bytes
    }

    /// Parses 64 lowercase or uppercase hex characters; nil for anything else.
    public init?(hex: String) {
        var hex = hex
        guard let d = hex.withUTF8({ Digest(hexBytes: $0) }) else { return nil }
        self = d
    }

    /// Parses 64 hex characters given as UTF-8 bytes.
    public init?(hexBytes: UnsafeBufferPointer<UInt8>) {
        guard hexBytes.count == 64 else { return nil }
        var out = [UInt8](); out.reserveCapacity(32)
        var high: UInt8? = nil
        for c in hexBytes {
            let v: UInt8
            switch c {
            case 48...57: v = c - 48
            case 97...102: v = c - 87
            case 65...70: v = c - 55
            default: return nil
            }
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
        }
        self.bytes = out
    }

    /// Lowercase hex, 64 characters.
    public var hex: String {
        let table = Array("0123456789abcdef".utf8)
        var chars = [UInt8](); chars.reserveCapacity(64)
        for b in bytes { chars.append(table[Int(b >> 4)]); chars.append(table[Int(b & 15)]) }
        return String(decoding: chars, as: UTF8.self)
    }

    /// The first 12 hex characters, for humans.
    public var short: String { String(hex.prefix(12)) }
    public var description: String { hex }

    public static func < (a: Digest, b: Digest) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }

    /// SHA-256 of raw bytes.
    public static func of<D: DataProtocol>(_ data: D) -> Digest {
        Digest(bytes: Array(SHA256.hash(data: data)))
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
        return Digest(bytes: Array(hasher.finalize()))
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
