import Foundation
import GRDB
import XCTest
import SegflowTestSupport
@testable import SegflowStore

/// Checkpoints of the index's log run after a commit, on the writer's queue (Checkpoints.swift).
final class CheckpointTests: XCTestCase {
    func testALargeCommitIsCheckpointedAfterItAndEverythingIsInTheDatabaseFile() throws {
        let dir = try makeTemporaryFolder("checkpoint")
        let index = try Index(path: dir + "/index.sqlite")
        // ~300 pages of 16 KB: past the threshold.
        let blob = Data(repeating: 7, count: Index.pageSize * 300)
        try index.write { try $0.execute(sql: "INSERT INTO folder_prints (folder, prints) VALUES ('/big/', ?)", arguments: [blob]) }
        index.finishCheckpoints()
        // Every frame of the log has been copied into the database file (a passive checkpoint now has
        // nothing left to copy), so a copy of the file alone, without its log, holds the row.
        let (log, copied) = try index.db.writeWithoutTransaction { try $0.checkpoint(.passive) }
        XCTAssertEqual(log, copied)
        try FileManager.default.copyItem(atPath: dir + "/index.sqlite", toPath: dir + "/copy.sqlite")
        let copy = try DatabaseQueue(path: dir + "/copy.sqlite")
        XCTAssertEqual(try copy.read { try Int.fetchOne($0, sql: "SELECT length(prints) FROM folder_prints WHERE folder = '/big/'") }, blob.count)
    }

    func testANewIndexHasSixteenKilobytePages() throws {
        let dir = try makeTemporaryFolder("checkpoint-pages")
        let index = try Index(path: dir + "/index.sqlite")
        XCTAssertEqual(try index.db.read { try Int.fetchOne($0, sql: "PRAGMA page_size") }, Index.pageSize)
        XCTAssertEqual(Index.pageSize, 16384)
    }

    func testSmallCommitsStartNoCheckpoint() throws {
        let dir = try makeTemporaryFolder("checkpoint-small")
        let index = try Index(path: dir + "/index.sqlite")
        try index.saveFingerprints(["/d/a.png": Fingerprint(size: 1, mtimeNanos: 1, inode: 1, digest: .of(Data("a".utf8)))])
        XCTAssertFalse(index.checkpointer.isQueued, "a few pages wait for SQLite's last close or a later large commit")
        XCTAssertEqual(try index.fingerprints(under: "/d/").count, 1)
    }

    /// The store's small objects keep the index's pool: a write through it after the `Index` is gone commits
    /// on the connection whose hook named the index's checkpointer.
    func testACommitAfterTheIndexIsGoneIsSafe() throws {
        let dir = try makeTemporaryFolder("checkpoint-gone")
        let store = try ObjectStore(root: dir + "/cache")
        var index: Index? = try Index(path: dir + "/cache/index.sqlite", durability: store.durability)
        let d = try store.ingest(data: Data("kept".utf8))
        try index!.commit(results: [], executions: [], runID: 1)
        index = nil
        try store.small.damage(d, with: Data("rot".utf8))   // a write on the pool's writer connection
        XCTAssertFalse(store.isIntact(d))
        let big = Data(repeating: 1, count: 3000)
        for k in 0..<400 { var b = big; b[0] = UInt8(k % 256); b[1] = UInt8(k / 256); _ = try store.ingest(data: b) }
        try store.small.damage(d, with: Data("rot again".utf8))   // past the threshold: a checkpoint may start
        XCTAssertEqual(try store.read(d), Data("rot again".utf8))
    }
}
