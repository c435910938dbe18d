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

/// Moves objects and result rows between the local store and a remote, several at once, asking the
/// remote first so only what is missing moves: an interrupted transfer resumes where it stopped.
public final class RemoteTransfer: @unchecked Sendable {
    public let remote: any RemoteStore
    public let objects: ObjectStore
    /// Transfers in flight at once.
    public let concurrency: Int
    public let progress: TransferProgress?

    public init(remote: any RemoteStore, objects: ObjectStore, concurrency: Int = 16, progress: TransferProgress? = nil) {
        self.remote = remote; self.objects = objects; self.concurrency = max(1, concurrency); self.progress = progress
    }

    /// Uploads the objects the remote lacks. `overwrite` are sent even if present (a copy there was
    /// found corrupt). A failure of one object is counted, not thrown; bad credentials are thrown.
    public func pushObjects(_ digests: [Digest], overwrite: Set<Digest> = []) async throws -> TransferSummary {
        let unique = Array(Set(digests)).sorted()
        progress?.begin("objects", total: unique.count)
        let s = try await forEach(unique) { d -> TransferSummary in
            var s = TransferSummary()
            let path = self.remote.objectPath(d)
            if !overwrite.contains(d), try await self.remote.exists(path) { s.skipped = 1; return s }
            let file = self.objects.path(of: d)
            var st = stat()
            guard stat(file, &st) == 0 else { s.failed = 1; s.errors = ["object \(d.short) is missing from the local store"]; return s }
            let size = Int64(st.st_size)
            try await self.remote.upload(path, file: file, size: size, sha256: d.hex)
            s.sent = 1; s.bytes = size
            return s
        }
        progress?.end()
        return s
    }

    /// Uploads result rows the remote lacks (after their objects: a row there vouches for its objects).
    public func pushRows(_ rows: [ResultRecord]) async throws -> TransferSummary {
        progress?.begin("results", total: rows.count)
        let s = try await forEach(rows) { r -> TransferSummary in
            var s = TransferSummary()
            let path = self.remote.resultPath(r.key)
            if try await self.remote.exists(path) { s.rowsSkipped = 1; return s }
            try await self.remote.upload(path, data: RemoteResultRow.encode(r))
            s.rows = 1
            return s
        }
        progress?.end()
        return s
    }

    /// The remote's rows for `keys` (those it has and that are well formed), adopted by `runID`.
    public func fetchRows(_ keys: [Digest], runID: Int64) async throws -> [ResultRecord] {
        let out = Locked<[ResultRecord]>([])
        _ = try await forEach(keys) { k -> TransferSummary in
            if let data = try await self.remote.download(self.remote.resultPath(k)), let r = RemoteResultRow.decode(data, key: k, runID: runID) {
                out.update { $0.append(r) }
            }
            return TransferSummary()
        }
        return out.value
    }

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
            try self.objects.ingest(data: data)
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

    public init(label: String, isTTY: Bool = isatty(STDERR_FILENO) == 1) { self.label = label; self.isTTY = isTTY }

    func begin(_ what: String, total: Int) {
        lock.lock(); self.what = what; self.total = total; done = 0; bytes = 0; lastTenth = -1; lock.unlock()
    }

    func step(_ s: TransferSummary) {
        lock.lock(); defer { lock.unlock() }
        done += 1; bytes += s.bytes
        let line = "\(label): \(done)/\(total) \(what), \(ByteCountFormatter.string(fromByteCount: bytes, countStyle: .file))"
        if isTTY {
            FileHandle.standardError.write(Data("\r\u{1B}[2K\(line)".utf8))
        } else if total > 0, done * 10 / total != lastTenth {
            lastTenth = done * 10 / total
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    func end() {
        lock.lock(); defer { lock.unlock() }
        if isTTY && total > 0 { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
    }
}
