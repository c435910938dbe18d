import Foundation
import GRDB
import XCTest
import SegflowTestSupport

/// Concurrent runs (issue 13 part 2, RELIABILITY.md): two to four `segflow run` processes on one
/// cache at once, of one pipeline and of different ones, on a new and on an existing cache. None
/// may fail ("database is locked", a torn commit), and each must end with a clean run's outputs.
///
/// Two runs that want the same item both compute it: nothing makes one wait for the other. The store
/// is content-addressed, so the two copies of an output are one object; both commit the same key
/// (INSERT OR REPLACE of identical rows in their own transactions), so the index holds one result.
final class ConcurrentRunTests: XCTestCase {
    var dir: String!
    override func setUpWithError() throws {
        _ = try SegflowBinary.path()
        dir = try makeTemporaryFolder("concurrent")
        try CrashData.tiles(into: dir + "/data")
    }

    /// The native pipeline under `name`, its CRF with `iterations` (variants share import and annotators).
    func pipeline(_ name: String, iterations: Int = 10) throws -> String {
        let path = dir + "/\(name).yaml"
        try CrashData.nativePipeline(data: dir + "/data")
            .replacingOccurrences(of: "name: crashnative", with: "name: \(name)")
            .replacingOccurrences(of: "scribbles: scribbles.scribbles}}", with: "scribbles: scribbles.scribbles}, params: {iterations: \(iterations)}}")
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A clean run's output trees, on a cache of its own.
    func reference(_ pipeline: String) throws -> [String: String] {
        let cache = dir + "/ref-\(UUID().uuidString.prefix(6))"
        try SegflowRun.complete(["run", pipeline, "--cache", cache], in: dir, log: cache + ".log")
        let inspect = CacheInspection(cache: cache)
        return try inspect.trees(run: try inspect.latestRun())
    }

    /// Starts every run at once, waits for all; fails on any non-zero exit or a lock error.
    @discardableResult
    func runAtOnce(_ pipelines: [String], cache: String, environment: [String: String] = [:], label: String) throws -> [String] {
        let runs = try pipelines.enumerated().map { i, p in
            try SegflowRun(["run", p, "--cache", cache], in: dir, environment: environment, log: "\(cache)-\(label)-\(i).log")
        }
        for r in runs { _ = try r.start() }
        var outputs: [String] = []
        for (i, r) in runs.enumerated() {
            let end = r.wait()
            let out = r.output
            outputs.append(out)
            XCTAssertEqual(end.code, 0, "\(label): run \(i) of \(pipelines.count) ended with \(end):\n\(out.suffix(2000))")
            XCTAssertFalse(out.contains("locked"), "\(label): run \(i): \(out.suffix(2000))")
        }
        return outputs
    }

    /// Each of the last `count` runs (in id order) against its pipeline's reference, and the cache sound.
    func check(_ cache: String, runs pipelines: [String], references: [String: [String: String]], label: String) throws {
        let inspect = CacheInspection(cache: cache)
        XCTAssertEqual(try inspect.integrity(), ["ok"], label)
        XCTAssertEqual(try inspect.danglingDigests(), [], label)
        let runs = try inspect.withIndex { db in
            try Row.fetchAll(db, sql: "SELECT id, pipeline, status FROM runs ORDER BY id DESC LIMIT ?", arguments: [pipelines.count])
        }
        XCTAssertEqual(runs.count, pipelines.count, label)
        for row in runs {
            let id: Int64 = row[0], name: String = row[1], status: String = row[2]
            XCTAssertEqual(status, "ok", "\(label): run \(id)")
            XCTAssertEqual(try inspect.trees(run: id), references[name], "\(label): run \(id) of \(name) differs from a clean run")
        }
        XCTAssertEqual(try inspect.verify(in: dir, log: cache + "-\(label)-verify.log").corrupt, 0, label)
    }

    func testRunsOfOnePipelineAtOnceOnNewAndExistingCaches() throws {
        let p = try pipeline("crashnative")
        let refs = ["crashnative": try reference(p)]
        for count in 2...4 {
            let cache = dir + "/same-\(count)"
            try runAtOnce(Array(repeating: p, count: count), cache: cache, label: "new cache, \(count) runs")
            try check(cache, runs: Array(repeating: p, count: count), references: refs, label: "new cache, \(count) runs")
            // Again on the now existing cache: every run is all cached.
            let outs = try runAtOnce(Array(repeating: p, count: count), cache: cache, label: "existing cache, \(count) runs")
            for out in outs { XCTAssertTrue(out.contains(": 0 ran, "), "existing cache: \(out.suffix(500))") }
            try check(cache, runs: Array(repeating: p, count: count), references: refs, label: "existing cache, \(count) runs")
        }
    }

    func testDifferentPipelinesAtOnceOnNewAndExistingCaches() throws {
        let pipelines = [try pipeline("crashnative"), try pipeline("fewer", iterations: 5), try pipeline("more", iterations: 15)]
        var refs: [String: [String: String]] = [:]
        for (name, p) in zip(["crashnative", "fewer", "more"], pipelines) { refs[name] = try reference(p) }
        let cache = dir + "/different"
        try runAtOnce(pipelines, cache: cache, label: "new cache")
        try check(cache, runs: pipelines, references: refs, label: "new cache")
        // The existing cache, after an edit in one pipeline: it recomputes while the others are cached.
        let edited = try pipeline("fewer", iterations: 4)
        refs["fewer"] = try reference(edited)
        try runAtOnce([pipelines[0], edited, pipelines[2], pipelines[0]], cache: cache, label: "existing cache")
        try check(cache, runs: [pipelines[0], edited, pipelines[2], pipelines[0]], references: refs, label: "existing cache")
    }

    /// Two runs that start together both compute the plugin stage's items (the fake worker takes 1.5 s,
    /// so neither finds the other's result when it plans), and the cache ends with one copy of each.
    func testTwoRunsWantingOneItemBothComputeItAndTheStoreKeepsOneCopy() throws {
        let (yaml, env) = CrashData.fakePluginPipeline(name: "twice", data: dir + "/data", mode: "slow", counters: dir)
        try yaml.write(toFile: dir + "/twice.yaml", atomically: true, encoding: .utf8)
        let cache = dir + "/twice"
        try runAtOnce([dir + "/twice.yaml", dir + "/twice.yaml"], cache: cache, environment: env, label: "same items")
        let inspect = CacheInspection(cache: cache)
        let (computed, results, distinctOutputs) = try inspect.withIndex { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM executions WHERE node = 'labels' AND status = 'ran'") ?? 0,
             try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM results WHERE node = 'labels'") ?? 0,
             try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT digest) FROM result_files WHERE key IN (SELECT key FROM results WHERE node = 'labels')") ?? 0)
        }
        let calls = try String(contentsOfFile: dir + "/calls.txt", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(calls.count, 2, "each run called the worker once for the same items: \(calls)")
        XCTAssertEqual(computed, 2 * 72, "both runs computed all 72 items")
        XCTAssertEqual(results, 72, "one result per item key")
        XCTAssertEqual(distinctOutputs, 1, "every item's output is the same one object (the fake worker writes [\"x\"])")
        let objects = try FileManager.default.subpathsOfDirectory(atPath: cache + "/objects").filter { $0.count > 3 }
        let labelObjects = try objects.filter { path in
            try Data(contentsOf: URL(fileURLWithPath: cache + "/objects/" + path)) == Data("[\"x\"]".utf8)
        }
        XCTAssertEqual(labelObjects.count, 1, "144 computed outputs, one object in the store")
        XCTAssertEqual(try inspect.integrity(), ["ok"])
        XCTAssertEqual(try inspect.danglingDigests(), [])
    }
}
