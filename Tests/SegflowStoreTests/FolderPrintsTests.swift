import Foundation
import GRDB
import XCTest
@testable import SegflowCore
@testable import SegflowStore

/// Fingerprints kept as one blob per folder (`folder_prints`, migration v9).
final class FolderPrintsTests: XCTestCase {
    func fp(_ n: Int64, _ content: String, imported: Bool = false) -> Fingerprint {
        Fingerprint(size: n, mtimeNanos: n &* 1_000_000_007, inode: -n, digest: Digest.of(Data(content.utf8)), imported: imported)
    }

    func testCodecRoundTripsEveryField() {
        let table = ["a.png": fp(1, "a"), "马路牙子.png": fp(Int64.max, "b", imported: true), "": fp(0, "")]
        let blob = FolderPrints.encode(table)
        XCTAssertEqual(FolderPrints.decode(blob), table)
        XCTAssertEqual(blob.count, 5 + table.keys.map { 2 + $0.utf8.count + 57 }.reduce(0, +))
    }

    func testADamagedBlobReadsAsTheEntriesBeforeTheDamage() {
        let blob = FolderPrints.encode([(name: "a.png", print: fp(1, "a")), (name: "b.png", print: fp(2, "b"))])
        XCTAssertEqual(FolderPrints.decode(blob.prefix(blob.count - 1)), ["a.png": fp(1, "a")])
        XCTAssertEqual(FolderPrints.decode(Data([9, 0, 0, 0, 0])), [:], "an unknown version is no fingerprints")
        XCTAssertEqual(FolderPrints.decode(Data()), [:])
    }

    func testSavesMergeIntoTheFolderRowAndTheLastOfANameWins() throws {
        let index = try Index(path: nil)
        try index.saveFingerprints(folders: [Index.FolderUpdate(folder: "/d/", entries: [(name: "1.png", print: fp(1, "x")), (name: "1.png", print: fp(2, "y"))])])
        try index.saveFingerprints(folders: [Index.FolderUpdate(folder: "/u/", entries: [(name: "1.png", print: fp(1, "x"))], unique: true)])
        try index.saveFingerprints(folders: [Index.FolderUpdate(folder: "/u/", entries: [(name: "2.png", print: fp(2, "x"))], unique: true)])
        XCTAssertEqual(try index.fingerprints(under: "/u/").count, 2, "unique entries merge into a row that exists")
        // A later save of another file (another process, or the next plan) keeps the first.
        try index.saveFingerprints(["/d/2.png": fp(3, "z"), "/e/1.png": fp(4, "w")])
        XCTAssertEqual(try index.fingerprints(under: "/d/"), ["1.png": fp(2, "y"), "2.png": fp(3, "z")])
        XCTAssertEqual(try index.fingerprints(under: "/e/"), ["1.png": fp(4, "w")])
        XCTAssertEqual(try index.fingerprints(under: "/nowhere/"), [:])
        XCTAssertEqual(try index.db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM folder_prints") }, 3, "one row per folder")
    }

    func testImportMarksByPathAndForgettingByContentAcrossFolders() throws {
        let index = try Index(path: nil)
        try index.saveFingerprints(["/d/1.png": fp(1, "same"), "/d/2.png": fp(2, "other"), "/e/1.png": fp(3, "same")])
        try index.markImported(paths: ["/d/1.png", "/e/1.png", "/d/missing.png"])
        XCTAssertEqual(try index.fingerprints(under: "/d/").mapValues(\.imported), ["1.png": true, "2.png": false])
        let same = Digest.of(Data("same".utf8))
        XCTAssertEqual(try index.sourcePaths(of: same), ["/d/1.png", "/e/1.png"])
        try index.forgetImports(of: same)
        XCTAssertEqual(try index.fingerprints(under: "/d/").mapValues(\.imported), ["1.png": false, "2.png": false])
        XCTAssertEqual(try index.fingerprints(under: "/e/")["1.png"], fp(3, "same"), "only the mark changes")
    }
}
