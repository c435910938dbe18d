import Foundation
import XCTest
import SegflowCore
import SegflowGraph
import SegflowSpec
import SegflowStages
import SegflowStore
@testable import SegflowEngine

/// Node memos: a map node whose inputs are unchanged as a whole is planned from one row, with the
/// same outputs and counts as item by item; any change, eviction or force plans item by item.
extension IncrementalTests {
    func plan(_ path: String, force: Set<String> = [], memos: Bool = true) throws -> Plan {
        try Engine(workspace: try Workspace(root: dir + "/cache"), catalog: catalog())
            .plan(try PipelineGraph(spec: try PipelineSpec.load(path: path), registry: catalog().registry), force: force, memos: memos)
    }

    func testUnchangedMapNodesArePlannedFromMemosWithTheSameOutputs() async throws {
        let p = try writePipeline()
        _ = try await run(p)
        let fromMemos = try plan(p)
        let itemByItem = try plan(p, memos: false)
        for id in ["sizes", "copy"] {
            let a = fromMemos.nodes.first { $0.node.id == id }!, b = itemByItem.nodes.first { $0.node.id == id }!
            XCTAssertTrue(a.fromMemo, id)
            XCTAssertFalse(b.fromMemo, id)
            XCTAssertEqual(a.status, .cached, id)
            XCTAssertEqual(a.cachedCount, 5, id)
            XCTAssertEqual(a.runCount, 0, id)
            XCTAssertEqual(a.items.map(\.stem), b.items.map(\.stem), id)
            XCTAssertEqual(a.outputs["labels"]?.tree, b.outputs["labels"]?.tree, id)
            XCTAssertNotNil(a.outputs["labels"]?.tree, id)
        }
        // The reduce downstream gets the same inputs either way: cached in both plans.
        XCTAssertEqual(fromMemos.nodes.first { $0.node.id == "count" }?.status, .cached)
        // A run over memo plans runs nothing and keeps the same outputs.
        counter.reset()
        let s = try await run(p)
        XCTAssertEqual(counter.items("sizeLabel"), [])
        XCTAssertEqual(s.ran, 0)
        XCTAssertEqual(s.node("copy")?.outputs["labels"], itemByItem.nodes.first { $0.node.id == "copy" }?.outputs["labels"]?.tree)
    }

    func testChangedInputMissesTheMemoThenTheRunRecordsANewOne() async throws {
        let p = try writePipeline()
        _ = try await run(p)
        try Data(repeating: 9, count: 321).write(to: URL(fileURLWithPath: "\(dir!)/data/img2.png"))
        let changed = try plan(p).nodes.first { $0.node.id == "sizes" }!
        XCTAssertFalse(changed.fromMemo)
        XCTAssertEqual(changed.items.filter { $0.status == .run }.map(\.stem), ["img2"])
        counter.reset()
        _ = try await run(p)
        XCTAssertEqual(counter.items("sizeLabel"), ["img2"])
        XCTAssertTrue(try plan(p).nodes.first { $0.node.id == "sizes" }!.fromMemo)
    }

    func testEvictingAnOutputForgetsMemos() async throws {
        let p = try writePipeline()
        let s1 = try await run(p)
        let ws = try Workspace(root: dir + "/cache")
        let label = s1.node("sizes")!.outputs["labels"]!.files["img1.json"]!
        try overwrite(label, in: ws, with: "[\"tampered\"]")
        XCTAssertEqual(Maintenance.verify(ws).corrupt, [label])
        let sizes = try plan(p).nodes.first { $0.node.id == "sizes" }!
        XCTAssertFalse(sizes.fromMemo, "verify evicted an object: no memo may vouch for outputs any more")
        XCTAssertEqual(sizes.items.filter { $0.status == .run }.map(\.stem), ["img1"])
        XCTAssertEqual(sizes.items.first { $0.stem == "img1" }?.reasons, ["output missing"])
    }

    func testForcedNodeAndUnreadableManifestPlanItemByItem() async throws {
        let p = try writePipeline()
        let s1 = try await run(p)
        let forced = try plan(p, force: ["sizes"]).nodes.first { $0.node.id == "sizes" }!
        XCTAssertFalse(forced.fromMemo)
        XCTAssertEqual(forced.runCount, 5)
        // A damaged manifest object: the memo is not used, the items are still all cached.
        let ws = try Workspace(root: dir + "/cache")
        let manifest = try XCTUnwrap(ws.index.runNodes(s1.runID).first { $0.node == "sizes" && $0.port == "labels" }?.tree)
        try overwrite(manifest, in: ws, with: "img0.json\t00\n")
        let sizes = try plan(p).nodes.first { $0.node.id == "sizes" }!
        XCTAssertFalse(sizes.fromMemo)
        XCTAssertEqual(sizes.cachedCount, 5)
        XCTAssertEqual(sizes.outputs["labels"]?.tree, s1.node("sizes")?.outputs["labels"])
    }
}
