import Foundation
import XCTest
import SegflowTestSupport
import GRDB
import SegflowCore
import SegflowGraph
@testable import SegflowStore

/// Small objects kept inline in the index (SmallObjects.swift, issue 15): no file each, committed in the
/// same SQLite transaction as the rows that name them, seen by every question about objects.
final class SmallObjectTests: XCTestCase {
    var dir: String!
    override func setUpWithError() throws { dir = try makeTemporaryFolder("small") }

    /// A store with its index open, as a run has it.
    func open() throws -> (ObjectStore, Index) {
        let store = try ObjectStore(root: dir + "/cache")
        return (store, try Index(path: dir + "/cache/index.sqlite", durability: store.durability))
    }

    func bytes(_ count: Int, _ seed: Int = 0) -> Data { Data((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed) }) }

    /// Objects in the index's packs.
    func rows(_ index: Index) throws -> Int { try index.db.read { try Self.packed($0) } }
    static func packed(_ db: Database) throws -> Int {
        try Data.fetchAll(db, sql: "SELECT directory FROM small_packs").map { SmallPack.entries($0).count }.reduce(0, +)
    }

    func record(_ d: Digest, key: String, _ index: Index) throws {
        try index.commit(results: [ResultRecord(key: Digest.of(Data(key.utf8)), node: "n", stage: "s", item: key,
                                                outputs: ["images": FileTree(["\(key).png": d])], runID: 1, duration: 0,
                                                params: "{}", inputs: "{}")], executions: [], runID: 1)
    }

    /// A worker's batch: its objects become pending when it is flushed (by the caller, or itself once it holds
    /// 256), a duplicate of an object already inline is dropped, and a write then commits them as usual.
    func testABatchHandsItsObjectsOverWhenFlushed() throws {
        let (store, index) = try open()
        let batch = try XCTUnwrap(store.small.batch())
        let folder = Glibc.open(dir, O_RDONLY | O_DIRECTORY)
        defer { close(folder) }
        var digests: [Digest] = []
        for k in 0..<300 {
            try bytes(10 + k % 290).write(to: URL(fileURLWithPath: dir + "/f\(k).png"))   // 290 distinct contents
            digests.append(try store.ingestStating(copying: "f\(k).png", in: folder, path: dir + "/f\(k).png", batch: batch).digest)
        }
        XCTAssertEqual(digests[3], Digest.of(bytes(13)))
        XCTAssertEqual(store.small.pendingCount, 256, "the first 256 were handed over when the batch filled")
        try batch.flush()
        XCTAssertEqual(store.small.pendingCount, 290, "duplicates dropped")
        try record(digests[0], key: "batch", index)
        XCTAssertEqual(try rows(index), 290)
        XCTAssertEqual(try store.read(digests[299]), bytes(10 + 299 % 290))
        XCTAssertFalse(FileManager.default.fileExists(atPath: store.path(of: digests[299])), "inline, not a file")
    }

    func testASmallObjectIsInlineNotAFileAndReadsBackExact() throws {
        let (store, index) = try open()
        let content = bytes(110)
        try content.write(to: URL(fileURLWithPath: dir + "/a.png"))
        let d = try store.ingest(copyingFile: dir + "/a.png")
        XCTAssertEqual(d, Digest.of(content))
        XCTAssertFalse(FileManager.default.fileExists(atPath: store.path(of: d)), "no file for a small object")
        XCTAssertTrue(store.contains(d)); XCTAssertTrue(store.isInline(d)); XCTAssertTrue(store.isIntact(d))
        XCTAssertEqual(try store.read(d), content, "read back from the pending buffer")
        XCTAssertEqual(store.small.pendingCount, 1); XCTAssertEqual(store.durability.pendingCount, 0, "no file to sync")
        try record(d, key: "a", index)
        XCTAssertEqual(store.small.pendingCount, 0); XCTAssertEqual(try rows(index), 1)
        // Another process's view: committed, read from the table.
        let (other, _) = try open()
        XCTAssertTrue(other.contains(d)); XCTAssertTrue(other.isIntact(d))
        XCTAssertEqual(try other.read(d), content)
        XCTAssertEqual(other.size(of: d), 110)
        XCTAssertEqual(other.allObjects(), [d])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.objectsDirectory), [], "objects/ stays empty")
    }

    /// At most `threshold` bytes inline, through both ways in; one byte more is a file.
    func testTheThresholdIsInclusiveAndLargerObjectsStayFiles() throws {
        let (store, index) = try open()
        let atLimit = bytes(SmallObjects.threshold, 1), over = bytes(SmallObjects.threshold + 1, 2)
        let viaData = try store.ingest(data: bytes(SmallObjects.threshold, 3)), viaDataOver = try store.ingest(data: bytes(SmallObjects.threshold + 1, 4))
        try atLimit.write(to: URL(fileURLWithPath: dir + "/limit.png")); try over.write(to: URL(fileURLWithPath: dir + "/over.png"))
        let viaFile = try store.ingest(copyingFile: dir + "/limit.png"), viaFileOver = try store.ingest(copyingFile: dir + "/over.png")
        for d in [viaData, viaFile] {
            XCTAssertTrue(store.isInline(d)); XCTAssertFalse(FileManager.default.fileExists(atPath: store.path(of: d)))
        }
        for d in [viaDataOver, viaFileOver] {
            XCTAssertFalse(store.isInline(d)); XCTAssertTrue(FileManager.default.fileExists(atPath: store.path(of: d)))
        }
        XCTAssertEqual(try store.read(viaFileOver), over)
        XCTAssertEqual(Set(store.allObjects()), [viaData, viaFile, viaDataOver, viaFileOver])
        // An empty file is an object too.
        try Data().write(to: URL(fileURLWithPath: dir + "/empty.png"))
        let empty = try store.ingest(copyingFile: dir + "/empty.png")
        XCTAssertTrue(store.isInline(empty)); XCTAssertEqual(try store.read(empty), Data())
        try record(empty, key: "e", index)
        XCTAssertEqual(try rows(index), 3)
    }

    /// The ordering that keeps "an object the index names is durable": the inline object is inserted in the
    /// very transaction that commits the row naming it, before that row. A transaction that rolls back leaves
    /// neither, and the object waits for the next write.
    func testAnInlineObjectCommitsInTheTransactionThatNamesIt() throws {
        let (store, index) = try open()
        let d = try store.ingest(data: bytes(200))
        func insertRow(_ db: Database, key: String) throws {
            try db.execute(sql: """
                INSERT INTO results (key, node, stage, item, outputs, run_id, created, duration, params, inputs)
                VALUES (?, 'n', 's', 'a', ?, 1, 0, 0, '{}', '{}')
                """, arguments: [key, TreeCodec.encode(["images": FileTree(["a.png": d])])])
        }
        func inTransaction(_ db: Database) throws -> Int { try Self.packed(db) }

        struct Refused: Error {}
        XCTAssertThrowsError(try index.write { db in
            XCTAssertEqual(try inTransaction(db), 1, "the object is in the transaction before the row that names it")
            // In flight: no longer pending, still answered from memory.
            XCTAssertEqual(store.small.pendingCount, 0)
            XCTAssertTrue(store.contains(d))
            XCTAssertEqual(try store.read(d), bytes(200))
            try insertRow(db, key: "k")
            throw Refused()
        })
        XCTAssertEqual(try rows(index), 0, "rolled back: neither the object")
        XCTAssertEqual(try index.db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM results") }, 0, "nor the row")
        XCTAssertEqual(store.small.pendingCount, 1, "still pending, for the next write")
        XCTAssertFalse(try open().0.contains(d), "another process does not see it")

        try index.write { db in
            XCTAssertEqual(try inTransaction(db), 1)
            try insertRow(db, key: "k")
        }
        XCTAssertEqual(store.small.pendingCount, 0)
        XCTAssertEqual(try rows(index), 1)
        XCTAssertEqual(try index.db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM results") }, 1)
        XCTAssertEqual(try open().0.read(d), bytes(200))
        // A write with nothing pending inserts nothing.
        try index.write { db in XCTAssertEqual(try inTransaction(db), 1) }
        XCTAssertEqual(try rows(index), 1)
    }

    /// A process that dies between ingest and commit leaves no row naming a missing object, and no object.
    func testAnObjectNeverCommittedLeavesNothingBehind() throws {
        var d: Digest?
        do {
            let (store, _) = try open()
            d = try store.ingest(data: bytes(64))
            XCTAssertTrue(store.contains(d!))
        }   // the process ends here without an index write
        let (store, index) = try open()
        XCTAssertFalse(store.contains(d!)); XCTAssertEqual(try rows(index), 0)
        XCTAssertEqual(store.allObjects(), [])
    }

    func testFileOfWritesAnInlineObjectOutOnceAndItHashesRight() throws {
        let (store, index) = try open()
        let content = bytes(300)
        let d = try store.ingest(data: content)
        try record(d, key: "a", index)
        let p = try store.file(of: d)
        XCTAssertEqual(p, store.path(of: d))
        XCTAssertEqual(try Digest.ofFile(at: p), d)
        var first = stat(), again = stat()
        XCTAssertEqual(stat(p, &first), 0)
        XCTAssertEqual(first.st_mode & 0o777, 0o444, "read-only, as every object file")
        XCTAssertEqual(try store.file(of: d), p)
        XCTAssertEqual(stat(p, &again), 0)
        XCTAssertEqual(again.st_ino, first.st_ino, "written once")
        XCTAssertTrue(store.isInline(d), "still inline too")
        XCTAssertEqual(store.allObjects(), [d], "listed once")
        XCTAssertEqual(store.durability.pendingCount, 1, "the file is synced with the next index write")
        XCTAssertThrowsError(try store.file(of: Digest.of(Data("absent".utf8))))
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: store.tmpDirectory)) ?? [], [], "no temporary files")
    }

    /// `verify`'s question: a damaged inline blob is not intact (even when its file was written out fine), and
    /// eviction removes it from the table.
    func testADamagedInlineBlobIsNotIntactAndIsEvicted() throws {
        let (store, index) = try open()
        let d = try store.ingest(data: bytes(100)), e = try store.ingest(data: bytes(100, 9))
        try record(d, key: "a", index); try record(e, key: "b", index)
        try store.file(of: d)
        try store.small.damage(d, with: Data("rot".utf8))
        let (fresh, _) = try open()
        XCTAssertFalse(fresh.isIntact(d), "the row's bytes are re-hashed")
        XCTAssertTrue(fresh.isIntact(e))
        fresh.evict([d])
        XCTAssertFalse(fresh.contains(d)); XCTAssertFalse(FileManager.default.fileExists(atPath: fresh.path(of: d)))
        XCTAssertEqual(try rows(index), 1)
        XCTAssertEqual(try open().0.allObjects(), [e])
    }

    /// Without an index (a `segflow worker` on a cluster node opens no SQLite) small objects are files.
    func testAStoreWithoutAnIndexWritesFiles() throws {
        let store = try ObjectStore(root: dir + "/cache")
        let d = try store.ingest(data: bytes(10))
        XCTAssertFalse(store.isInline(d))
        XCTAssertTrue(FileManager.default.fileExists(atPath: store.path(of: d)))
    }

    /// An import of more small objects than `pendingByteLimit` holds writes them out in transactions of their
    /// own instead of holding them all in memory until its commit; every one reads back.
    func testPendingBytesAreBounded() throws {
        let (store, index) = try open()
        let count = SmallObjects.pendingByteLimit / SmallObjects.threshold + 10
        var digests: [Digest] = []
        for k in 0..<count {
            var data = Data(count: SmallObjects.threshold)
            withUnsafeBytes(of: UInt64(k).littleEndian) { data.replaceSubrange(0..<8, with: $0) }
            digests.append(try store.ingest(data: data))
        }
        XCTAssertLessThan(store.small.pendingCount, count, "written out before any index write")
        XCTAssertGreaterThan(try rows(index), 0)
        try index.commit(results: [], executions: [], runID: 1)
        XCTAssertEqual(try rows(index), count)
        let (other, _) = try open()
        for k in [0, count / 2, count - 1] { XCTAssertTrue(other.isIntact(digests[k])) }
    }

    /// Ingests on many threads at once, some the same content: every object inline once, all read back.
    func testInlineIngestFromManyThreads() throws {
        let (store, index) = try open()
        let contents = (0..<64).map { bytes(50 + $0 % 16, $0 % 16) }
        DispatchQueue.concurrentPerform(iterations: contents.count) { k in _ = try? store.ingest(data: contents[k]) }
        XCTAssertEqual(store.small.pendingCount, 16)
        try index.commit(results: [], executions: [], runID: 1)
        XCTAssertEqual(try rows(index), 16)
        for c in contents { XCTAssertEqual(try store.read(Digest.of(c)), c) }
    }

    func packIDs(_ index: Index) throws -> [Int64] {
        try index.db.read { try Int64.fetchAll($0, sql: "SELECT id FROM small_packs ORDER BY id") }
    }

    /// One pack per write transaction, its directory in digest order; removing objects writes the rest as a
    /// new pack (a new id) and a process that still remembers the old pack reads the right bytes.
    func testAWriteIsOnePackAndRemovingWritesTheRestAsANewOne() throws {
        let (store, index) = try open()
        let contents = (0..<5).map { bytes(30 + $0, $0) }
        let ds = try contents.map { try store.ingest(data: $0) }
        try index.commit(results: [], executions: [], runID: 1)
        let first = try packIDs(index)
        XCTAssertEqual(first.count, 1)
        let directory = try XCTUnwrap(try index.db.read { try Data.fetchOne($0, sql: "SELECT directory FROM small_packs") })
        XCTAssertEqual(SmallPack.entries(directory).map(\.digest), ds.sorted())
        let (other, _) = try open()
        XCTAssertEqual(try other.read(ds[0]), contents[0], "the other process has read the first pack's directory")
        store.evict([ds[1], ds[3]])
        let second = try packIDs(index)
        XCTAssertEqual(second.count, 1); XCTAssertGreaterThan(second[0], first[0], "ids are never reused")
        XCTAssertFalse(store.contains(ds[1])); XCTAssertTrue(store.isIntact(ds[2]))
        for k in [0, 2, 4] { XCTAssertEqual(try other.read(ds[k]), contents[k], "read again from the new pack") }
        XCTAssertEqual(Set(try open().0.allObjects()), Set([ds[0], ds[2], ds[4]]))
        store.evict([ds[0], ds[2], ds[4]])
        XCTAssertEqual(try packIDs(index), [], "an empty pack is deleted")
    }

    /// A cache written before v10 keeps every small object: its rows become a pack.
    func testMigrationMovesRowsIntoPacks() throws {
        try FileManager.default.createDirectory(atPath: dir + "/cache", withIntermediateDirectories: true)
        let contents = [bytes(10), bytes(4096, 1), Data()]
        do {
            let old = try DatabaseQueue(path: dir + "/cache/index.sqlite")
            try Index.migrator.migrate(old, upTo: "v9: fingerprints as one blob per folder")
            try old.write { db in
                for c in contents {
                    try db.execute(sql: "INSERT INTO small_objects (digest, bytes) VALUES (?, ?)", arguments: [Digest.of(c).rawData, c])
                }
            }
        }
        let (store, index) = try open()
        XCTAssertFalse(try index.db.read { try $0.tableExists("small_objects") })
        for c in contents { XCTAssertEqual(try store.read(Digest.of(c)), c); XCTAssertTrue(store.isIntact(Digest.of(c))) }
        XCTAssertEqual(try rows(index), 3)
    }
}
