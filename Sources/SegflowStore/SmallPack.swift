import Foundation
import SegflowCore

/// The layout of one row of `small_packs` (migration v10): many small objects in one blob, with a
/// directory saying where each is.
///
/// - `directory`: per object, in digest order, its 32-byte SHA-256, then the `u32` offset and `u32`
///   length of its bytes in `bytes` (little-endian): 40 bytes per object.
/// - `bytes`: the objects' contents, one after the other.
///
/// A pack is written once and never changed: removing objects writes the rest as a new pack (a new row
/// id, never reused: AUTOINCREMENT) and deletes the old one, so a location another process remembers
/// either still names the same bytes or names a pack that is gone.
public enum SmallPack {
    static let entrySize = 40

    /// One object's place in a pack.
    public struct Entry: Equatable, Sendable {
        public var digest: Digest
        public var offset: Int
        public var length: Int
    }

    /// The directory and bytes for these objects (given in digest order, each digest once).
    public static func encode(_ objects: [(Digest, Data)]) -> (directory: Data, bytes: Data) {
        var directory = Data(count: objects.count * entrySize)
        var total = 0
        for (_, b) in objects { total += b.count }
        var bytes = Data(capacity: total)
        directory.withUnsafeMutableBytes { (dir: UnsafeMutableRawBufferPointer) in
            var at = 0
            for (d, b) in objects {
                d.withUnsafeBytes { (dir.baseAddress! + at).copyMemory(from: $0.baseAddress!, byteCount: 32) }
                dir.storeBytes(of: UInt32(bytes.count).littleEndian, toByteOffset: at + 32, as: UInt32.self)
                dir.storeBytes(of: UInt32(b.count).littleEndian, toByteOffset: at + 36, as: UInt32.self)
                bytes.append(b)
                at += entrySize
            }
        }
        return (directory, bytes)
    }

    /// The directory's entries (a trailing partial entry is ignored).
    public static func entries(_ directory: UnsafeRawBufferPointer) -> [Entry] {
        var out: [Entry] = []
        out.reserveCapacity(directory.count / entrySize)
        var at = 0
        while at + entrySize <= directory.count {
            out.append(Entry(digest: Digest(bytes: UnsafeRawBufferPointer(rebasing: directory[at..<(at + 32)])),
                             offset: Int(UInt32(littleEndian: directory.loadUnaligned(fromByteOffset: at + 32, as: UInt32.self))),
                             length: Int(UInt32(littleEndian: directory.loadUnaligned(fromByteOffset: at + 36, as: UInt32.self)))))
            at += entrySize
        }
        return out
    }

    public static func entries(_ directory: Data) -> [Entry] { directory.withUnsafeBytes { entries($0) } }
}
