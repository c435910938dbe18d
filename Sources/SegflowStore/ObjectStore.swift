import CFileSync
import Foundation
import SegflowCore

/// The content-addressed store: objects named by their SHA-256, written once, read-only after.
///
/// An object is a file, `objects/ab/cdef...`, or (small ones, while the index is open) an entry of a pack
/// in the index's `small_packs` table (see `SmallObjects`, `SmallPack`). Every question about objects (`contains`, `isIntact`,
/// `adopt`, `read`, `evict`, `allObjects`) sees both. `path(of:)` is only where an object's file would be;
/// a caller that needs a file there (a stage's input, a hard link, an upload from a path) asks
/// `file(of:)`, which writes an inline object out as an ordinary object file the first time. Callers that
/// need the bytes use `read`.
public struct ObjectStore: Sendable {
    public let root: String
    /// Objects this process wrote or re-hashed: no need to hash them again before a stage reads them.
    private let verified = DigestSet()
    public var objectsDirectory: String { root + "/objects" }
    /// This process's temporary files (see `TempSpace`): on the store's filesystem, so they rename in.
    public let temp: TempSpace
    public var tmpDirectory: String { temp.directory }

    /// The objects folder held open: `contains` stats `ab/cdef...` relative to it, without building a
    /// `String` or walking the cache path for each of the thousands of objects a plan checks.
    private let objectsFolder: FolderHandle
    /// Objects placed since the index last wrote: each index write transaction syncs them first.
    public let durability: DurabilityBarrier

    public init(root: String) throws {
        self.root = root
        temp = TempSpace(cache: root)
        let fm = FileManager.default
        for d in [root + "/objects", root + "/tmp"] {
            try fm.createDirectory(atPath: d, withIntermediateDirectories: true)
        }
        objectsFolder = FolderHandle(path: root + "/objects")
        durability = DurabilityBarrier(objectsDirectory: root + "/objects")
    }

    /// Small objects kept inline in the index (empty and off until an index is opened on this store).
    public var small: SmallObjects { durability.small }

    /// Where the object's file is or would be (it may be inline instead: `file(of:)` makes sure it is there).
    public func path(of d: Digest) -> String {
        let hex = d.hex
        return "\(objectsDirectory)/\(hex.prefix(2))/\(hex.dropFirst(2))"
    }

    /// Whether the object is in the store, as a file or inline (a cheap stat or set lookup; `verify` re-hashes).
    public func contains(_ d: Digest) -> Bool { hasFile(d) || small.contains(d) }

    /// Whether the object is kept inline in the index.
    public func isInline(_ d: Digest) -> Bool { small.contains(d) }

    /// Whether the object's file exists.
    private func hasFile(_ d: Digest) -> Bool {
        var st = stat()
        if objectsFolder.fd >= 0 {
            if Self.withRelativePath(of: d, { fstatat(objectsFolder.fd, $0, &st, 0) }) == 0 { return true }
            // The folder may have been replaced since it was opened: ask by path before saying no.
        }
        return stat(path(of: d), &st) == 0
    }

    /// `ab/cdef...`, the object's path relative to `objects/`, as a C string on the stack (no `String` per
    /// object where thousands are stat'ed or linked).
    public static func withRelativePath<T>(of d: Digest, _ body: (UnsafePointer<CChar>) throws -> T) rethrows -> T {
        // "ab/" + 62 hex characters + NUL.
        var name = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        return try withUnsafeMutableBytes(of: &name) { buf in
            d.writeHex(into: UnsafeMutableRawBufferPointer(rebasing: buf[1...]))
            buf[0] = buf[1]; buf[1] = buf[2]; buf[2] = UInt8(ascii: "/"); buf[65] = 0
            return try body(UnsafePointer(buf.baseAddress!.assumingMemoryBound(to: CChar.self)))
        }
    }

    /// Re-hashes an object; false if it is missing or its bytes do not match its name. An object both inline
    /// and written out as a file (`file(of:)`) is intact only if both are.
    public func isIntact(_ d: Digest) -> Bool {
        let file = hasFile(d)
        guard file || small.contains(d) else { return false }
        if verified.contains(d) { return true }
        if file {
            guard let actual = try? Digest.ofFile(at: path(of: d)), actual == d else { return false }
        }
        if !file || small.contains(d) {
            guard let bytes = small.bytes(of: d), Digest.of(bytes) == d else { return false }
        }
        verified.insert(d)
        return true
    }

    /// Removes an object (corrupt, or garbage): its file and its inline copy.
    public func evict(_ d: Digest) { evict([d]) }

    /// Removes objects, the inline ones in one index transaction.
    public func evict(_ ds: [Digest]) {
        for d in ds {
            verified.remove(d)
            // No chmod first: unlinking needs only the folder's write permission, and a results/ hard link
            // to the same file must stay read-only.
            unlink(path(of: d))
        }
        // A delete that fails (the disk) leaves garbage that the next gc removes; the file is gone already.
        try? small.remove(ds.filter { small.contains($0, ask: false) })
    }

    /// The object's size in bytes; nil if it is not in the store.
    public func size(of d: Digest) -> Int64? {
        var st = stat()
        if stat(path(of: d), &st) == 0 { return Int64(st.st_size) }
        return small.bytes(of: d).map { Int64($0.count) }
    }

    /// The object as a file at `path(of:)`: an inline object is written out (through a new unnamed file,
    /// named when complete, as every object) the first time, and stays inline too. For callers that hand
    /// a path on (stages, hard links, another process); readers of the bytes use `read`.
    @discardableResult
    public func file(of d: Digest) throws -> String {
        let p = path(of: d)
        if hasFile(d) { return p }
        guard let bytes = small.bytes(of: d) else {
            throw SegflowError.internal("object \(d.short) is missing from the store")
        }
        try writeFile(bytes, as: d)
        return p
    }

    /// Adds a file by moving it in (it must be on the same filesystem, e.g. under `tmp/`).
    /// Hash, rename; durable at the next `durability.sync()`, which every index write makes first.
    @discardableResult
    public func ingest(movingFile source: String) throws -> Digest {
        let d = try Digest.ofFile(at: source)
        let dest = path(of: d)
        if adopt(d) { unlink(source); return d }
        chmod(source, 0o444)
        CrashPoint.reached("ingest")
        try placeNamed(source, at: dest, d)
        verified.insert(d)
        durability.add(dest)
        return d
    }

    /// Renames a complete file to `dest`, making its fan-out folder if it is the first object there.
    private func placeNamed(_ source: String, at dest: String, _ d: Digest) throws {
        var rc = rename(source, dest)
        if rc != 0, errno == ENOENT { makeFanOutFolder(d); rc = rename(source, dest) }
        if rc != 0 {
            throw SegflowError.internal("cannot move \(source) into the store: \(String(cString: strerror(errno)))")
        }
    }

    /// `objects/ab/`, made when the first object of that prefix arrives (one mkdir, not a walk per object).
    private func makeFanOutFolder(_ d: Digest) {
        let folder = objectsDirectory + "/" + d.hex.prefix(2)
        if mkdir(folder, 0o755) != 0, errno == ENOENT {
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
    }

    /// Whether `d` is in the store and may be named by the index from now on. An object this process
    /// wrote or re-hashed is; one found on disk is re-hashed first (a process that died before its batch
    /// was synced may have left, after a power loss, a file whose bytes never reached the disk: that one
    /// is evicted and written again) and is made durable at the next barrier with this process's objects.
    public func adopt(_ d: Digest) -> Bool {
        if verified.contains(d) { return true }
        // Inline: pending ones commit with the next index write, stored ones are durable already (SQLite).
        if small.contains(d, ask: false) { verified.insert(d); return true }
        guard hasFile(d) else { return false }
        guard let actual = try? Digest.ofFile(at: path(of: d)), actual == d else { evict(d); return false }
        verified.insert(d)
        durability.add(path(of: d))
        return true
    }

    /// Files read whole into memory before anything is written (most dataset files are far smaller): their
    /// digest is known first, so content already in the store costs no file at all. Larger ones stream.
    static let wholeFileLimit = 1 << 20

    /// Adds a copy of a file that stays where it is (dataset imports). The copy is hashed as it is
    /// written, so the source is read once and the copy is not hashed again. Safe to call from many
    /// threads at once (imports copy on every core). `size`: the file's size if the caller has just stat'ed
    /// it (only a buffer size: a file that grew since is still copied whole).
    @discardableResult
    public func ingest(copyingFile source: String, knownDigest: Digest? = nil, size knownSize: Int? = nil) throws -> Digest {
        try ingest(copying: source, in: AT_FDCWD, path: source, knownDigest: knownDigest, size: knownSize)
    }

    /// As `ingest(copyingFile:)` for the file `name` in a folder the caller holds open (`folder`, its
    /// descriptor; `path`, the file's full path for messages): opened relative to it, without a walk of the
    /// whole path per file (a dataset's thousands of files are in a few folders).
    @discardableResult
    public func ingest(copying name: String, in folder: Int32, path source: String, knownDigest: Digest? = nil,
                       size knownSize: Int? = nil) throws -> Digest {
        if let k = knownDigest, adopt(k) { return k }
        return try copyIn(name, in: folder, path: source, size: knownSize, stating: nil)
    }

    /// As `ingest(copying:in:path:)`, with the file's stat made on the opened file before it is read: what a
    /// fingerprint records, without a lookup of the name to stat it first (a first import's files have no
    /// fingerprint to compare with).
    /// `batch`: where a small file's object goes, gathered by the calling worker (see `SmallObjects.Batch`;
    /// the caller flushes it before the index write that names the objects); without, each is added at once.
    public func ingestStating(copying name: String, in folder: Int32, path source: String,
                              batch: SmallObjects.Batch? = nil) throws -> (digest: Digest, stat: stat) {
        var st = stat()
        let d = try withUnsafeMutablePointer(to: &st) { try copyIn(name, in: folder, path: source, size: nil, stating: $0, batch: batch) }
        return (d, st)
    }

    /// The copy: `stating`, where to put the opened file's stat (made whenever the size is not known).
    private func copyIn(_ name: String, in folder: Int32, path source: String, size knownSize: Int?,
                        stating: UnsafeMutablePointer<stat>?, batch: SmallObjects.Batch? = nil) throws -> Digest {
        let input = openat(folder, name, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else {
            throw SegflowError.user("cannot read \(source): \(String(cString: strerror(errno)))", hint: "check the file exists and is readable")
        }
        defer { close(input) }
        var st = stat()
        if knownSize == nil, fstat(input, &st) != 0 {
            throw SegflowError.user("cannot read \(source): \(String(cString: strerror(errno)))", hint: "check the file exists and is readable")
        }
        stating?.pointee = st
        let size = knownSize ?? Int(st.st_size)
        // Sized to the file: one read, one hash update, one write. One byte more than the size, so the read
        // that finds the end fits too.
        let capacity = min(max(size + 1, 4096), Self.wholeFileLimit)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        defer { buffer.deallocate() }
        func failure(_ what: String) -> SegflowError {
            let code = errno
            if code == ENOSPC || code == EDQUOT { return DiskFull.error(cache: root, while: "copying \(source) into the store") }
            return .user("cannot copy \(source) into the store: \(what): \(String(cString: strerror(code)))",
                         hint: "check the file is readable and the cache's disk has free space")
        }
        /// Fills the buffer from `filled` on; the bytes now in it (fewer than `capacity`: the end was reached).
        /// `expected`: the size just stat'ed; a read that brings exactly that many is taken as the whole file, without
        /// another read to find the end (one syscall less per file: a first import reads 20k small files). A file
        /// that grew since brings more (the buffer holds a byte more than the size) and is read on to its end.
        func fill(from filled: Int, expected: Int? = nil) throws -> Int {
            var filled = filled
            while filled < capacity {
                let n = readFile(input, buffer.baseAddress! + filled, capacity - filled)
                if n < 0 { if errno == EINTR { continue }; throw failure("read failed") }
                if n == 0 { break }
                filled += n
                if filled == expected { break }
            }
            return filled
        }
        var hasher = DigestStream()
        var filled = try fill(from: 0, expected: size)
        if filled < capacity {
            // The whole file: hashed before anything is written.
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<filled])
            hasher.update(bytes)
            let d = hasher.finalize()
            if filled <= SmallObjects.threshold, let batch {
                // Inline, through the worker's batch (a duplicate is dropped when the batch is handed over).
                CrashPoint.reached("ingest")
                try batch.add(d, Data(bytes))
                return d
            }
            if filled <= SmallObjects.threshold, try keptInline(d, Data(bytes)) { return d }
            if adopt(d) { return d }
            let object = try NewObject(in: self)
            do { try object.write(bytes) } catch { object.abandon(); throw failure("write failed") }
            return try place(object, as: d, writingBehind: true)
        }
        // Larger than the buffer: streamed into a new object while it is hashed.
        let object = try NewObject(in: self)
        do {
            while filled > 0 {
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<filled])
                hasher.update(chunk)
                do { try object.write(chunk) } catch { throw failure("write failed") }
                filled = try fill(from: 0)
            }
        } catch {
            object.abandon()
            throw error
        }
        return try place(object, as: hasher.finalize(), writingBehind: true)
    }

    /// Adds bytes.
    @discardableResult
    public func ingest(data: Data) throws -> Digest { try ingest(data: data, knownDigest: Digest.of(data)) }

    /// Adds bytes the caller has just hashed to `d` (a download checked on arrival): not hashed again.
    @discardableResult
    public func ingest(data: Data, knownDigest d: Digest) throws -> Digest {
        if data.count <= SmallObjects.threshold, try keptInline(d, data) { return d }
        if adopt(d) { return d }
        return try writeFile(data, as: d)
    }

    /// Keeps a small object inline unless it is inline already. No stat of `objects/ab/...` first: an
    /// object that is also a file (written by a store without an index) is then in both places, which every
    /// question about objects handles; a dataset's first import saves a path lookup per file. (Not entered in
    /// `verified`: an inline object is re-hashed from memory when asked, and a first import adds thousands
    /// from every core, one lock round trip each.) False when no index is attached: the caller writes a file.
    private func keptInline(_ d: Digest, _ bytes: Data) throws -> Bool {
        try small.addIfAbsent(d, bytes, beforeAdding: { CrashPoint.reached("ingest") })
    }

    /// Writes bytes hashed to `d` as a new object file.
    @discardableResult
    private func writeFile(_ data: Data, as d: Digest) throws -> Digest {
        let object = try NewObject(in: self)
        do {
            try data.withUnsafeBytes { try object.write($0) }
        } catch {
            let code = errno
            object.abandon()
            if code == ENOSPC || code == EDQUOT { throw DiskFull.error(cache: root, while: "writing an object") }
            throw SegflowError.internal("cannot write an object into the store: \(String(cString: strerror(code)))")
        }
        return try place(object, as: d)
    }

    /// Names a complete new object under its digest (or drops it when that object is already there), and
    /// lists it for the next durability barrier.
    /// `writingBehind`: a copy of a dataset file, written to disk now and let go from memory (see `WriteBehind`).
    private func place(_ object: NewObject, as d: Digest, writingBehind: Bool = false) throws -> Digest {
        let dest = path(of: d)
        CrashPoint.reached("ingest")
        if let temp = object.tempPath {
            if writingBehind { _ = sf_start_writeback(object.fd) }
            if close(object.fd) != 0 {
                let reason = String(cString: strerror(errno))
                unlink(temp)
                throw SegflowError.user("cannot write an object into the store: \(reason)", hint: "check the cache's disk")
            }
            do { try placeNamed(temp, at: dest, d) } catch { unlink(temp); throw error }
        } else {
            var handed = false
            defer { if !handed { close(object.fd) } }
            var rc = sf_link_unnamed(object.fd, dest)
            if rc != 0, errno == ENOENT { makeFanOutFolder(d); rc = sf_link_unnamed(object.fd, dest) }
            // Another thread or process named the same content first: theirs is complete too (names appear
            // only on complete files); one that does not hash right is evicted and this one takes its place.
            if rc != 0, errno == EEXIST {
                if adopt(d) { return d }
                rc = sf_link_unnamed(object.fd, dest)
            }
            if rc != 0 {
                throw SegflowError.internal("cannot name object \(d.short) in the store: \(String(cString: strerror(errno)))")
            }
            if writingBehind { durability.writeBehind.hand(object.fd); handed = true }
        }
        verified.insert(d)
        durability.add(dest)
        return d
    }

    public func read(_ d: Digest) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path(of: d)) ?? small.bytes(of: d) else {
            throw SegflowError.internal("object \(d.short) is missing from the store")
        }
        return data
    }

    /// Every object digest, files and inline (for gc and verify); one inline and written out is listed once.
    public func allObjects() -> [Digest] {
        let inline = small.all()
        var seen = Set(inline)
        var out = inline
        let fm = FileManager.default
        for prefix in (try? fm.contentsOfDirectory(atPath: objectsDirectory)) ?? [] where prefix.count == 2 {
            for rest in (try? fm.contentsOfDirectory(atPath: objectsDirectory + "/" + prefix)) ?? [] {
                if let d = Digest(hex: prefix + rest), seen.insert(d).inserted { out.append(d) }
            }
        }
        return out
    }
}

/// A new object's file while it is written. Unnamed (O_TMPFILE) on the objects folder's filesystem and
/// named under its digest only once complete, so no half-written file ever has an object's name and a
/// process that dies mid-write leaves nothing behind; where the filesystem cannot make unnamed files, a
/// temporary file in this process's `tmp/` folder, renamed in. Created read-only (0444): the descriptor
/// opened for writing is the only way to change it.
struct NewObject {
    let fd: Int32
    /// The temporary file's path; nil for an unnamed file.
    let tempPath: String?

    init(in store: ObjectStore) throws {
        if UnnamedFiles.supported.value {
            let fd = sf_open_unnamed(store.objectsDirectory, 0o444)
            if fd >= 0 { self.fd = fd; tempPath = nil; return }
            let code = errno
            if code == ENOSPC || code == EDQUOT { throw DiskFull.error(cache: store.root, while: "writing an object") }
            // EOPNOTSUPP, EISDIR or EINVAL where the filesystem has no O_TMPFILE; anything else (a sandbox
            // refusing it) is not trusted either: temporary files from now on, whose errors say what is wrong.
            UnnamedFiles.supported.value = false
        }
        let folder = store.tmpDirectory
        while true {
            // Unique within this process's own tmp/ folder (the pid too, for the shared fallback folder).
            let tmp = folder + "/ingest-\(getpid())-\(UnnamedFiles.counter.next())"
            let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o444)
            if fd >= 0 { self.fd = fd; tempPath = tmp; return }
            if errno == EEXIST || errno == EINTR { continue }
            if errno == ENOSPC || errno == EDQUOT { throw DiskFull.error(cache: store.root, while: "writing an object") }
            throw SegflowError.internal("cannot write \(tmp): \(String(cString: strerror(errno)))")
        }
    }

    /// Writes all of `bytes`; throws with errno set on failure.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var written = 0
        while written < bytes.count {
            let w = Glibc.write(fd, bytes.baseAddress! + written, bytes.count - written)
            if w < 0 { if errno == EINTR { continue }; throw ObjectWriteFailed() }
            written += w
        }
    }

    /// Drops a file that will not become an object (an unnamed one vanishes with its descriptor).
    func abandon() {
        let code = errno
        close(fd)
        if let tempPath { unlink(tempPath) }
        errno = code
    }
}

struct ObjectWriteFailed: Error {}

/// Whether this filesystem makes unnamed files (learnt on first failure), and the temporary file counter.
enum UnnamedFiles {
    static let supported = AtomicFlag(true)
    static let counter = Counter()
}

final class AtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Bool
    init(_ value: Bool) { stored = value }
    var value: Bool {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func next() -> Int { lock.lock(); defer { lock.unlock() }; n += 1; return n }
}

/// A folder held open (read-only) for `fstatat`; -1 when it cannot be opened (callers fall back to paths).
final class FolderHandle: @unchecked Sendable {
    let fd: Int32
    init(path: String) { fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
    deinit { if fd >= 0 { close(fd) } }
}

/// A thread-safe set of digests.
final class DigestSet: @unchecked Sendable {
    private let lock = NSLock()
    private var set = Set<Digest>()
    func contains(_ d: Digest) -> Bool { lock.lock(); defer { lock.unlock() }; return set.contains(d) }
    func insert(_ d: Digest) { lock.lock(); set.insert(d); lock.unlock() }
    func remove(_ d: Digest) { lock.lock(); set.remove(d); lock.unlock() }
}

/// read(2), out of reach of `ObjectStore.read(_:)` inside the store's own methods.
private func readFile(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }
