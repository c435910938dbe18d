import Foundation
import XCTest
import SegflowTestSupport
import GRDB
import SegflowCore
import SegflowGraph
@testable import SegflowStore

/// The CAS and the SQLite index: atomic read-only objects, results, fingerprints, runs, lineage.
final class StoreTests: XCTestCase {
    var dir: String!
    override func setUpWithError() throws {
        dir = try makeTemporaryFolder("store")
    }

    /// A copy stops reading once it has the size just stat'ed (no read to find the end), but a file that grew or
    /// shrank since that stat is still copied whole: the object is the bytes read, named by their digest.
    func testACopyIsTheWholeFileWhateverSizeWasStated() throws {
        let store = try ObjectStore(root: dir + "/cache")
        // One file read whole into the buffer, one streamed.
        for size in [1_000, 10_000] {
            let path = dir + "/data-\(size).bin"
            let bytes = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) })
            try bytes.write(to: URL(fileURLWithPath: path))
            for stated in [nil, size, 3, size - 1, size + 1, 5 * size] as [Int?] {
                XCTAssertEqual(try store.ingest(copyingFile: path, size: stated), Digest.of(bytes),
                               "\(size) bytes, stated \(stated.map(String.init) ?? "none")")
            }
            XCTAssertEqual(try store.read(Digest.of(bytes)), bytes)
        }
    }

    func testObjectsAreContentAddressedReadOnlyAndVerified() throws {
        let store = try ObjectStore(root: dir)
        let d = try store.ingest(data: Data("hello".utf8))
        XCTAssertEqual(d, Digest.of(Data("hello".utf8)))
        XCTAssertTrue(store.path(of: d).hasSuffix("/objects/\(d.hex.prefix(2))/\(d.hex.dropFirst(2))"))
        let mode = try FileManager.default.attributesOfItem(atPath: store.path(of: d))[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o444)
        XCTAssertEqual(try store.ingest(data: Data("hello".utf8)), d, "the same bytes are stored once")
        XCTAssertTrue(try ObjectStore(root: dir).isIntact(d))
        chmod(store.path(of: d), 0o644)
        try Data("tampered".utf8).write(to: URL(fileURLWithPath: store.path(of: d)))
        XCTAssertFalse(try ObjectStore(root: dir).isIntact(d), "a fresh process re-hashes and sees the damage")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.tmpDirectory), [], "no temp files left")
    }

    func testResultsRoundTripAndLineage() throws {
        let index = try Index(path: dir + "/index.sqlite")
        let out = Digest.of(Data("mask".utf8)), key = Digest.of(Data("key".utf8))
        let run = try index.beginRun(pipeline: "p", file: "/p.yaml", command: "run")
        try index.commit(results: [ResultRecord(key: key, node: "crf", stage: "crf", item: "a",
                                                outputs: ["masks": FileTree(["a.png": out])], runID: run, duration: 0.5,
                                                params: "{\"iterations\":10}", inputs: "{}")],
                         executions: [ExecutionRecord(node: "crf", item: "a", key: key, status: "ran", reason: "new item", duration: 0.5)],
                         runID: run)
        try index.finishRun(run, status: "ok", ran: 1, cached: 0, failed: 0)
        XCTAssertEqual(try index.results(for: [key])[key]?.outputs["masks"]?.files["a.png"], out)
        XCTAssertEqual(try index.outputs(node: "crf", keys: [key])[key]?["masks"]?.files, ["a.png": out])
        XCTAssertEqual(try index.outputs(node: "renamed", keys: [key])[key]?["masks"]?.files, ["a.png": out], "found by key under another node name")
        XCTAssertEqual(try index.results(producing: out).map(\.node), ["crf"])
        XCTAssertEqual(try index.latestResult(node: "crf", item: "a")?.params, "{\"iterations\":10}")
        XCTAssertEqual(try index.runs().first?.status, "ok")
        try index.forgetResults(producing: out)
        XCTAssertTrue(try index.results(for: [key]).isEmpty)
    }

    func testFingerprintsByFolderPrefix() throws {
        let index = try Index(path: nil)
        let d = Digest.of(Data("x".utf8))
        try index.saveFingerprints(["/data/a/1.png": Fingerprint(size: 1, mtimeNanos: 2, inode: 3, digest: d),
                                    "/data/b/1.png": Fingerprint(size: 1, mtimeNanos: 2, inode: 3, digest: d)])
        XCTAssertEqual(Array(try index.fingerprints(under: "/data/a/").keys), ["1.png"], "keyed by the name inside the folder")
        XCTAssertEqual(try index.fingerprints(under: "/data/a/")["1.png"]?.digest, d)
    }

    func testMigrationsOfFingerprintsKeepThem() throws {
        // A cache written before v3: fingerprints in a rowid table. Opening it migrates (v3, v8, v9) and keeps every one.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("segflow-migrate-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = Digest.of(Data("x".utf8))
        do {
            let old = try DatabaseQueue(path: dir + "/index.sqlite")
            try Index.migrator.migrate(old, upTo: "v2: fingerprints remember imports")
            try old.write { db in
                try db.execute(sql: "INSERT INTO fingerprints (path, size, mtime_ns, inode, digest, imported) VALUES (?,?,?,?,?,?)",
                               arguments: ["/data/a/1.png", 1, 2, 3, d.hex, 1])
            }
        }
        let index = try Index(path: dir + "/index.sqlite")
        let f = try index.fingerprints(under: "/data/a/")["1.png"]
        XCTAssertEqual(f?.digest, d)
        XCTAssertEqual(f?.imported, true)
        // v9: one blob per folder, the per-file table gone; still found by content.
        XCTAssertEqual(try index.db.read { try String.fetchAll($0, sql: "SELECT folder FROM folder_prints") }, ["/data/a/"])
        XCTAssertFalse(try index.db.read { try $0.tableExists("fingerprints") })
        XCTAssertEqual(try index.sourcePaths(of: d), ["/data/a/1.png"])
        try index.forgetImports(of: d)
        XCTAssertEqual(try index.fingerprints(under: "/data/a/")["1.png"]?.imported, false)
    }

    func testTreeCodecRoundTrip() {
        let t: [String: FileTree] = ["cams": FileTree(["a.npy": Digest.of(Data([1])), "b.npy": Digest.of(Data([2]))]), "empty": FileTree()]
        XCTAssertEqual(TreeCodec.decode(TreeCodec.encode(t)), t)
        XCTAssertEqual(TreeCodec.parseManifest(TreeCodec.manifest(t["cams"]!)), t["cams"])
        // The exact text: manifests are objects named by their digest (and runs record that digest).
        let a = Digest.of(Data([1])).hex, b = Digest.of(Data([2])).hex
        XCTAssertEqual(TreeCodec.encode(t), "cams\ta.npy\t\(a)\ncams\tb.npy\t\(b)\nempty\t\t\n")
        XCTAssertEqual(String(decoding: TreeCodec.manifest(t["cams"]!), as: UTF8.self), "a.npy\t\(a)\nb.npy\t\(b)\n")
        XCTAssertEqual(TreeCodec.manifest(FileTree()), Data())
    }

    func testAnUnusableIndexIsAUserErrorNamingIt() throws {
        try Data("this is not a database".utf8).write(to: URL(fileURLWithPath: dir + "/index.sqlite"))
        XCTAssertThrowsError(try Index(path: dir + "/index.sqlite")) { e in
            XCTAssertTrue("\(e)".contains(dir + "/index.sqlite"), "\(e)")
            XCTAssertEqual((e as? SegflowError)?.exitCode, 2)
        }
    }
}
