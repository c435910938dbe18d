import Foundation
import XCTest

/// Disk full (issue 13 part 6, RELIABILITY.md): the cache on a small tmpfs, filled by a ballast file
/// so that a run runs out of space part-way (at several depths: during the import, the stages, the
/// commits). Each time: one clear error naming the cache and what to free, exit 2, nothing corrupt;
/// after the ballast is deleted the next run completes with a clean run's outputs, reusing what the
/// failed run committed. Needs `mount -t tmpfs` (root, and a container that allows it): skipped
/// with the reason otherwise.
final class DiskFullTests: XCTestCase {
    /// The largest value `sample` gave, sampled every millisecond on a thread of its own until `stop`.
    final class PeakSampler: @unchecked Sendable {
        private let lock = NSLock()
        private var peak = 0, done = false
        private let finished = DispatchSemaphore(value: 0)
        init(_ sample: @escaping () -> Int) {
            Thread { [self] in
                while true {
                    let v = sample()
                    lock.lock(); peak = max(peak, v); let stop = done; lock.unlock()
                    if stop { finished.signal(); return }
                    usleep(1000)
                }
            }.start()
        }
        func stop() -> Int {
            lock.lock(); done = true; lock.unlock()
            finished.wait()
            lock.lock(); defer { lock.unlock() }; return peak
        }
    }

    var dir: String!
    var mountPoint: String?

    override func setUpWithError() throws {
        _ = try SegflowBinary.path()
        dir = NSTemporaryDirectory() + "segflow-diskfull-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir + "/disk", withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let m = mountPoint { _ = Self.shell(["umount", m]) }
        if let dir { try? FileManager.default.removeItem(atPath: dir) }
    }

    @discardableResult
    static func shell(_ argv: [String]) -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = argv
        let pipe = Pipe()
        p.standardOutput = pipe; p.standardError = pipe
        do { try p.run() } catch { return (127, "\(error)") }
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, out)
    }

    /// Bytes a folder's files take (du -sb).
    static func bytes(_ path: String) -> Int {
        let out = shell(["du", "-sb", path]).output
        return Int(out.split(separator: "\t").first ?? "") ?? 0
    }

    func testAFullDiskFailsClearlyCorruptsNothingAndTheNextRunCompletes() throws {
        let disk = dir + "/disk"
        let size = 8 << 20
        let mounted = Self.shell(["mount", "-t", "tmpfs", "-o", "size=\(size)", "tmpfs", disk])
        guard mounted.status == 0 else {
            throw XCTSkip("cannot mount a tmpfs here (\(mounted.output.trimmingCharacters(in: .whitespacesAndNewlines))): the disk-full test needs root in a container that allows mount")
        }
        mountPoint = disk
        try CrashData.tiles(into: dir + "/data")
        try CrashData.nativePipeline(data: dir + "/data").write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)

        // A clean run on the small disk: its outputs, and how much of the disk a whole cache takes at most while
        // the run goes on (the index's log grows to a few MB before a checkpoint; what is left at the end is less).
        let refCache = disk + "/reference"
        let used = { () -> Int in var s = statvfs(); statvfs(disk, &s); return Int(s.f_blocks - s.f_bfree) * Int(s.f_frsize) }
        let before = used()
        let peak = PeakSampler(used)
        try SegflowRun.complete(["run", dir + "/p.yaml", "--cache", refCache], in: dir, log: dir + "/reference.log")
        let ref = CacheInspection(cache: refCache)
        let refTrees = try ref.trees(run: try ref.latestRun())
        let refItems = try ref.completedItems()
        let needed = max(Self.bytes(refCache), peak.stop() - before)
        try FileManager.default.removeItem(atPath: refCache)
        XCTAssertGreaterThan(needed, 100_000)

        var failures = 0
        // Room for 5 % to 90 % of what the run needs: it runs out during the import, the stages, the index writes.
        for (i, fraction) in [0.05, 0.3, 0.6, 0.9].enumerated() {
            let cache = disk + "/cache\(i)"
            let label = "room for \(Int(fraction * 100)) % of the cache"
            let ballast = disk + "/ballast"
            // At least 64 KB: with less, this test's own look at the index (its WAL's shared memory) fails too.
            let free = max(Int(Double(needed) * fraction), 64 << 10)
            try Data(count: max(0, size - Self.bytes(disk) - free)).write(to: URL(fileURLWithPath: ballast))

            let run = try SegflowRun(["run", dir + "/p.yaml", "--cache", cache], in: dir, log: dir + "/full\(i).log").start()
            let end = run.wait()
            let out = run.output
            if end.code == 0 { continue }    // it fit after all (tmpfs rounds to pages): nothing to check
            failures += 1
            XCTAssertEqual(end.code, 2, "\(label): a full disk is the user's to fix (exit 2), got \(end):\n\(out.suffix(2000))")
            XCTAssertTrue(out.contains("error: the disk holding the cache \(cache) is full"), "\(label):\n\(out.suffix(2000))")
            XCTAssertTrue(out.contains("fix: free space on that filesystem"), "\(label):\n\(out.suffix(2000))")
            XCTAssertFalse(out.contains("Fatal error") || out.contains("internal error"), "\(label):\n\(out.suffix(2000))")

            let inspect = CacheInspection(cache: cache)
            XCTAssertEqual(try inspect.integrity(), ["ok"], label)
            XCTAssertEqual(try inspect.danglingDigests(), [], label)
            // Completed: committed results, and dataset files already in the store (reused by fingerprint: small
            // ones are kept in the index and committed with the fingerprints, before the import's results).
            let before = try inspect.completedItems().union(inspect.importedItems(node: "data", under: dir + "/data", filesPerItem: 2))
            XCTAssertTrue(before.isSubset(of: refItems), label)

            // Space freed: verify, then the run completes with the clean run's outputs and reuses every committed item.
            try FileManager.default.removeItem(atPath: ballast)
            XCTAssertEqual(try inspect.verify(in: dir, log: dir + "/verify\(i).log").corrupt, 0, label)
            try SegflowRun.complete(["run", dir + "/p.yaml", "--cache", cache], in: dir, log: dir + "/after\(i).log")
            let rerun = try inspect.latestRun()
            XCTAssertEqual(try inspect.trees(run: rerun), refTrees, label)
            let ran = Set(try inspect.ranItems(run: rerun))
            XCTAssertEqual(ran.intersection(before), [], "\(label): committed items were computed again")
            XCTAssertEqual(ran.union(before), refItems, label)
            XCTAssertEqual(try inspect.integrity(), ["ok"], label)
            XCTAssertEqual(inspect.tmpFiles(), [], "\(label): temporary files left")
            print("disk full, \(label): \(out.split(separator: "\n").first { $0.hasPrefix("error:") } ?? ""); \(before.count) items committed before, \(ran.count) computed after")
            try FileManager.default.removeItem(atPath: cache)
        }
        XCTAssertGreaterThanOrEqual(failures, 3, "the disk should have filled up in most of the runs")
    }
}
