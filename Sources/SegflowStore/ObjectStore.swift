import Foundation
import SegflowCore

/// The content-addressed store: `objects/ab/cdef...`, written once, read-only after.
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

    public func path(of d: Digest) -> String {
        let hex = d.hex
        return "\(objectsDirectory)/\(hex.prefix(2))/\(hex.dropFirst(2))"
    }

    /// Whether the object file exists (a cheap stat; `verify` re-hashes).
    public func contains(_ d: Digest) -> Bool {
        var st = stat()
        if objectsFolder.fd >= 0 {
            // "ab/" + 62 hex characters + NUL, on the stack.
            var name = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
            let found = withUnsafeMutableBytes(of: &name) { buf -> Bool in
                d.writeHex(into: UnsafeMutableRawBufferPointer(rebasing: buf[1...]))
                buf[0] = buf[1]; buf[1] = buf[2]; buf[2] = UInt8(ascii: "/"); buf[65] = 0
                return fstatat(objectsFolder.fd, buf.baseAddress!.assumingMemoryBound(to: CChar.self), &st, 0) == 0
            }
            if found { return true }
            // The folder may have been replaced since it was opened: ask by path before saying no.
        }
        return stat(path(of: d), &st) == 0
    }

    /// Re-hashes an object; false if it is missing or its bytes do not match its name.
    public func isIntact(_ d: Digest) -> Bool {
        guard contains(d) else { return false }
        if verified.contains(d) { return true }
        guard let actual = try? Digest.ofFile(at: path(of: d)), actual == d else { return false }
        verified.insert(d)
        return true
    }

    /// Removes an object (corrupt, or garbage).
    public func evict(_ d: Digest) {
        verified.remove(d)
        // No chmod first: unlinking needs only the folder's write permission, and a results/ hard link
        // to the same file must stay read-only.
        unlink(path(of: d))
    }

    /// Adds a file by moving it in (it must be on the same filesystem, e.g. under `tmp/`).
    /// Hash, rename; durable at the next `durability.sync()`, which every index write makes first.
    @discardableResult
    public func ingest(movingFile source: String) throws -> Digest {
        let d = try Digest.ofFile(at: source)
        return try place(source, as: d)
    }

    /// Renames a complete file into place under its digest (or drops it if that object is already there),
    /// and lists it for the next durability barrier.
    private func place(_ source: String, as d: Digest) throws -> Digest {
        let dest = path(of: d)
        if adopt(d) { unlink(source); return d }
        try FileManager.default.createDirectory(atPath: (dest as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        chmod(source, 0o444)
        CrashPoint.reached("ingest")
        if rename(source, dest) != 0 {
            throw SegflowError.internal("cannot move \(source) into the store: \(String(cString: strerror(errno)))")
        }
        verified.insert(d)
        durability.add(dest)
        return d
    }

    /// Whether `d` is in the store and may be named by the index from now on. An object this process
    /// wrote or re-hashed is; one found on disk is re-hashed first (a process that died before its batch
    /// was synced may have left, after a power loss, a file whose bytes never reached the disk: that one
    /// is evicted and written again) and is made durable at the next barrier with this process's objects.
    public func adopt(_ d: Digest) -> Bool {
        if verified.contains(d) { return true }
        guard contains(d) else { return false }
        guard let actual = try? Digest.ofFile(at: path(of: d)), actual == d else { evict(d); return false }
        verified.insert(d)
        durability.add(path(of: d))
        return true
    }

    /// Adds a copy of a file that stays where it is (dataset imports). The copy is hashed as it is
    /// written, so the source is read once and the copy is not hashed again. Safe to call from many
    /// threads at once (imports copy on every core).
    @discardableResult
    public func ingest(copyingFile source: String, knownDigest: Digest? = nil) throws -> Digest {
        if let k = knownDigest, adopt(k) { return k }
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else {
            throw SegflowError.user("cannot read \(source): \(String(cString: strerror(errno)))", hint: "check the file exists and is readable")
        }
        defer { close(input) }
        var st = stat()
        let size = fstat(input, &st) == 0 ? Int(st.st_size) : 0
        let tmp = tmpDirectory + "/ingest-\(UUID().uuidString)"
        let output = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o444)
        guard output >= 0 else { throw SegflowError.internal("cannot write \(tmp): \(String(cString: strerror(errno)))") }
        // Sized to the file (most dataset files are far below 1 MiB): one read, one write, one hash update.
        let capacity = min(max(size + 1, 4096), 1 << 20)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        defer { buffer.deallocate() }
        var hasher = DigestStream()
        func fail(_ what: String) -> SegflowError {
            let code = errno, reason = String(cString: strerror(code))
            close(output); unlink(tmp)
            if code == ENOSPC || code == EDQUOT { return DiskFull.error(cache: root, while: "copying \(source) into the store") }
            return .user("cannot copy \(source) into the store: \(what): \(reason)",
                         hint: "check the file is readable and the cache's disk has free space")
        }
        while true {
            let n = readFile(input, buffer.baseAddress, capacity)
            if n < 0 { if errno == EINTR { continue }; throw fail("read failed") }
            if n == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            hasher.update(chunk)
            var written = 0
            while written < n {
                let w = write(output, chunk.baseAddress! + written, n - written)
                if w < 0 { if errno == EINTR { continue }; throw fail("write failed") }
                written += w
            }
        }
        if close(output) != 0 { unlink(tmp); throw SegflowError.user("cannot copy \(source) into the store: \(String(cString: strerror(errno)))") }
        return try place(tmp, as: hasher.finalize())
    }

    /// Adds bytes.
    @discardableResult
    public func ingest(data: Data) throws -> Digest {
        let d = Digest.of(data)
        if adopt(d) { return d }
        let tmp = tmpDirectory + "/ingest-\(UUID().uuidString)"
        do {
            try data.write(to: URL(fileURLWithPath: tmp))
        } catch {
            unlink(tmp)
            if DiskFull.matches(error) { throw DiskFull.error(cache: root, while: "writing an object") }
            throw SegflowError.internal("cannot write \(tmp): \(error.localizedDescription)")
        }
        return try ingest(movingFile: tmp)
    }

    public func read(_ d: Digest) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path(of: d)) else {
            throw SegflowError.internal("object \(d.short) is missing from the store")
        }
        return data
    }

    /// Every object digest on disk (for gc and verify).
    public func allObjects() -> [Digest] {
        var out: [Digest] = []
        let fm = FileManager.default
        for prefix in (try? fm.contentsOfDirectory(atPath: objectsDirectory)) ?? [] where prefix.count == 2 {
            for rest in (try? fm.contentsOfDirectory(atPath: objectsDirectory + "/" + prefix)) ?? [] {
                if let d = Digest(hex: prefix + rest) { out.append(d) }
            }
        }
        return out
    }
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
