import Foundation
import SegflowCore
import SegflowStages
import SegflowStore

/// Digests of input files, re-hashing only those whose size, mtime or inode changed.
final class Fingerprinter {
    private let index: Index
    /// Known fingerprints per folder (with its trailing slash), keyed by the name inside it.
    /// Folders seen in this session (a dataset's images and masks alternate, so a handful at most),
    /// each with its fingerprints keyed by file name and a descriptor for `fstatat`.
    private var folders: [Folder] = []

    private final class Folder {
        let path: String
        let fd: Int32
        var table: [String: Fingerprint]
        /// Fingerprints learned in this session, in the order they were read (a name read twice: the last wins).
        var updated: [(name: String, print: Fingerprint)] = []
        /// The folder had no fingerprints when loaded: while `updated` is as long as `table`, each name is in it once.
        let loadedEmpty: Bool
        init(path: String, fd: Int32, table: [String: Fingerprint]) {
            self.path = path; self.fd = fd; self.table = table; loadedEmpty = table.isEmpty
        }
        deinit { if fd >= 0 { close(fd) } }
    }

    /// Files hashed in this session (for tests and the benchmark).
    private(set) var hashed = 0

    /// What a lookup found: the digest; whether the last fingerprint says the file is in the store; whether
    /// it was read now (new or changed: hashed, or copied into the store while hashing).
    typealias Found = (digest: Digest, imported: Bool, read: Bool)

    init(index: Index) { self.index = index }

    /// The digest of a file; throws a user error naming it when it cannot be read.
    func digest(of path: String) throws -> Digest { try lookup(path).digest }

    /// The digest and whether the file was already imported into the store (as of its last fingerprint).
    func lookup(_ path: String) throws -> (digest: Digest, imported: Bool) {
        try lookup(path, into: nil)
    }

    /// As `lookup`; a file that must be read is copied into `store` in the same pass (a run imports new
    /// dataset files anyway: reading each once instead of hashing it here and copying it later).
    func lookup(_ path: String, into store: ObjectStore?) throws -> (digest: Digest, imported: Bool) {
        // The folder prefix by a byte scan: NSString path methods cost more than the stat on a 10k-file plan.
        let utf8 = path.utf8
        guard let slash = utf8.lastIndex(of: UInt8(ascii: "/")) else { return try lookup("./" + path) }
        let nameStart = utf8.index(after: slash)
        let folder = try self.folder(of: path, slash: slash, nameStart: nameStart)
        let name = String(path[nameStart...])
        let fresh = try Self.fingerprint(path, name: name, in: folder.fd, known: folder.table[name], copyingInto: store)
        if fresh.known { return (fresh.print.digest, fresh.print.imported) }
        record(fresh.print, name: name, in: folder)
        return (fresh.print.digest, false)
    }

    /// A file's fingerprint: the known one when size, mtime and inode match, else read now (hashed, or
    /// copied into `store` while hashing: then it is saved as imported, see `save()`). Touches no shared
    /// state: imports call it on every core.
    /// `stated`: the file's stat when the caller has just made it (a dataset's files are stat'ed once).
    /// `batch`: the calling worker's gathering of small objects (see `SmallObjects.Batch`).
    private static func fingerprint(_ path: String, name: String, in folderFD: Int32, known: Fingerprint?,
                                    copyingInto store: ObjectStore?, stated: stat? = nil,
                                    batch: SmallObjects.Batch? = nil) throws -> (print: Fingerprint, known: Bool) {
        if stated == nil, known == nil, let store, folderFD >= 0 {
            // Nothing to compare with: stat the file once it is open, as it is copied (one lookup of its name).
            let (d, st) = try store.ingestStating(copying: name, in: folderFD, path: path, batch: batch)
            return (Fingerprint(st, digest: d, imported: true), false)
        }
        var st = stated ?? stat()
        if stated == nil {
            let rc = folderFD >= 0 ? fstatat(folderFD, name, &st, 0) : stat(path, &st)
            guard rc == 0 else {
                throw SegflowError.user("cannot read \(path): \(String(cString: strerror(errno)))", hint: "check that the file exists")
            }
        }
        if let f = known, f.matches(st) { return (f, true) }
        let d = try store.map { try $0.ingest(copying: folderFD >= 0 ? name : path, in: folderFD >= 0 ? folderFD : AT_FDCWD, path: path, size: Int(st.st_size)) } ?? Digest.ofFile(at: path)
        return (Fingerprint(st, digest: d, imported: store != nil), false)
    }

    /// Remembers a file read in this session.
    private func record(_ fp: Fingerprint, name: String, in folder: Folder) {
        hashed += 1
        folder.table[name] = fp
        folder.updated.append((name, fp))
    }

    /// Digests of many files at once (a source node's whole dataset): the stats and table lookups run on
    /// every core, then files whose fingerprint changed are hashed one by one. Same answers as `lookup`.
    func lookupAll(_ files: [SourceFile], importingInto store: ObjectStore? = nil) throws -> [Found] {
        // Serial: each file's folder, loading its fingerprints once (files of one folder share the
        // folder string, so the comparison is usually an identity check).
        // The distinct folders without hashing every file's: a dataset lists each folder's files together.
        var dirs: [String] = []
        for f in files where dirs.last != f.folder && !dirs.contains(f.folder) { dirs.append(f.folder) }
        try preload(dirs)
        var folderOf = [Folder?](repeating: nil, count: files.count)
        var last: Folder?
        for (k, f) in files.enumerated() {
            if let l = last, l.path == f.folder { folderOf[k] = l; continue }
            let found = try folders.first { $0.path == f.folder } ?? loadFolder(f.folder)
            folderOf[k] = found; last = found
        }
        // `changed`: stat'ed, and new or changed since its fingerprint (the stat is kept: not made twice).
        enum Match { case hit(Digest, Bool), read(Digest), changed(stat), unknown }
        var matches = [Match](repeating: .unknown, count: files.count)
        Planner.parallelChunks(files.count, into: &matches) { range, out in
            // Disjoint slices of `out`; folders' tables are only read here.
            for k in range {
                guard let folder = folderOf[k], folder.fd >= 0 else { continue }
                let name = files[k].fileName
                // A file without a fingerprint is stat'ed as it is read (importing) or hashed.
                if store != nil, folder.table[name] == nil { continue }
                var st = stat()
                guard fstatat(folder.fd, name, &st, 0) == 0 else { continue }
                if let f = folder.table[name], f.matches(st) {
                    out[k] = .hit(f.digest, f.imported)
                } else {
                    out[k] = .changed(st)
                }
            }
        }
        // Anything not matched is read (hashed, or copied in while hashing) on every core; the results are
        // recorded serially, in file order, and the first file that failed is the error.
        let unknown = matches.indices.filter { k in if case .hit = matches[k] { return false }; return folderOf[k] != nil }
        // In chunks of 256 files (small enough that the cores finish together), each gathering its small
        // objects in a batch of its own, handed over at the chunk's end: nothing is left out of the store's
        // pending objects when this returns.
        store?.small.expect(unknown.count)
        var chunked = [Result<Fingerprint, Error>?](repeating: nil, count: unknown.count)
        let chunk = 256
        chunked.withUnsafeMutableBufferPointer { out in
            let out = out
            DispatchQueue.concurrentPerform(iterations: (unknown.count + chunk - 1) / chunk) { c in
                let range = (c * chunk)..<min(unknown.count, (c + 1) * chunk)
                let batch = store?.small.batch()
                for u in range {
                    let k = unknown[u]
                    var stated: stat?
                    if case .changed(let st) = matches[k] { stated = st }
                    out[u] = Result { try Self.fingerprint(files[k].path, name: files[k].fileName, in: folderOf[k]!.fd, known: nil,
                                                           copyingInto: store, stated: stated, batch: batch).print }
                }
                do { try batch?.flush() } catch {
                    // The objects never reached the store: every file of the chunk fails with the reason.
                    for u in range { out[u] = .failure(error) }
                }
            }
        }
        let fresh = chunked.map { $0! }
        // A first import adds every file to its folder's table: sized once instead of grown.
        var added: [ObjectIdentifier: Int] = [:]
        for k in unknown { added[ObjectIdentifier(folderOf[k]!), default: 0] += 1 }
        for f in folders {
            if let n = added[ObjectIdentifier(f)] { f.table.reserveCapacity(f.table.count + n); f.updated.reserveCapacity(f.updated.count + n) }
        }
        for (u, k) in unknown.enumerated() {
            let fp = try fresh[u].get()
            record(fp, name: files[k].fileName, in: folderOf[k]!)
            matches[k] = .read(fp.digest)
        }
        var result: [Found] = []
        result.reserveCapacity(files.count)
        for (k, m) in matches.enumerated() {
            switch m {
            case .hit(let d, let imported): result.append((d, imported, false))
            case .read(let d): result.append((d, false, true))
            case .changed, .unknown:
                let before = hashed
                let (d, imported) = try lookup(files[k].path, into: store)
                result.append((d, imported, hashed > before))
            }
        }
        return result
    }

    /// Whether `path` is `dir` followed by the file name starting at `nameStart`.
    private static func isFile(_ path: String, nameStart: String.Index, in dir: String) -> Bool {
        let p = path.utf8, d = dir.utf8
        guard p.distance(from: p.startIndex, to: nameStart) == d.count else { return false }
        // memcmp on the contiguous UTF-8 of native strings; the generic compare as a fallback.
        if let same = p.withContiguousStorageIfAvailable({ pb in
            d.withContiguousStorageIfAvailable { db in memcmp(pb.baseAddress!, db.baseAddress!, db.count) == 0 }
        }), let same { return same }
        return p[..<nameStart].elementsEqual(d)
    }

    /// The folder holding `path`, loading its fingerprints once per session.
    private func folder(of path: String, slash: String.Index, nameStart: String.Index) throws -> Folder {
        // Most recently used first: a linear scan of byte compares beats hashing the folder path.
        for (i, f) in folders.enumerated() where Self.isFile(path, nameStart: nameStart, in: f.path) {
            if i != 0 { folders.swapAt(0, i) }
            return f
        }
        return try loadFolder(String(path[...slash]))
    }

    /// Folder fingerprints being read on other threads (see `readAhead(folders:)`).
    private var ahead: [String: ReadAhead<[String: Fingerprint]>] = [:]

    /// Starts reading these folders' fingerprints on other threads; lookups in them wait for it.
    func readAhead(folders dirs: [String]) {
        let index = self.index
        for dir in dirs where ahead[dir] == nil && !folders.contains(where: { $0.path == dir }) {
            ahead[dir] = ReadAhead { try index.fingerprints(under: dir) }
        }
    }

    /// Loads the fingerprints of several new folders side by side (a dataset's images and masks): the
    /// index's pool gives each reader its own connection.
    private func preload(_ dirs: [String]) throws {
        let missing = dirs.filter { d in !folders.contains { $0.path == d } && ahead[d] == nil }.sorted()
        guard missing.count > 1 else { return }
        var tables = [Result<[String: Fingerprint], Error>?](repeating: nil, count: missing.count)
        let index = self.index
        tables.withUnsafeMutableBufferPointer { out in
            let out = out
            DispatchQueue.concurrentPerform(iterations: missing.count) { i in
                out[i] = Result { try index.fingerprints(under: missing[i]) }
            }
        }
        for (i, dir) in missing.enumerated() {
            let f = Folder(path: dir, fd: open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), table: try tables[i]!.get())
            folders.insert(f, at: 0)
        }
    }

    private func loadFolder(_ dir: String) throws -> Folder {
        // The descriptor only anchors fstatat; a folder we cannot open falls back to stat(path).
        let table = try ahead.removeValue(forKey: dir).map { try $0.value() } ?? index.fingerprints(under: dir)
        let f = Folder(path: dir, fd: open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), table: table)
        folders.insert(f, at: 0)
        return f
    }

    /// Saves the fingerprints learned in this session (after any save `startSave` began). A file copied into
    /// the store while hashing is saved as imported in the same statement: the index's write barrier makes
    /// its object durable before this transaction commits, so a fingerprint marked imported never names an
    /// object a crash can lose.
    func save() throws {
        if let started = saving {
            saving = nil
            try started.value()
        }
        guard let updates = takeUpdates() else { return }
        try index.saveFingerprints(folders: updates)
    }

    /// A save begun by `startSave` and not yet waited for.
    private var saving: ReadAhead<Void>?

    /// Begins saving what was learned so far on another thread; `save()` waits for it (and reports its error).
    /// A first import calls it as soon as the files are read: the write (the fingerprints, the pack of small
    /// objects, ~20 ms for 20k files) then overlaps the plan's per-file bookkeeping instead of following it.
    /// The write touches only the index, never this object's tables (the next lookups go on meanwhile).
    func startSave() {
        guard let updates = takeUpdates() else { return }
        let index = self.index, previous = saving
        saving = ReadAhead {
            try previous?.value()
            try index.saveFingerprints(folders: updates)
        }
    }

    /// What was learned since the last save, per folder, and forgotten here: the caller writes it.
    private func takeUpdates() -> [Index.FolderUpdate]? {
        let changed = folders.filter { !$0.updated.isEmpty }
        guard !changed.isEmpty else { return nil }
        let updates = changed.map {
            Index.FolderUpdate(folder: $0.path, entries: $0.updated, unique: $0.loadedEmpty && $0.updated.count == $0.table.count)
        }
        for f in changed { f.updated = [] }
        return updates
    }
}

extension Fingerprint {
    /// A file's fingerprint from its stat.
    init(_ st: stat, digest: Digest, imported: Bool) {
        self.init(size: Int64(st.st_size), mtimeNanos: Self.mtimeNanos(st), inode: Int64(bitPattern: UInt64(st.st_ino)),
                  digest: digest, imported: imported)
    }

    /// Whether the file is as this fingerprint recorded it (size, mtime and inode): its digest still holds.
    func matches(_ st: stat) -> Bool {
        size == Int64(st.st_size) && mtimeNanos == Self.mtimeNanos(st) && inode == Int64(bitPattern: UInt64(st.st_ino))
    }

    static func mtimeNanos(_ st: stat) -> Int64 { Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec) }
}
