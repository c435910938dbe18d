import Foundation
import XCTest
import GRDB
import SegflowTestSupport
import SegflowCore
import SegflowGraph
import SegflowImaging
import SegflowSpec
import SegflowStages
@testable import SegflowStore
@testable import SegflowEngine

/// Runs over a dataset of tiny PNGs, all small enough to be kept inline in the index (SmallObjects.swift):
/// a native stage reads them by path, results/ links them, gc and verify see them.
final class InlineObjectRunTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = try makeTemporaryFolder("inline")
        for sub in ["images", "masks"] { try FileManager.default.createDirectory(atPath: dir + "/data/" + sub, withIntermediateDirectories: true) }
        for (k, stem) in ["a", "b", "c"].enumerated() { try writeItem(stem, roadRows: k, seed: UInt8(k)) }
        try """
        version: 1
        name: tiny
        classes: [Sky, Road]
        stages:
          data: {type: imageFolder, params: {images: data/images, masks: data/masks}}
          labels: {type: maskLabels, inputs: {masks: data.masks}}
        """.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
    }

    /// A 4x4 RGB image and its mask: Sky, and Road on the bottom `roadRows` rows (every mask differs).
    func writeItem(_ stem: String, roadRows: Int, seed: UInt8) throws {
        let rgb = RGBImage(width: 4, height: 4, pixels: (0..<48).map { UInt8(truncatingIfNeeded: Int($0) &* 5 &+ Int(seed)) })
        try ImageIO.writePNG(rgb, to: "\(dir!)/data/images/\(stem).png")
        let mask = GrayImage(width: 4, height: 4, pixels: (0..<16).map { $0 >= 16 - 4 * roadRows ? 1 : 0 })
        try ImageIO.writePNG(mask, to: "\(dir!)/data/masks/\(stem).png")
    }

    func run() async throws -> RunSummary {
        let engine = Engine(workspace: try Workspace(root: dir + "/cache"), catalog: try StageCatalog.standard(pluginRoots: []))
        let graph = try PipelineGraph(spec: try PipelineSpec.load(path: dir + "/p.yaml"), registry: engine.catalog.registry)
        return try await engine.run(graph)
    }

    // Synchronous, so GRDB's blocking calls are picked (not its async ones) from async tests.
    func inlineRow(_ d: Digest, _ ws: Workspace) throws -> Bool {
        try ws.index.db.read { try Data.fetchAll($0, sql: "SELECT directory FROM small_packs") }
            .contains { SmallPack.entries($0).contains { $0.digest == d } }
    }

    func damage(_ d: Digest, _ ws: Workspace) throws {
        try ws.objects.small.damage(d, with: Data("not a png".utf8))
    }

    func label(_ s: RunSummary, _ stem: String, _ ws: Workspace) throws -> String {
        String(decoding: try ws.objects.read(try XCTUnwrap(s.node("labels")?.outputs["labels"]?.files["\(stem).json"])), as: UTF8.self)
    }

    func testANativeStageReadsInlineImages() async throws {
        let s = try await run()
        let ws = try Workspace(root: dir + "/cache")
        let masks = try XCTUnwrap(s.node("data")?.outputs["masks"]?.files)
        let images = try XCTUnwrap(s.node("data")?.outputs["images"]?.files)
        for d in Array(masks.values) + Array(images.values) {
            XCTAssertTrue(ws.objects.isInline(d), "a tiny PNG is kept in the index")
            XCTAssertTrue(ws.objects.isIntact(d))
        }
        XCTAssertEqual(try label(s, "a", ws), "[\"Sky\"]")
        XCTAssertEqual(try label(s, "b", ws), "[\"Sky\",\"Road\"]")
        let again = try await run()
        XCTAssertEqual(again.ran, 0, "a second run computes nothing")
    }

    /// results/ holds files for inline outputs (a source's converted annotations, outputs pulled from a
    /// remote): each written out once and hard-linked, with the object's bytes.
    func testResultsLinkInlineObjectsWrittenOut() throws {
        let ws = try Workspace(root: dir + "/cache")
        let content = ["a.json": Data("[\"Sky\"]".utf8), "b.json": Data("[\"Road\"]".utf8)]
        let tree = FileTree(try content.mapValues { try ws.objects.ingest(data: $0) })
        try ws.index.commit(results: [], executions: [], runID: 1)
        for d in tree.files.values { XCTAssertTrue(ws.objects.isInline(d)); XCTAssertFalse(FileManager.default.fileExists(atPath: ws.objects.path(of: d))) }
        let node = NodeSummary(node: "labels", stage: "s", status: "ran", ran: 2, cached: 0, failed: 0, seconds: 0,
                               outputs: ["labels": tree], error: nil)
        for style in [ResultLinks.Style.hardLinks, .symlinks] {
            try ResultLinks.refresh(workspace: ws, pipeline: "tiny-\(style)", nodes: [node], style: style)
            for (name, d) in tree.files {
                let link = dir + "/cache/results/tiny-\(style)/labels/labels/" + name
                XCTAssertEqual(FileManager.default.contents(atPath: link), content[name], "\(style)")
                XCTAssertEqual(try Digest.ofFile(at: ws.objects.path(of: d)), d)
                if style == .hardLinks {
                    var a = stat(), b = stat()
                    XCTAssertEqual(stat(link, &a), 0); XCTAssertEqual(stat(ws.objects.path(of: d), &b), 0)
                    XCTAssertEqual(a.st_ino, b.st_ino, "a hard link to the written-out object")
                }
            }
        }
    }

    func testGcRemovesAnUnreferencedInlineObjectAndKeepsAReferencedOne() async throws {
        let first = try await run()
        let old = try XCTUnwrap(first.node("data")?.outputs["images"]?.files["a.png"])
        try writeItem("a", roadRows: 0, seed: 77)   // a.png replaced: its old object is garbage after the next run
        let second = try await run()
        let new = try XCTUnwrap(second.node("data")?.outputs["images"]?.files["a.png"])
        let kept = try XCTUnwrap(second.node("data")?.outputs["images"]?.files["b.png"])
        XCTAssertNotEqual(old, new)
        var ws = try Workspace(root: dir + "/cache")
        XCTAssertTrue(ws.objects.isInline(old))
        let gc = try Maintenance.collectGarbage(ws)
        XCTAssertGreaterThanOrEqual(gc.objects, 1)
        ws = try Workspace(root: dir + "/cache")
        XCTAssertFalse(ws.objects.contains(old), "the unreferenced inline object is gone")
        XCTAssertFalse(try inlineRow(old, ws), "nor its row")
        for d in [new, kept] { XCTAssertTrue(ws.objects.isIntact(d), "a referenced one stays") }
        let third = try await run()
        XCTAssertEqual(third.ran, 0, "nothing to recompute after gc")
    }

    func testVerifyFindsADamagedInlineBlobAndTheItemIsRecomputed() async throws {
        let first = try await run()
        let mask = try XCTUnwrap(first.node("data")?.outputs["masks"]?.files["b.png"])
        var ws = try Workspace(root: dir + "/cache")
        try damage(mask, ws)
        ws = try Workspace(root: dir + "/cache")
        XCTAssertEqual(Maintenance.verify(ws).corrupt, [mask])
        let second = try await run()
        XCTAssertEqual(second.node("data")?.ran, 1, "the damaged mask is imported again")
        XCTAssertEqual(second.node("labels")?.ran, 0, "the same bytes again: labels stay cached (early cutoff)")
        ws = try Workspace(root: dir + "/cache")
        XCTAssertTrue(ws.objects.isIntact(mask))
        XCTAssertEqual(try ws.objects.read(mask), FileManager.default.contents(atPath: dir + "/data/masks/b.png"))
    }
}
