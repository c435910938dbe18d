import Crypto

/// The one canonical, domain-tagged encoding behind every key in segflow.
///
/// Every leaf is written with a one-byte type tag and a length, maps are sorted
/// by key, and every hash starts with a domain string, so two different values
/// can never encode to the same bytes (`"1"` vs `1`, `["a","b"]` vs `["ab"]`).
public struct HashEncoder {
    private var hasher = SHA256()
    /// Bytes not yet handed to the hasher. Most leaves are a few bytes (a tag, a length, a short name), and
    /// each update of the hash library costs more than copying them: they are passed on 128 at a time
    /// (a dataset import keys 10k items of a dozen leaves each). The bytes hashed are the same.
    private var pending: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                          UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    private var pendingCount = 0
    private static let pendingCapacity = 128

    /// Starts a hash in the given domain, e.g. `"segflow.key.v1"`.
    public init(domain: String) {
        append(string: domain)
    }

    /// Hands the pending bytes to the hasher.
    private mutating func flush() {
        guard pendingCount > 0 else { return }
        let n = pendingCount
        withUnsafeBytes(of: &pending) { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        pendingCount = 0
    }

    /// Every byte of the encoding goes through here.
    private mutating func write(_ bytes: UnsafeRawBufferPointer) {
        if pendingCount + bytes.count > Self.pendingCapacity {
            flush()
            if bytes.count >= Self.pendingCapacity { hasher.update(bufferPointer: bytes); return }
        }
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        let at = pendingCount
        withUnsafeMutableBytes(of: &pending) { $0.baseAddress!.advanced(by: at).copyMemory(from: base, byteCount: bytes.count) }
        pendingCount += bytes.count
    }

    // The byte-level helpers avoid temporary arrays: a 10k-item plan encodes ~100k leaves.
    private mutating func tag(_ t: UInt8) {
        var t = t
        withUnsafeBytes(of: &t) { write($0) }
    }

    private mutating func length(_ n: Int) {
        var v = UInt64(n).littleEndian
        withUnsafeBytes(of: &v) { write($0) }
    }

    /// A tag and a little-endian length (the same bytes as `tag` then `length`).
    private mutating func tag(_ t: UInt8, length n: Int) {
        tag(t); length(n)
    }

    public mutating func append(string: String) {
        var string = string
        string.withUTF8 { utf8 in
            tag(0x73, length: utf8.count) // s
            write(UnsafeRawBufferPointer(utf8))
        }
    }

    public mutating func append(int: Int64) {
        tag(0x69) // i
        var v = int.littleEndian
        withUnsafeBytes(of: &v) { write($0) }
    }

    public mutating func append(double: Double) {
        // Integral doubles hash as integers, so `3` and `3.0` in YAML give the same key.
        if double.rounded() == double, abs(double) < 9.0e15 {
            append(int: Int64(double)); return
        }
        tag(0x66) // f
        var v = double.bitPattern.littleEndian
        withUnsafeBytes(of: &v) { write($0) }
    }

    public mutating func append(bool: Bool) {
        tag(0x62); tag(bool ? 1 : 0)
    }

    public mutating func appendNull() { tag(0x6e) }

    public mutating func append(digest: Digest) {
        tag(0x64) // d
        digest.withUnsafeBytes { write($0) }
    }

    /// Appends a value tree canonically (maps sorted by key).
    public mutating func append(value: CanonicalValue) {
        switch value {
        case .null: appendNull()
        case .bool(let b): append(bool: b)
        case .int(let i): append(int: i)
        case .double(let d): append(double: d)
        case .string(let s): append(string: s)
        case .digest(let d): append(digest: d)
        case .list(let items):
            tag(0x6c); length(items.count)
            for item in items { append(value: item) }
        case .map(let entries):
            tag(0x6d); length(entries.count)
            for key in entries.keys.sorted() {
                append(string: key)
                append(value: entries[key]!)
            }
        }
    }

    public func finalize() -> Digest {
        var e = self
        e.flush()
        return Digest(e.hasher.finalize())
    }
}

/// A typed value tree with one canonical encoding: params, key components, trees.
public indirect enum CanonicalValue: Hashable, Sendable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case digest(Digest)
    case list([CanonicalValue])
    case map([String: CanonicalValue])

    /// The digest of this value alone, in a domain.
    public func digest(domain: String) -> Digest {
        var e = HashEncoder(domain: domain)
        e.append(value: self)
        return e.finalize()
    }

    /// Compact, sorted JSON for logs and the index (not used for hashing).
    public var json: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return d.isFinite ? String(d) : "null"
        case .string(let s): return JSONText.quote(s)
        case .digest(let d): return JSONText.quote(d.hex)
        case .list(let l): return "[" + l.map(\.json).joined(separator: ",") + "]"
        case .map(let m):
            return "{" + m.keys.sorted().map { JSONText.quote($0) + ":" + m[$0]!.json }.joined(separator: ",") + "}"
        }
    }

    /// A human form for plans and errors: strings bare, lists in brackets.
    public var description: String {
        switch self {
        case .string(let s): return s
        case .double(let d): return d.rounded() == d && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        default: return json
        }
    }

    /// Converts a JSON-like Foundation value back (from the index or a plugin).
    public static func from(any: Any?) -> CanonicalValue {
        switch any {
        case nil: return .null
        case let b as Bool: return .bool(b)
        case let i as Int: return .int(Int64(i))
        case let d as Double: return d.rounded() == d && abs(d) < 9e15 ? .int(Int64(d)) : .double(d)
        case let s as String: return .string(s)
        case let a as [Any]: return .list(a.map { from(any: $0) })
        case let m as [String: Any]: return .map(m.mapValues { from(any: $0) })
        default: return .string(String(describing: any!))
        }
    }

    /// The Foundation form, for JSONSerialization.
    public var foundation: Any {
        switch self {
        case .null: return NSNullValue.shared
        case .bool(let b): return b
        case .int(let i): return Int(i)
        case .double(let d): return d
        case .string(let s): return s
        case .digest(let d): return d.hex
        case .list(let l): return l.map(\.foundation)
        case .map(let m): return m.mapValues(\.foundation)
        }
    }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var doubleValue: Double? {
        switch self { case .int(let i): return Double(i); case .double(let d): return d; default: return nil }
    }
    public var intValue: Int? {
        switch self {
        case .int(let i): return Int(i)
        case .double(let d) where d.rounded() == d: return Int(d)
        default: return nil
        }
    }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var listValue: [CanonicalValue]? { if case .list(let l) = self { return l }; return nil }
    public var mapValue: [String: CanonicalValue]? { if case .map(let m) = self { return m }; return nil }
}

import Foundation
/// Foundation's NSNull behind a name that reads well at call sites.
public enum NSNullValue { public static var shared: Any { NSNull() } }

/// Minimal JSON string quoting, so canonical JSON needs no JSONSerialization round trip.
public enum JSONText {
    public static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}
