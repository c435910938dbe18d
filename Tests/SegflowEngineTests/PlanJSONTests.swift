import Foundation
import XCTest
import SegflowCore
import SegflowGraph
import SegflowSpec
import SegflowStages
@testable import SegflowEngine

/// `plan --json`: the streaming writer's document, pinned by a snapshot (re-record with SEGFLOW_RECORD=1),
/// and the same data as the Foundation rendering it replaced.
final class PlanJSONTests: XCTestCase {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    func testJSONPlanSnapshotAndSchema() async throws {
        let dir = NSTemporaryDirectory() + "segflow-planjson-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let data = Self.repo + "/pipelines/data/camvid-tiny"
        func write(limit: Int) throws {
            try """
            version: 1
            name: planjson
            classes: \(data)/classes.yaml
            matrix:
              frac: ["0.01", "0.2"]
            stages:
              train: {type: imageFolder, params: {images: \(data)/train, masks: \(data)/trainannot, limit: \(limit)}}
              labels: {type: maskLabels, inputs: {masks: train.masks}, params: {minFraction: "${matrix.frac}"}}
              score: {type: evaluate, inputs: {masks: train.masks, truth: train.masks}}
            """.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        }
        let catalog = try StageCatalog.standard(pluginRoots: [])
        let engine = Engine(workspace: try Workspace(root: dir + "/cache"), catalog: catalog)
        func graph() throws -> PipelineGraph { try PipelineGraph(spec: try PipelineSpec.load(path: dir + "/p.yaml"), registry: catalog.registry) }
        try write(limit: 2)
        _ = try await engine.run(try graph())
        try write(limit: 3)   // one new item everywhere, two cached
        let plan = try engine.plan(try graph())
        let json = PlanRenderer.json(plan)

        XCTAssertFalse(json.contains("\\/"), "no escaped slashes")
        XCTAssertTrue(json.contains("\"id\" : \"frac=0.2/labels/0001TP_006690\""))
        // The same document as Foundation's serializer gave (the schema is unchanged).
        let parsed = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? NSDictionary
        XCTAssertEqual(parsed, try JSONSerialization.jsonObject(with: Self.foundationJSON(plan)) as? NSDictionary)

        let expectedPath = Self.repo + "/Tests/Fixtures/plan/plan.json"
        if ProcessInfo.processInfo.environment["SEGFLOW_RECORD"] != nil || !FileManager.default.fileExists(atPath: expectedPath) {
            try (json + "\n").write(toFile: expectedPath, atomically: true, encoding: .utf8)
            if ProcessInfo.processInfo.environment["SEGFLOW_RECORD"] == nil { XCTFail("recorded a new snapshot plan.json; check it") }
        }
        XCTAssertEqual(json + "\n", try String(contentsOfFile: expectedPath, encoding: .utf8), "snapshot plan.json")
    }

    /// The renderer `plan --json` used before the streaming writer: Foundation objects, JSONSerialization.
    static func foundationJSON(_ plan: Plan) throws -> Data {
        var nodes: [Any] = []
        for n in plan.nodes {
            var obj: [String: Any] = ["id": n.node.id, "stage": n.node.descriptor.name, "status": n.status.rawValue,
                                      "reasons": n.reasons, "run": n.runCount, "cached": n.cachedCount]
            if !n.items.isEmpty {
                obj["items"] = n.items.map { ["id": "\(n.node.id)/\($0.stem)", "status": $0.status.rawValue, "reasons": $0.reasons] as [String: Any] }
            }
            nodes.append(obj)
        }
        let root: [String: Any] = ["summary": ["run": plan.runCount, "cached": plan.cachedCount], "nodes": nodes]
        return try JSONSerialization.data(withJSONObject: root, options: [.sortedKeys, .prettyPrinted])
    }
}
