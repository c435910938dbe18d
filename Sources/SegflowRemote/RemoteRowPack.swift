import Foundation
import SegflowCore
import SegflowStore

/// Many result rows in one stored file (layout 2), so a push of 10,000 items makes 10 row uploads,
/// not 10,000: the first line names the format, then one `RemoteResultRow` JSON per line. A pack is
/// named by the SHA-256 of its bytes (`packs/<hex>`), so a reader re-hashes it as it does an object.
///
/// Layout 1 (single rows at `results/<key>`) is still read; segflow writes packs only.
public enum RemoteRowPack {
    static let header = "{\"format\":\"segflow.results-pack.v1\"}"
    /// Rows per pack: packs of a few hundred KB, and a push of a few items still makes one.
    public static let rowsPerPack = 1000

    public static func encode(_ rows: [ResultRecord]) -> Data {
        var out = Data(header.utf8)
        for r in rows { out.append(0x0A); out.append(RemoteResultRow.encode(r)) }
        out.append(0x0A)
        return out
    }

    /// The rows of a pack by key, each still encoded (decoded when adopted); nil when it is not a pack.
    public static func decode(_ data: Data) -> [Digest: Data]? {
        let lines = data.split(separator: 0x0A, omittingEmptySubsequences: true)
        guard let first = lines.first, String(decoding: first, as: UTF8.self) == header else { return nil }
        var out: [Digest: Data] = [:]
        for line in lines.dropFirst() {
            guard let key = keyField(line) else { continue }
            out[key] = Data(line)
        }
        return out
    }

    /// The `"key":"<hex>"` field of a canonical row line, without parsing the whole JSON (rows are
    /// parsed in full, and checked against the key, only when adopted).
    static func keyField(_ line: Data.SubSequence) -> Digest? {
        let marker = Data("\"key\":\"".utf8)
        guard let r = line.range(of: marker) else { return nil }
        let start = r.upperBound, end = line.index(start, offsetBy: 64, limitedBy: line.endIndex) ?? line.endIndex
        return Digest(hex: String(decoding: line[start..<end], as: UTF8.self))
    }
}

/// The result rows a remote holds in packs, loaded once per transfer: the pack names by one listing,
/// the packs this cache has not seen yet downloaded (re-hashed, then kept in the local store, so the
/// next command reads them from disk).
final class RemotePackIndex: @unchecked Sendable {
    private let lock = NSLock()
    private var loading: Task<[Digest: Data], Error>?
    /// Packs whose bytes did not hash to their name (rejected, never stored).
    private var rejectedNotes: [String] = []
    var rejected: [String] { lock.withLock { rejectedNotes } }

    func rows(remote: any RemoteStore, objects: ObjectStore, concurrency: Int) async throws -> [Digest: Data] {
        let task = lock.withLock {
            let t = loading ?? Task { try await Self.load(remote: remote, objects: objects, concurrency: concurrency, index: self) }
            loading = t
            return t
        }
        return try await task.value
    }

    /// Adds rows this process just packed and uploaded.
    func add(_ rows: [Digest: Data]) async throws {
        let next: Task<[Digest: Data], Error>? = lock.withLock {
            // Not loaded yet: the first load lists the remote, these packs included.
            guard let previous = loading else { return nil }
            let t = Task { try await previous.value.merging(rows) { a, _ in a } }
            loading = t
            return t
        }
        _ = try await next?.value
    }

    private static func load(remote: any RemoteStore, objects: ObjectStore, concurrency: Int, index: RemotePackIndex) async throws -> [Digest: Data] {
        let names = try await remote.list("packs/").compactMap { Digest(hex: String($0.dropFirst("packs/".count))) }
        let packs = try await concurrently(names, limit: concurrency) { d -> Data? in
            if objects.contains(d), let local = try? objects.read(d), Digest.of(local) == d { return local }
            guard let data = try await remote.download(remote.packPath(d)) else { return nil }
            guard Digest.of(data) == d else {
                index.note("rejected results pack \(d.short) from \(remote.displayURL): its bytes hash to \(Digest.of(data).short); not used")
                return nil
            }
            try objects.ingest(data: data, knownDigest: d)
            return data
        }
        var out: [Digest: Data] = [:]
        for case let data? in packs { out.merge(RemoteRowPack.decode(data) ?? [:]) { a, _ in a } }
        return out
    }

    private func note(_ s: String) { lock.withLock { rejectedNotes.append(s) } }
}
