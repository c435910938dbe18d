import Foundation
import XCTest
import GRDB
import SegflowCore
import SegflowGraph
@testable import SegflowStore

/// Objects are written without an fsync each and made durable in batches, always BEFORE the index
/// transaction that names them commits (issue 15): the order is recorded by a sync hook and a SQLite
/// commit observer on the same log.
final class DurabilityTests: XCTestCase {
    var dir: String!
    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "segflow-durable-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// Events in the order they happened, from any thread.
    final class EventLog: @unchecked Sendable {
        private let lock = NSLock()
        private var events: [String] = []
        func append(_ e: String) { lock.lock(); events.append(e); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return events }
    }

    /// Logs "commit" when SQLite has committed a transaction that changed the results table.
    final class CommitRecorder: TransactionObserver {
        let log: EventLog
        init(log: EventLog) { self.log = log }
        func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { eventKind.tableName == "results" }
        func databaseDidChange(with event: DatabaseEvent) {}
        func databaseDidCommit(_ db: Database) { log.append("commit") }
        func databaseDidRollback(_ db: Database) { log.append("rollback") }
    }

    func record(_ digests: [Digest], key: String, index: Index) throws {
        let files = Dictionary(uniqueKeysWithValues: digests.enumerated().map { ("f\($0.offset).png", $0.element) })
        try index.commit(results: [ResultRecord(key: Digest.of(Data(key.utf8)), node: "n", stage: "s", item: key,
                                                outputs: ["masks": FileTree(files)], runID: 1, duration: 0, params: "{}", inputs: "{}")],
                         executions: [], runID: 1)
    }

    /// Content one byte over the inline threshold, so it is stored as a file (see SmallObjects).
    static func large(_ text: String) -> Data {
        var d = Data(text.utf8)
        d.append(Data(repeating: UInt8(ascii: "."), count: SmallObjects.threshold + 1 - d.count))
        return d
    }

    /// A cache whose syncs and results commits are logged, in order (keep the recorder alive: it is held weakly).
    func observedCache() throws -> (ObjectStore, Index, EventLog, CommitRecorder) {
        let store = try ObjectStore(root: dir + "/cache")
        let index = try Index(path: dir + "/cache/index.sqlite", durability: store.durability)
        let log = EventLog()
        store.durability.onSync { r in log.append("sync \(r.method.rawValue) \(r.paths.count)") }
        let recorder = CommitRecorder(log: log)
        index.db.add(transactionObserver: recorder, extent: .observerLifetime)
        return (store, index, log, recorder)
    }

    func testObjectsAreSyncedBeforeTheTransactionThatNamesThemCommits() throws {
        let (store, index, log, recorder) = try observedCache()
        defer { withExtendedLifetime(recorder) {} }

        // A few objects (too large to be kept inline): no fsync while writing them, one per file at the barrier.
        let few = try (0..<3).map { try store.ingest(data: Self.large("object \($0)")) }
        XCTAssertEqual(log.all, [], "writing an object syncs nothing by itself")
        XCTAssertEqual(store.durability.pendingCount, 3)
        try record(few, key: "few", index: index)
        XCTAssertEqual(log.all, ["sync files 3", "commit"])
        XCTAssertEqual(store.durability.pendingCount, 0)

        // A dataset's worth, copied in: one syncfs for the batch, still before the commit.
        let sources = dir + "/data"
        try FileManager.default.createDirectory(atPath: sources, withIntermediateDirectories: true)
        var many: [Digest] = []
        for k in 0..<(DurabilityBarrier.perFileLimit + 4) {
            let p = sources + "/\(k).png"
            try Self.large("image \(k)").write(to: URL(fileURLWithPath: p))
            many.append(try store.ingest(copyingFile: p))
        }
        XCTAssertEqual(many, (0..<many.count).map { Digest.of(Self.large("image \($0)")) })
        try record(many, key: "many", index: index)
        XCTAssertEqual(Array(log.all.suffix(2)), ["sync filesystem \(many.count)", "commit"])

        // Nothing new: a write transaction syncs nothing.
        try record(few, key: "again", index: index)
        XCTAssertEqual(Array(log.all.suffix(3)), ["sync filesystem \(many.count)", "commit", "commit"])
    }

    /// Objects made durable ahead of the write that names them (a source's tree manifests, on another core
    /// while its records commit): that write finds nothing left to sync, and it still commits after them.
    func testFilesMadeDurableAheadLeaveNothingForTheWrite() throws {
        let (store, index, log, recorder) = try observedCache()
        defer { withExtendedLifetime(recorder) {} }
        let two = try (0..<2).map { try store.ingest(data: Self.large("manifest \($0)")) }
        XCTAssertEqual(store.durability.pendingCount, 2)
        try store.durability.makeFilesDurable()
        XCTAssertEqual(log.all, ["sync files 2"])
        XCTAssertEqual(store.durability.pendingCount, 0)
        try record(two, key: "named", index: index)
        XCTAssertEqual(log.all, ["sync files 2", "commit"], "the write synced nothing more")
        // Ahead of time with nothing pending: no sync at all.
        try store.durability.makeFilesDurable()
        XCTAssertEqual(log.all.count, 2)
    }

    /// An index write never commits past a barrier that could not make its objects durable.
    func testASyncThatFailsStopsTheCommit() throws {
        let store = try ObjectStore(root: dir + "/cache")
        let index = try Index(path: dir + "/cache/index.sqlite", durability: store.durability)
        let d = try store.ingest(data: Self.large("lost"))
        // The object vanishes before the barrier (as if its disk failed): the barrier cannot fsync it.
        unlink(store.path(of: d))
        XCTAssertThrowsError(try record([d], key: "x", index: index)) { e in
            XCTAssertTrue("\(e)".contains(store.path(of: d)), "\(e)")
        }
        XCTAssertTrue(try index.results(for: [Digest.of(Data("x".utf8))]).isEmpty, "nothing was committed")
    }

    /// A file under objects/ that this process did not write may be one a process that died unsynced
    /// left behind (after a power loss, with bytes that never reached the disk): re-hashed before reuse.
    func testAnObjectLeftUnsyncedIsReHashedBeforeItIsReused() throws {
        let content = Data("mask bytes".utf8)
        let d = Digest.of(content)
        let path = try ObjectStore(root: dir + "/cache").path(of: d)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(count: content.count).write(to: URL(fileURLWithPath: path))   // zeros: the data never written

        let store = try ObjectStore(root: dir + "/cache")
        XCTAssertEqual(try store.ingest(data: content), d)
        XCTAssertEqual(FileManager.default.contents(atPath: path), content, "the damaged file was replaced")
        XCTAssertEqual(store.durability.pendingCount, 1)

        // An intact one is taken over without a copy, and synced with this process's objects.
        let other = try ObjectStore(root: dir + "/cache")
        let source = dir + "/same.png"
        try content.write(to: URL(fileURLWithPath: source))
        XCTAssertEqual(try other.ingest(copyingFile: source, knownDigest: d), d)
        XCTAssertEqual(other.durability.pendingCount, 1, "reused, so it must be durable before the index names it")
    }

    func testCopiesFromManyThreadsAtOnce() throws {
        let store = try ObjectStore(root: dir + "/cache")
        let sources = dir + "/data"
        try FileManager.default.createDirectory(atPath: sources, withIntermediateDirectories: true)
        // Sizes around the copy buffer's edges; every fourth file a duplicate of another.
        let sizes = [0, 1, 4095, 4096, 4097, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 << 20]
        var expected: [Digest] = []
        for k in 0..<36 {
            var bytes = [UInt8](repeating: 0, count: sizes[k % sizes.count])
            for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 31 &+ (k % 4 == 3 ? 0 : k)) }
            try Data(bytes).write(to: URL(fileURLWithPath: sources + "/\(k).png"))
            expected.append(Digest.of(bytes))
        }
        var got = [Digest?](repeating: nil, count: expected.count)
        got.withUnsafeMutableBufferPointer { out in
            let out = out
            DispatchQueue.concurrentPerform(iterations: expected.count) { k in
                out[k] = try? store.ingest(copyingFile: sources + "/\(k).png")
            }
        }
        XCTAssertEqual(got, expected)
        for d in expected { XCTAssertTrue(try ObjectStore(root: dir + "/cache").isIntact(d)) }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.tmpDirectory), [], "no temp files left")
    }
    /// New objects are written without a name (O_TMPFILE) and named when complete; content already in the
    /// store is recognised before anything is written (no second inode, no temporary file), and an
    /// object's file is read-only from the start.
    func testADuplicateWritesNothingAndANewObjectIsNamedOnlyWhenComplete() throws {
        let store = try ObjectStore(root: dir + "/cache")
        let a = dir + "/a.png", b = dir + "/b.png"
        let bytes = Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        try bytes.write(to: URL(fileURLWithPath: a)); try bytes.write(to: URL(fileURLWithPath: b))
        let d = try store.ingest(copyingFile: a)
        var first = stat(), again = stat()
        XCTAssertEqual(stat(store.path(of: d), &first), 0)
        XCTAssertEqual(first.st_mode & 0o777, 0o444, "read-only from the start")
        XCTAssertEqual(first.st_nlink, 1)
        XCTAssertEqual(try store.ingest(copyingFile: b), d)
        XCTAssertEqual(stat(store.path(of: d), &again), 0)
        XCTAssertEqual(again.st_ino, first.st_ino, "the duplicate was not written again")
        XCTAssertEqual(store.durability.pendingCount, 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.objectsDirectory).sorted(), [String(d.hex.prefix(2))],
                       "nothing but the object's fan-out folder under objects/")
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: store.tmpDirectory)) ?? [], [], "no temporary files")
        // Bytes and a large file (streamed, digest known only at the end) land under their digests too.
        let big = Data((0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) })
        try big.write(to: URL(fileURLWithPath: dir + "/big.bin"))
        XCTAssertEqual(try store.ingest(copyingFile: dir + "/big.bin"), Digest.of(big))
        XCTAssertEqual(FileManager.default.contents(atPath: store.path(of: Digest.of(big))), big)
        XCTAssertEqual(try store.ingest(data: Data("x".utf8)), Digest.of(Data("x".utf8)))
        XCTAssertTrue(store.isIntact(Digest.of(Data("x".utf8))))
    }
    /// Where the filesystem makes no unnamed files (learnt from the first O_TMPFILE failure), objects are
    /// written to temporary files in this process's tmp/ folder and renamed in: the same objects, read-only,
    /// nothing left in tmp/, duplicates still written once.
    func testWithoutUnnamedFilesObjectsAreRenamedInFromTemporaryFiles() throws {
        UnnamedFiles.supported.value = false
        defer { UnnamedFiles.supported.value = true }
        let store = try ObjectStore(root: dir + "/cache")
        let tempFilesBefore = UnnamedFiles.counter.next()
        let small = Data("small object".utf8), big = Data((0..<((1 << 20) + 5)).map { UInt8(truncatingIfNeeded: $0 &* 3) })
        try small.write(to: URL(fileURLWithPath: dir + "/small.png")); try big.write(to: URL(fileURLWithPath: dir + "/big.png"))
        XCTAssertEqual(try store.ingest(copyingFile: dir + "/small.png"), Digest.of(small))
        XCTAssertEqual(try store.ingest(copyingFile: dir + "/big.png"), Digest.of(big))
        XCTAssertEqual(try store.ingest(data: small), Digest.of(small))
        XCTAssertEqual(try store.ingest(data: Data("bytes".utf8)), Digest.of(Data("bytes".utf8)))
        for (d, bytes) in [(Digest.of(small), small), (Digest.of(big), big)] {
            XCTAssertEqual(FileManager.default.contents(atPath: store.path(of: d)), bytes)
            var st = stat()
            XCTAssertEqual(stat(store.path(of: d), &st), 0)
            XCTAssertEqual(st.st_mode & 0o777, 0o444)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.tmpDirectory), [], "no temporary files left")
        XCTAssertEqual(store.durability.pendingCount, 3)
        XCTAssertEqual(UnnamedFiles.counter.next() - tempFilesBefore - 1, 3, "three temporary files made: the fallback ran")
    }
}
