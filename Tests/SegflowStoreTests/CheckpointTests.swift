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
        // ~400 pages: past the threshold.
        let blob = Data(repeating: 7, count: 4096 * 400)
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

    func testSmallCommitsStartNoCheckpoint() throws {
        let dir = try makeTemporaryFolder("checkpoint-small")
        let index = try Index(path: dir + "/index.sqlite")
        try index.saveFingerprints(["/d/a.png": Fingerprint(size: 1, mtimeNanos: 1, inode: 1, digest: .of(Data("a".utf8)))])
        XCTAssertFalse(index.checkpointer.isQueued, "a few pages wait for SQLite's last close or a later large commit")
        XCTAssertEqual(try index.fingerprints(under: "/d/").count, 1)
    }
}
