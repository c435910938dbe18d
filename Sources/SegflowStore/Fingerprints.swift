import Foundation
import GRDB
import GRDBSQLite
import SegflowCore

/// What was last recorded of an input file: if size, mtime and inode match, its digest is still good.
public struct Fingerprint: Sendable, Hashable {
    public var size: Int64
    public var mtimeNanos: Int64
    public var inode: Int64
    public var digest: Digest
    /// The file's bytes were copied into the store (a plan need not stat the object again).
    public var imported: Bool
    public init(size: Int64, mtimeNanos: Int64, inode: Int64, digest: Digest, imported: Bool = false) {
        self.size = size; self.mtimeNanos = mtimeNanos; self.inode = inode; self.digest = digest; self.imported = imported
    }
}

/// A folder's fingerprints as ONE blob, the row of `folder_prints` (migration v9) keyed by the folder's
/// path with its trailing slash.
///
/// A row per file (v1-v8) made a first import of 20,000 small files spend ~80 ms inserting rows into two
/// b-trees (the path key and a digest index) and committing them, half of what `sha256sum` takes to read
/// the same files; a plan reads a whole folder at once anyway. One blob per folder is one insert and a few
/// megabytes at most. Entries, in no particular order, each:
///
///     u16 name length, name (UTF-8), i64 size, i64 mtime (ns), i64 inode, 32-byte digest, u8 imported
///
/// little-endian, after a header of one version byte (1) and a u32 entry count. A blob that does not
/// parse is read as empty: fingerprints only save re-hashing (a file without one is read again, and its
/// object checked), so losing them costs time, never correctness.
public enum FolderPrints {
    static let version: UInt8 = 1
    static let header = 5
    /// Bytes of an entry after its name.
    static let fixed = 8 + 8 + 8 + 32 + 1

    /// The blob for these entries (names without a slash, each at most 65,535 bytes: NAME_MAX is 255),
    /// written in place into a buffer of its exact size (a first import encodes tens of thousands).
    public static func encode(_ entries: [(name: String, print: Fingerprint)]) -> Data {
        var total = header
        for e in entries { total += 2 + min(e.name.utf8.count, Int(UInt16.max)) + fixed }
        var out = Data(count: total)
        out.withUnsafeMutableBytes { (buf: UnsafeMutableRawBufferPointer) in
            buf[0] = version
            buf.storeBytes(of: UInt32(entries.count).littleEndian, toByteOffset: 1, as: UInt32.self)
            var at = header
            for (name, f) in entries {
                var name = name
                name.withUTF8 { n in
                    let count = min(n.count, Int(UInt16.max))
                    buf.storeBytes(of: UInt16(count).littleEndian, toByteOffset: at, as: UInt16.self)
                    if count > 0 { (buf.baseAddress! + at + 2).copyMemory(from: n.baseAddress!, byteCount: count) }
                    at += 2 + count
                }
                buf.storeBytes(of: f.size.littleEndian, toByteOffset: at, as: Int64.self)
                buf.storeBytes(of: f.mtimeNanos.littleEndian, toByteOffset: at + 8, as: Int64.self)
                buf.storeBytes(of: f.inode.littleEndian, toByteOffset: at + 16, as: Int64.self)
                f.digest.withUnsafeBytes { (buf.baseAddress! + at + 24).copyMemory(from: $0.baseAddress!, byteCount: 32) }
                buf[at + 56] = f.imported ? 1 : 0
                at += fixed
            }
        }
        return out
    }

    public static func encode(_ table: [String: Fingerprint]) -> Data { encode(table.map { (name: $0.key, print: $0.value) }) }

    /// Calls `body` with each entry's name bytes (valid during the call only), its fingerprint and the
    /// offset of its `imported` byte in `blob`. Stops at the first entry that does not fit (a damaged blob).
    public static func forEach(_ blob: UnsafeRawBufferPointer,
                               _ body: (UnsafeRawBufferPointer, Fingerprint, Int) throws -> Void) rethrows {
        guard blob.count >= header, blob[0] == version else { return }
        var at = header
        while at + 2 <= blob.count {
            let n = Int(UInt16(littleEndian: blob.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
            let start = at + 2, end = start + n
            guard end + fixed <= blob.count else { return }
            let size = Int64(littleEndian: blob.loadUnaligned(fromByteOffset: end, as: Int64.self))
            let mtime = Int64(littleEndian: blob.loadUnaligned(fromByteOffset: end + 8, as: Int64.self))
            let inode = Int64(littleEndian: blob.loadUnaligned(fromByteOffset: end + 16, as: Int64.self))
            let digest = Digest(bytes: UnsafeRawBufferPointer(rebasing: blob[(end + 24)..<(end + 56)]))
            let imported = blob[end + 56] != 0
            try body(UnsafeRawBufferPointer(rebasing: blob[start..<end]),
                     Fingerprint(size: size, mtimeNanos: mtime, inode: inode, digest: digest, imported: imported), end + 56)
            at = end + fixed
        }
    }

    /// The entries as a table keyed by file name.
    public static func decode(_ blob: UnsafeRawBufferPointer) -> [String: Fingerprint] {
        var out: [String: Fingerprint] = [:]
        if blob.count >= header, blob[0] == version {
            out.reserveCapacity(Int(UInt32(littleEndian: blob.loadUnaligned(fromByteOffset: 1, as: UInt32.self))))
        }
        forEach(blob) { name, f, _ in out[String(decoding: name, as: UTF8.self)] = f }
        return out
    }

    public static func decode(_ blob: Data) -> [String: Fingerprint] { blob.withUnsafeBytes { decode($0) } }

    /// `path` split after its last slash: the folder (with the slash) and the name.
    static func split(_ path: String) -> (folder: String, name: String) {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return ("./", path) }
        let nameStart = path.utf8.index(after: slash)
        return (String(path[..<nameStart]), String(path[nameStart...]))
    }
}

extension Index {
    /// The fingerprints of the files in `folder` (a path ending in a slash), keyed by file name.
    public func fingerprints(under folder: String) throws -> [String: Fingerprint] {
        try db.read { db in try Self.folderPrints(db, folder) ?? [:] }
    }

    /// A folder's row, decoded (nil: none).
    static func folderPrints(_ db: Database, _ folder: String) throws -> [String: Fingerprint]? {
        var table: [String: Fingerprint]?
        try forEachRow(db, "SELECT prints FROM folder_prints WHERE folder = ?", [folder]) { s in
            table = FolderPrints.decode(UnsafeRawBufferPointer(start: sqlite3_column_blob(s, 0), count: Int(sqlite3_column_bytes(s, 0))))
        }
        return table
    }

    static func writeFolderPrints(_ db: Database, _ folder: String, _ blob: Data) throws {
        let insert = try RawStatement(db, "INSERT OR REPLACE INTO folder_prints (folder, prints) VALUES (?, ?)")
        insert.bind(1, folder); insert.bind(2, blob: blob)
        try insert.step()
    }

    public func saveFingerprints(_ fps: [String: Fingerprint]) throws {
        try saveFingerprints(fps.map { (path: $0.key, print: $0.value) })
    }

    /// Saves fingerprints given by path, in any order; a path given twice keeps its last one.
    public func saveFingerprints(_ fps: [(path: String, print: Fingerprint)]) throws {
        var folders: [String: [(name: String, print: Fingerprint)]] = [:]
        for (path, f) in fps {
            let (folder, name) = FolderPrints.split(path)
            folders[folder, default: []].append((name, f))
        }
        try saveFingerprints(folders: folders.map { FolderUpdate(folder: $0.key, entries: $0.value) })
    }

    /// Fingerprints learned in one folder.
    public struct FolderUpdate {
        /// The folder's path, ending in a slash.
        public var folder: String
        /// File names in it, in the order read: a name given twice keeps its last.
        public var entries: [(name: String, print: Fingerprint)]
        /// Every name is given once (the caller knows: a first import): when the folder has no row yet, the
        /// entries are its row as they are, without a table to merge them in.
        public var unique: Bool
        public init(folder: String, entries: [(name: String, print: Fingerprint)], unique: Bool = false) {
            self.folder = folder; self.entries = entries; self.unique = unique
        }
    }

    /// Saves fingerprints folder by folder in ONE transaction: each folder's row is read, updated and written
    /// back inside it (another process may have saved other files of the folder since this one read it).
    public func saveFingerprints(folders: [FolderUpdate]) throws {
        let changed = folders.filter { !$0.entries.isEmpty }
        guard !changed.isEmpty else { return }
        try write { db in
            for u in changed {
                let existing = try Self.folderPrints(db, u.folder)
                if existing == nil && u.unique {
                    try Self.writeFolderPrints(db, u.folder, FolderPrints.encode(u.entries))
                    continue
                }
                var table = existing ?? [:]
                table.reserveCapacity(table.count + u.entries.count)
                for (name, f) in u.entries { table[name] = f }
                try Self.writeFolderPrints(db, u.folder, FolderPrints.encode(table))
            }
        }
    }

    /// Marks files as copied into the store.
    public func markImported(paths: [String]) throws {
        guard !paths.isEmpty else { return }
        var folders: [String: [String]] = [:]
        for p in paths { let (folder, name) = FolderPrints.split(p); folders[folder, default: []].append(name) }
        try write { db in
            for (folder, names) in folders {
                guard var table = try Self.folderPrints(db, folder) else { continue }
                var changed = false
                for n in names where table[n]?.imported == false { table[n]!.imported = true; changed = true }
                if changed { try Self.writeFolderPrints(db, folder, FolderPrints.encode(table)) }
            }
        }
    }

    /// Every folder's row as raw bytes, for the rare questions asked by content (no index by digest: a
    /// second b-tree of every file's digest cost a first import more than these scans ever will).
    private static func forEachFolder(_ db: Database, _ body: (String, UnsafeRawBufferPointer) throws -> Void) throws {
        try forEachRow(db, "SELECT folder, prints FROM folder_prints ORDER BY folder", []) { s in
            guard let text = sqlite3_column_text(s, 0) else { return }
            let folder = String(cString: text)
            try body(folder, UnsafeRawBufferPointer(start: sqlite3_column_blob(s, 1), count: Int(sqlite3_column_bytes(s, 1))))
        }
    }

    /// Dataset files last seen with this content (from the fingerprints), in path order, for messages that
    /// must name the user's file rather than a store object.
    public func sourcePaths(of d: Digest) throws -> [String] {
        try db.read { db in
            var out: [String] = []
            try Self.forEachFolder(db) { folder, blob in
                FolderPrints.forEach(blob) { name, f, _ in
                    if f.digest == d { out.append(folder + String(decoding: name, as: UTF8.self)) }
                }
            }
            return out.sorted()
        }
    }

    /// An object was evicted: files with that content must be imported again, and no node memo may
    /// vouch for outputs any more (one may have named it).
    public func forgetImports(of d: Digest) throws {
        try write { db in
            var rewritten: [(String, Data)] = []
            try Self.forEachFolder(db) { folder, blob in
                var marks: [Int] = []
                FolderPrints.forEach(blob) { _, f, importedAt in if f.imported && f.digest == d { marks.append(importedAt) } }
                guard !marks.isEmpty else { return }
                var copy = Data(blob)
                for m in marks { copy[m] = 0 }
                rewritten.append((folder, copy))
            }
            let update = try RawStatement(db, "UPDATE folder_prints SET prints = ? WHERE folder = ?")
            for (folder, blob) in rewritten {
                update.bind(1, blob: blob); update.bind(2, folder)
                try update.step()
            }
            try Self.forgetNodeMemos(db)
        }
    }

    /// v9: the per-file rows of v1-v8 as one blob per folder.
    static func migrateToFolderPrints(_ db: Database) throws {
        try db.execute(sql: "CREATE TABLE folder_prints (folder TEXT PRIMARY KEY, prints BLOB NOT NULL)")
        var folders: [String: [String: Fingerprint]] = [:]
        try forEachRow(db, "SELECT path, size, mtime_ns, inode, digest, imported FROM fingerprints", []) { s in
            guard let digest = digestBlobColumn(s, 4), let text = sqlite3_column_text(s, 0) else { return }
            let (folder, name) = FolderPrints.split(String(cString: text))
            folders[folder, default: [:]][name] = Fingerprint(size: sqlite3_column_int64(s, 1), mtimeNanos: sqlite3_column_int64(s, 2),
                                                             inode: sqlite3_column_int64(s, 3), digest: digest,
                                                             imported: sqlite3_column_int64(s, 5) != 0)
        }
        for (folder, table) in folders { try writeFolderPrints(db, folder, FolderPrints.encode(table)) }
        try db.execute(sql: "DROP TABLE fingerprints")
    }
}
