import Foundation
import SegflowCore
import SegflowStore

/// What a push or pull did.
public struct TransferSummary: Sendable {
    public var sent = 0
    public var skipped = 0
    public var failed = 0
    public var bytes: Int64 = 0
    /// Downloaded objects whose bytes did not hash to their name (rejected, never stored).
    public var rejected = 0
    public var rows = 0
    public var rowsSkipped = 0
    public var errors: [String] = []
    public init() {}

    public mutating func add(_ o: TransferSummary) {
        sent += o.sent; skipped += o.skipped; failed += o.failed; bytes += o.bytes; rejected += o.rejected
        rows += o.rows; rowsSkipped += o.rowsSkipped; errors += o.errors
    }
}

/// Moves objects and result rows between the local store and a remote, several at once, learning
/// first what the remote holds (a listing, or a HEAD each for a few) so only what is missing moves:
/// an interrupted transfer resumes where it stopped.
public final class RemoteTransfer: @unchecked Sendable {
    public let remote: any RemoteStore
    public let objects: ObjectStore
    /// Transfers in flight at once.
    public let concurrency: Int
    public let progress: TransferProgress?
    let packs = RemotePackIndex()

    public init(remote: any RemoteStore, objects: ObjectStore, concurrency: Int = 16, progress: TransferProgress? = nil) {
        self.remote = remote; self.objects = objects; self.concurrency = max(1, concurrency); self.progress = progress
    }

    var inventory: RemoteInventory { RemoteInventory(remote: remote, concurrency: concurrency) }

    /// Uploads the objects the remote lacks. `overwrite` are sent even if present (a copy there was
    /// found corrupt). A failure of one object is counted, not thrown; bad credentials are thrown.
    public func pushObjects(_ digests: [Digest], overwrite: Set<Digest> = []) async throws -> TransferSummary {
        let unique = Array(Set(digests)).sorted()
        let asked = unique.filter { !overwrite.contains($0) }
        let there = try await inventory.present(asked.map(remote.objectPath), under: "objects/", fanOut: 256)
        let missing = unique.filter { overwrite.contains($0) || !there.contains(remote.objectPath($0)) }
        progress?.begin("objects", total: unique.count)
        var skipped = TransferSummary()
        skipped.skipped = unique.count - missing.count
        progress?.advance(skipped.skipped)
        var s = try await forEach(missing) { d -> TransferSummary in
            var s = TransferSummary()
            let file = self.objects.path(of: d)
            var st = stat()
            if stat(file, &st) == 0 {
                let size = Int64(st.st_size)
                try await self.remote.upload(self.remote.objectPath(d), file: file, size: size, sha256: d.hex)
                s.sent = 1; s.bytes = size
            } else if self.objects.isInline(d), let data = try? self.objects.read(d) {
                // A small object kept in the index: sent from memory (no file to stream).
                try await self.remote.upload(self.remote.objectPath(d), data: data)
                s.sent = 1; s.bytes = Int64(data.count)
            } else {
                s.failed = 1; s.errors = ["object \(d.short) is missing from the local store"]
            }
            return s
        }
        progress?.end()
        s.add(skipped)
        return s
    }

    /// Uploads the result rows the remote lacks, in packs (after their objects: a row there vouches
    /// for its objects). Rows already in a pack or in a layout-1 single row are skipped.
    public func pushRows(_ rows: [ResultRecord]) async throws -> TransferSummary {
        var s = TransferSummary()
        let packed = try await packs.rows(remote: remote, objects: objects, concurrency: concurrency)
        var unique: [Digest: ResultRecord] = [:]
        for r in rows where packed[r.key] == nil { unique[r.key] = r }
        let single = try await inventory.present(unique.keys.map(remote.resultPath), under: "results/", fanOut: 1)
        let missing = unique.values.filter { !single.contains(remote.resultPath($0.key)) }.sorted { $0.key < $1.key }
        s.rowsSkipped = rows.count - missing.count
        let chunks = stride(from: 0, to: missing.count, by: RemoteRowPack.rowsPerPack).map {
            Array(missing[$0..<min($0 + RemoteRowPack.rowsPerPack, missing.count)])
        }
        progress?.begin("result packs", total: chunks.count)
        s.add(try await forEach(chunks) { chunk -> TransferSummary in
            let data = RemoteRowPack.encode(chunk)
            // Kept locally too: the next push or pull from this cache need not download it.
            let d = try self.objects.ingest(data: data)
            try await self.remote.upload(self.remote.packPath(d), data: data)
            try await self.packs.add(RemoteRowPack.decode(data) ?? [:])
            var s = TransferSummary()
            s.rows = chunk.count
            return s
        })
        progress?.end()
        return s
    }

    /// The remote's rows for `keys` (those it has and that are well formed), adopted by `runID`:
    /// from its packs, else from layout-1 single rows (listed first when there are many).
    public func fetchRows(_ keys: [Digest], runID: Int64) async throws -> [ResultRecord] {
        let packed = try await packs.rows(remote: remote, objects: objects, concurrency: concurrency)
        var out: [ResultRecord] = []
        var rest: [Digest] = []
        for k in Set(keys) {
            if let data = packed[k] {
                if let r = RemoteResultRow.decode(data, key: k, runID: runID) { out.append(r) }
            } else { rest.append(k) }
        }
        // A few are fetched straight away (a missing one is a 404, one request either way).
        let listed = rest.count <= inventory.headLimit ? rest
            : try await inventory.present(rest.map(remote.resultPath), under: "results/", fanOut: 1).compactMap {
                Digest(hex: String($0.dropFirst("results/".count)))
            }
        let fetched = try await concurrently(listed, limit: concurrency) { k in
            try await self.remote.download(self.remote.resultPath(k)).flatMap { RemoteResultRow.decode($0, key: k, runID: runID) }
        }
        return out + fetched.compactMap { $0 }
    }

    /// Result packs whose bytes did not match their name (rejected, never used).
    public var rejectedPacks: [String] { packs.rejected }

    /// Downloads the objects missing locally, re-hashing each: bytes that do not match their name are
    /// rejected (reported, never stored). Returns the summary and the digests that could not be had.
    public func pullObjects(_ digests: [Digest]) async throws -> (TransferSummary, Set<Digest>) {
        let wanted = Array(Set(digests)).sorted()
        progress?.begin("objects", total: wanted.count)
        let unavailable = Locked<Set<Digest>>([])
        let s = try await forEach(wanted) { d -> TransferSummary in
            var s = TransferSummary()
            if self.objects.contains(d) { s.skipped = 1; return s }
            guard let data = try await self.remote.download(self.remote.objectPath(d)) else {
                s.failed = 1; s.errors = ["object \(d.short) is not in the remote"]
                unavailable.update { _ = $0.insert(d) }
                return s
            }
            let actual = Digest.of(data)
            guard actual == d else {
                s.rejected = 1; s.failed = 1
                s.errors = ["rejected object \(d.short) from \(self.remote.displayURL): its bytes hash to \(actual.short) (tampered or damaged); not stored"]
                unavailable.update { _ = $0.insert(d) }
                return s
            }
            try self.objects.ingest(data: data, knownDigest: actual)
            s.sent = 1; s.bytes = Int64(data.count)
            return s
        }
        progress?.end()
        return (s, unavailable.value)
    }

    /// Runs `body` on every element, `concurrency` at once, summing the summaries.
    func forEach<T: Sendable>(_ elements: [T], _ body: @escaping @Sendable (T) async throws -> TransferSummary) async throws -> TransferSummary {
        var total = TransferSummary()
        try await withThrowingTaskGroup(of: TransferSummary.self) { group in
            var next = 0
            while next < min(elements.count, concurrency) { let e = elements[next]; next += 1; group.addTask { try await body(e) } }
            while let s = try await group.next() {
                total.add(s)
                progress?.step(s)
                if next < elements.count { let e = elements[next]; next += 1; group.addTask { try await body(e) } }
            }
        }
        return total
    }
}

/// A value behind a lock, for results gathered by concurrent transfers.
final class Locked<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T { lock.lock(); defer { lock.unlock() }; return stored }
    func update(_ body: (inout T) -> Void) { lock.lock(); body(&stored); lock.unlock() }
}

/// Transfer progress on stderr: a redrawn line on a terminal, a line every 10% otherwise.
public final class TransferProgress: @unchecked Sendable {
    private let lock = NSLock()
    private let isTTY: Bool
    private let label: String
    private var what = "", total = 0, done = 0, bytes: Int64 = 0, lastTenth = -1

    private let write: @Sendable (String) -> Void

    /// `write` receives the text (stderr by default).
    public init(label: String, isTTY: Bool = isatty(STDERR_FILENO) == 1,
                write: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        self.label = label; self.isTTY = isTTY; self.write = write
    }

    func begin(_ what: String, total: Int) {
        lock.lock(); self.what = what; self.total = total; done = 0; bytes = 0; lastTenth = -1; lock.unlock()
    }

    /// Counts `n` elements done without moving anything (already there).
    func advance(_ n: Int) {
        guard n > 0 else { return }
        var s = TransferSummary()
        s.skipped = n
        step(s, count: n)
    }

    func step(_ s: TransferSummary, count: Int = 1) {
        lock.lock(); defer { lock.unlock() }
        done += count; bytes += s.bytes
        let line = "\(label): \(done)/\(total) \(what), \(ByteCountFormatter.string(fromByteCount: bytes, countStyle: .file))"
        if isTTY {
            write("\r\u{1B}[2K\(line)")
        } else if total > 0, done * 10 / total != lastTenth {
            lastTenth = done * 10 / total
            write(line + "\n")
        }
    }

    func end() {
        lock.lock(); defer { lock.unlock() }
        if isTTY && total > 0 { write("\r\u{1B}[2K") }
    }
}
