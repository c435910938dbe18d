import Foundation
import XCTest
import SegflowCore
import SegflowStore
@testable import SegflowRemote
@testable import SegflowEngine

/// A real remote with its requests counted by kind: how a push learns what is there is a cost.
final class CountingRemote: RemoteStore, @unchecked Sendable {
    let inner: any RemoteStore
    private let lock = NSLock()
    private var counts: [String: Int] = [:]
    init(_ inner: any RemoteStore) { self.inner = inner }
    var displayURL: String { inner.displayURL }
    func count(_ kind: String) -> Int { lock.withLock { counts[kind] ?? 0 } }
    func reset() { lock.withLock { counts = [:] } }
    private func bump(_ kind: String) { lock.withLock { counts[kind, default: 0] += 1 } }
    func exists(_ path: String) async throws -> Bool { bump("HEAD"); return try await inner.exists(path) }
    func upload(_ path: String, file: String, size: Int64, sha256: String) async throws {
        bump("PUT"); try await inner.upload(path, file: file, size: size, sha256: sha256)
    }
    func upload(_ path: String, data: Data) async throws { bump("PUT"); try await inner.upload(path, data: data) }
    func download(_ path: String) async throws -> Data? { bump("GET"); return try await inner.download(path) }
    func list(_ prefix: String) async throws -> [String] { bump("LIST"); return try await inner.list(prefix) }
}

final class RemoteInventoryTests: XCTestCase {
    /// Many objects: listings, no HEAD; one upload per object plus one per 1,000 rows; a second push moves nothing.
    func testPushAsksInBulkAndPacksRows() async throws {
        let f = try RemoteFixture(items: 120)
        let (a, first, _) = try await f.run(cache: "cacheA")
        let remote = CountingRemote(try RemoteURL.open("file://\(f.dir)/shared", environment: [:]))
        let rows = try a.rowsToPush(pipeline: nil).rows
        XCTAssertEqual(rows.count, 121)
        let s = try await RemoteCache(remote: remote, workspace: a.workspace).push(rows, workspace: a.workspace)
        XCTAssertEqual(s.sent, 121); XCTAssertEqual(s.rows, 121)
        XCTAssertEqual(remote.count("HEAD"), 0, "121 objects are listed, not asked one by one")
        XCTAssertEqual(remote.count("PUT"), 121 + 1, "one upload per object and one results pack")
        XCTAssertLessThanOrEqual(remote.count("LIST"), 256 + 2)
        let packs = try await remote.list("packs/"), single = try await remote.list("results/")
        XCTAssertEqual(packs.count, 1); XCTAssertEqual(single.count, 0)

        remote.reset()
        let again = try await RemoteCache(remote: remote, workspace: a.workspace).push(rows, workspace: a.workspace)
        XCTAssertEqual(again.sent, 0); XCTAssertEqual(again.skipped, 121); XCTAssertEqual(again.rowsSkipped, 121)
        XCTAssertEqual(remote.count("PUT"), 0)
        XCTAssertEqual(remote.count("GET"), 0, "the pack this cache wrote is read from the local store")

        // A fresh cache: one GET per object and one for the pack, nothing else fetched.
        remote.reset()
        f.counter.reset()
        let (_, second, _) = try await f.run(cache: "cacheB", remote: remote)
        XCTAssertEqual(f.counter.total, 0)
        XCTAssertEqual(second.node("tally")?.outputs.mapValues(\.digest), first.node("tally")?.outputs.mapValues(\.digest))
        XCTAssertEqual(remote.count("GET"), 121 + 1)
        XCTAssertEqual(remote.count("HEAD"), 0)
    }

    /// A few objects: a HEAD each is cheaper than a listing.
    func testAFewObjectsAreAskedOneByOne() async throws {
        let f = try RemoteFixture(items: 3)
        let (a, _, _) = try await f.run(cache: "cacheA")
        let remote = CountingRemote(try RemoteURL.open("file://\(f.dir)/shared", environment: [:]))
        _ = try await RemoteCache(remote: remote, workspace: a.workspace).push(try a.rowsToPush(pipeline: nil).rows, workspace: a.workspace)
        XCTAssertEqual(remote.count("HEAD"), 4 + 4, "4 objects, then 4 rows not in a pack")
        XCTAssertEqual(remote.count("LIST"), 1, "the packs folder only")
    }

    /// In a full remote, pushing a few objects asks about those few rather than listing every folder;
    /// many objects spread over the fan-out folders are listed folder by folder or at once.
    func testInventoryChoosesTheCheaperWay() async throws {
        let dir = NSTemporaryDirectory() + "segflow-inv-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let folder = CountingRemote(try RemoteURL.open("file://\(dir)", environment: [:]))
        var stored: [String] = []
        for i in 0..<1500 {
            let p = FolderRemote.objectPath(Digest.of(Data("object \(i)".utf8)))
            try await folder.upload(p, data: Data([UInt8(i % 256)]))
            stored.append(p)
        }
        let absent = (0..<100).map { FolderRemote.objectPath(Digest.of(Data("absent \($0)".utf8))) }
        var inventory = RemoteInventory(remote: folder, concurrency: 4)
        inventory.pageSize = 2  // ~6 names per folder: 3 pages each, as a big bucket would need
        folder.reset()
        let few = try await inventory.present(Array(stored.prefix(40)) + absent.prefix(10), under: "objects/", fanOut: 256)
        XCTAssertEqual(few, Set(stored.prefix(40)))
        XCTAssertLessThan(folder.count("LIST") + folder.count("HEAD"), 60, "no more requests than paths")

        // Many: one listing of every folder the paths fall in...
        inventory.pageSize = 20
        folder.reset()
        let spread = try await inventory.present(stored + absent, under: "objects/", fanOut: 256)
        XCTAssertEqual(spread, Set(stored))
        XCTAssertEqual(folder.count("HEAD"), 0)
        XCTAssertEqual(folder.count("LIST"), 256)
        // ...or of the whole root, when its pages are far fewer than the folders.
        inventory.pageSize = 1000
        folder.reset()
        let all = try await inventory.present(stored + absent, under: "objects/", fanOut: 256)
        XCTAssertEqual(all, Set(stored))
        XCTAssertEqual(folder.count("HEAD"), 0)
        XCTAssertEqual(folder.count("LIST"), 2, "the probed folder, then objects/")
    }

    /// A results pack whose bytes do not match its name is not used: its items are computed.
    func testTamperedPackIsRejected() async throws {
        let f = try RemoteFixture(items: 40)
        let (a, first, _) = try await f.run(cache: "cacheA")
        let remote = try RemoteURL.open("file://\(f.dir)/shared", environment: [:])
        _ = try await RemoteCache(remote: remote, workspace: a.workspace).push(try a.rowsToPush(pipeline: nil).rows, workspace: a.workspace)
        let packs = try await remote.list("packs/")
        let pack = try XCTUnwrap(packs.first)
        let downloaded = try await remote.download(pack)
        let original = try XCTUnwrap(downloaded)
        try await remote.upload(pack, data: original + Data("\n".utf8))
        f.counter.reset()
        let notes = NoteCollector()
        let (_, second, _) = try await f.run(cache: "cacheB", remote: remote, reporter: notes)
        XCTAssertEqual(f.counter.items("stamp").count, 40, "nothing adopted from a rejected pack")
        XCTAssertEqual(second.node("tally")?.outputs.mapValues(\.digest), first.node("tally")?.outputs.mapValues(\.digest))
        XCTAssertTrue(notes.notes.contains { $0.contains("rejected results pack") }, "\(notes.notes)")
    }

    /// A remote written by layout 1 (a single row per key under results/) is still read.
    func testLayoutOneRowsAreStillRead() async throws {
        let f = try RemoteFixture(items: 40)
        let (a, first, _) = try await f.run(cache: "cacheA")
        let remote = try RemoteURL.open("file://\(f.dir)/shared", environment: [:])
        let rows = try a.rowsToPush(pipeline: nil).rows
        _ = try await RemoteTransfer(remote: remote, objects: a.workspace.objects).pushObjects(rows.flatMap { $0.outputs.values.flatMap { $0.files.values } })
        for r in rows { try await remote.upload(remote.resultPath(r.key), data: RemoteResultRow.encode(r)) }
        f.counter.reset()
        let (_, second, rc) = try await f.run(cache: "cacheB", remote: remote)
        XCTAssertEqual(f.counter.total, 0)
        XCTAssertEqual(rc?.pulled.results, 41)
        XCTAssertEqual(second.node("tally")?.outputs.mapValues(\.digest), first.node("tally")?.outputs.mapValues(\.digest))
        // Pushing from there adds no pack: every row is in the remote already.
        let s = try await RemoteCache(remote: remote, workspace: a.workspace).push(rows, workspace: a.workspace)
        XCTAssertEqual(s.rows, 0); XCTAssertEqual(s.rowsSkipped, 41)
        let packs = try await remote.list("packs/")
        XCTAssertEqual(packs.count, 0)
    }

    /// On a terminal the progress line is redrawn with objects and bytes.
    func testProgressOnATerminalShowsObjectsAndBytes() {
        let written = LockedText()
        let p = TransferProgress(label: "push", isTTY: true, write: { written.append($0) })
        p.begin("objects", total: 3)
        p.advance(1)
        var s = TransferSummary(); s.sent = 1; s.bytes = 2_000_000
        p.step(s); p.step(s)
        p.end()
        XCTAssertTrue(written.text.contains("\r\u{1B}[2Kpush: 3/3 objects, 4 MB"), written.text.debugDescription)
        XCTAssertTrue(written.text.contains("push: 1/3 objects, Zero KB") || written.text.contains("push: 1/3 objects, 0 bytes"), written.text.debugDescription)
        XCTAssertTrue(written.text.hasSuffix("\r\u{1B}[2K"), "the line is cleared before the summary")
    }
}

final class LockedText: @unchecked Sendable {
    private let lock = NSLock()
    private var stored = ""
    func append(_ s: String) { lock.withLock { stored += s } }
    var text: String { lock.withLock { stored } }
}
