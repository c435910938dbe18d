import Foundation
import XCTest
import SegflowCore
import SegflowGraph
import SegflowStore
@testable import SegflowRemote
@testable import SegflowEngine

/// Push from one cache, run on a fresh one through the remote: nothing is computed and the digests match.
final class RemoteCacheTests: XCTestCase {
    /// Every output digest of a run, by node.
    func digests(_ s: RunSummary) -> [String: [String: Digest]] {
        Dictionary(uniqueKeysWithValues: s.nodes.map { n in (n.node, n.outputs.mapValues(\.digest)) })
    }

    func roundTrip(_ remote: any RemoteStore, _ f: RemoteFixture) async throws {
        let (a, first, _) = try await f.run(cache: "cacheA")
        XCTAssertEqual(f.counter.items("stamp").count, 6)
        // What `segflow push` sends: the latest run's rows (sources left out) and their objects.
        let (_, rows) = try a.rowsToPush(pipeline: "remote")
        XCTAssertEqual(rows.count, 7, "6 stamp items + 1 tally")
        let pushed = try await RemoteCache(remote: remote, workspace: a.workspace).push(rows, workspace: a.workspace)
        XCTAssertEqual(pushed.sent, 7, "6 label files + 1 metrics file")
        XCTAssertEqual(pushed.rows, 7)
        // Pushing again sends nothing.
        let again = try await RemoteCache(remote: remote, workspace: a.workspace).push(rows, workspace: a.workspace)
        XCTAssertEqual(again.sent, 0); XCTAssertEqual(again.skipped, 7); XCTAssertEqual(again.rowsSkipped, 7)

        f.counter.reset()
        let (b, second, rc) = try await f.run(cache: "cacheB", remote: remote)
        XCTAssertEqual(f.counter.total, 0, "a fresh cache computes nothing that the remote has")
        XCTAssertEqual(second.node("stamp")?.ran, 0)
        XCTAssertEqual(second.node("tally")?.ran, 0)
        XCTAssertEqual(digests(second), digests(first))
        XCTAssertEqual(rc?.pulled.results, 7)
        // The adopted results are local now: the next run needs no remote.
        let (_, third, _) = try await f.run(cache: "cacheB")
        XCTAssertEqual(f.counter.total, 0)
        XCTAssertEqual(digests(third), digests(first))
        XCTAssertNotEqual(b.workspace.root, a.workspace.root)
    }

    func testRoundTripThroughAFolderRemote() async throws {
        let f = try RemoteFixture(items: 6)
        let remote = try RemoteURL.open("file://\(f.dir)/shared", environment: [:])
        try await roundTrip(remote, f)
        let objects = try await remote.list("objects/"), packs = try await remote.list("packs/")
        XCTAssertEqual(objects.count, 7)
        XCTAssertEqual(packs.count, 1, "the 7 rows in one pack")
        let single = try await remote.list("results/")
        XCTAssertEqual(single, [], "layout 1 rows are no longer written")
    }

    func testRoundTripThroughS3() async throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        try await moto.createBucket("lab")
        let f = try RemoteFixture(items: 6)
        let remote = try RemoteURL.open("s3://lab/team/segflow", environment: moto.environment())
        try await roundTrip(remote, f)
        let objects = try await remote.list("objects/")
        XCTAssertEqual(objects.count, 7)
        // The prefix is honoured: keys live under team/segflow/.
        let all = try await RemoteURL.open("s3://lab", environment: moto.environment()).list("")
        XCTAssertEqual(all.count, 8, "7 objects and a results pack")
        XCTAssertTrue(all.allSatisfy { $0.hasPrefix("team/segflow/") }, "\(all.prefix(3))")
    }

    /// Objects pulled into a cache are small enough to be kept inline in its index (SmallObjects.swift):
    /// that cache pushes them on (read from the index, no file), and a third cache runs from them.
    func testACacheWithInlineObjectsPushesAndPullsThroughS3() async throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        try await moto.createBucket("lab")
        let f = try RemoteFixture(items: 3)
        let first = try RemoteURL.open("s3://lab/first", environment: moto.environment())
        let (a, reference, _) = try await f.run(cache: "cacheA")
        _ = try await RemoteCache(remote: first, workspace: a.workspace).push(try a.rowsToPush(pipeline: "remote").rows, workspace: a.workspace)
        let (b, pulled, _) = try await f.run(cache: "cacheB", remote: first)
        let labels = try XCTUnwrap(pulled.node("stamp")?.outputs["labels"]?.files.values)
        for d in labels {
            XCTAssertTrue(b.workspace.objects.isInline(d), "a pulled label file is kept in the index")
            // The run wrote it out for its results/ link; without that copy it is in the index alone.
            unlink(b.workspace.objects.path(of: d))
            XCTAssertTrue(b.workspace.objects.isIntact(d))
        }

        let second = try RemoteURL.open("s3://lab/second", environment: moto.environment())
        let pushed = try await RemoteCache(remote: second, workspace: b.workspace).push(try b.rowsToPush(pipeline: "remote").rows, workspace: b.workspace)
        XCTAssertEqual(pushed.sent, 4, "3 label files + 1 metrics file, from the index"); XCTAssertEqual(pushed.failed, 0)
        for d in labels {
            let there = try await second.download(second.objectPath(d))
            XCTAssertEqual(there.map(Digest.of), d, "the bytes on the remote hash to the object's name")
        }
        f.counter.reset()
        let (_, third, _) = try await f.run(cache: "cacheC", remote: second)
        XCTAssertEqual(f.counter.total, 0, "computed nothing")
        XCTAssertEqual(digests(third), digests(reference))
    }

    func testPullThenRunOffline() async throws {
        let f = try RemoteFixture(items: 4)
        let remote = try RemoteURL.open("file://\(f.dir)/shared", environment: [:])
        let (a, first, _) = try await f.run(cache: "cacheA")
        _ = try await RemoteCache(remote: remote, workspace: a.workspace).push(try a.rowsToPush(pipeline: nil).rows, workspace: a.workspace)
        f.counter.reset()
        let b = try f.engine(cache: "cacheB")
        let rc = RemoteCache(remote: remote, workspace: b.workspace)
        let plan = try await b.pull(try f.graph(b), from: rc)
        XCTAssertEqual(plan.nodes.filter { $0.node.descriptor.granularity != .source }.map(\.status), [.cached, .cached])
        let (_, second, _) = try await f.run(cache: "cacheB")
        XCTAssertEqual(f.counter.total, 0)
        XCTAssertEqual(digests(second), digests(first))
    }

    /// A bucket object whose bytes do not match its name is rejected, never stored, and its item recomputed;
    /// a push from the recomputing cache repairs the bucket.
    func testTamperedObjectIsRejectedAndRecomputed() async throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        try await moto.createBucket("lab")
        let f = try RemoteFixture(items: 5)
        let remote = try RemoteURL.open("s3://lab/c", environment: moto.environment())
        let (a, first, _) = try await f.run(cache: "cacheA")
        _ = try await RemoteCache(remote: remote, workspace: a.workspace).push(try a.rowsToPush(pipeline: nil).rows, workspace: a.workspace)
        let victim = try XCTUnwrap(first.node("stamp")?.outputs["labels"]?.files["img00002.json"])
        try await remote.upload(remote.objectPath(victim), data: Data("[\"forged\"]".utf8))

        f.counter.reset()
        let notes = NoteCollector()
        let (b, second, rc) = try await f.run(cache: "cacheB", remote: remote, reporter: notes)
        XCTAssertEqual(f.counter.items("stamp"), ["img00002"], "only the item whose object was tampered with is computed")
        XCTAssertEqual(digests(second), digests(first), "the recomputed output is the true one")
        XCTAssertTrue(notes.notes.contains { $0.contains("rejected object \(victim.short)") && $0.contains("s3://lab/c") }, "\(notes.notes)")
        XCTAssertEqual(rc?.pulled.summary.rejected, 1)
        XCTAssertTrue(b.workspace.objects.isIntact(victim))
        // run --push overwrites the bad copy.
        let s = try await b.push(run: second.runID, to: try XCTUnwrap(rc))
        XCTAssertEqual(s.sent, 1)
        let repaired = try await remote.download(remote.objectPath(victim))
        XCTAssertEqual(repaired.map { Digest.of($0) }, victim)
    }

    func testMultipartUploadOfALargeObject() async throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        try await moto.createBucket("lab")
        var remote = try XCTUnwrap(try RemoteURL.open("s3://lab/big", environment: moto.environment()) as? S3Remote)
        remote.partSize = 5 << 20
        var bytes = [UInt8](repeating: 0, count: (11 << 20) + 123)
        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 2654435761 >> 13) }
        let data = Data(bytes)
        let file = NSTemporaryDirectory() + "segflow-big-\(UUID().uuidString)"
        try data.write(to: URL(fileURLWithPath: file))
        defer { unlink(file) }
        let d = Digest.of(data)
        try await remote.upload(remote.objectPath(d), file: file, size: Int64(data.count), sha256: d.hex)
        let back = try await remote.download(remote.objectPath(d))
        XCTAssertEqual(back.map { Digest.of($0) }, d)
        // Three parts went up as one object (S3 marks a multipart ETag with -N).
        let head = try await remote.client.send("HEAD", key: remote.key(remote.objectPath(d)))
        XCTAssertTrue(head.headers["etag"]?.contains("-3") == true, "\(head.headers)")
    }
}

/// Transfers survive 503 SlowDown, 429 and dropped connections: a proxy in front of moto injects one
/// every 4th request, and every object and row still arrives, each once.
final class RemoteRetryTests: XCTestCase {
    func testTransfersRetryThrough5xx429AndDroppedConnections() async throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        try await moto.createBucket("lab")
        let faults = NSTemporaryDirectory() + "segflow-faults-\(UUID().uuidString)"
        defer { unlink(faults) }
        let proxy = Process(), input = Pipe(), output = Pipe()
        proxy.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        proxy.arguments = ["python3", URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/remote/flaky_proxy.py").path, "\(moto.port)", faults]
        proxy.standardInput = input; proxy.standardOutput = output
        try proxy.run()
        defer { try? input.fileHandleForWriting.close(); proxy.waitUntilExit() }
        let line = output.fileHandleForReading.availableData
        let port = try XCTUnwrap(Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))

        let f = try RemoteFixture(items: 12)
        let (a, first, _) = try await f.run(cache: "cacheA")
        var env = moto.environment()
        env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:\(port)"
        let flaky = try XCTUnwrap(try RemoteURL.open("s3://lab/r", environment: env) as? S3Remote)
        flaky.client.baseDelay = 0.01
        let s = try await RemoteCache(remote: flaky, workspace: a.workspace).push(try a.rowsToPush(pipeline: nil).rows, workspace: a.workspace)
        XCTAssertEqual(s.failed, 0, "\(s.errors)")
        XCTAssertEqual(s.sent, 13); XCTAssertEqual(s.rows, 13)
        let injected = (try? String(contentsOfFile: faults, encoding: .utf8))?.split(separator: "\n") ?? []
        XCTAssertTrue(injected.contains { $0.hasPrefix("503") } && injected.contains { $0.hasPrefix("429") }
                      && injected.contains { $0.hasPrefix("drop") }, "\(injected)")
        // Read back through the flaky proxy too: a fresh cache computes nothing.
        f.counter.reset()
        let (_, second, _) = try await f.run(cache: "cacheB", remote: flaky)
        XCTAssertEqual(f.counter.total, 0)
        XCTAssertEqual(second.node("tally")?.outputs.mapValues(\.digest), first.node("tally")?.outputs.mapValues(\.digest))
    }
}
