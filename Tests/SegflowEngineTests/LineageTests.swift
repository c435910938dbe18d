import Foundation
import XCTest
import SegflowCore
import SegflowGraph
import SegflowSpec
import SegflowStages
@testable import SegflowEngine

/// `segflow lineage` of the U-Net a quickstart-shaped pipeline trains (image-level labels -> classifier ->
/// CAMs -> DenseCRF masks -> U-Net, real torch plugin, 4 images, one epoch): every upstream stage is
/// named, with its params and run, back to the dataset files. Snapshot: re-record with SEGFLOW_RECORD=1.
final class LineageTests: XCTestCase {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    func testModelLineageNamesEveryUpstreamStage() async throws {
        let plugin = try Plugin.load(directory: Self.repo + "/plugins/torch")
        guard PluginEnvironment(plugin: plugin).isReady else {
            throw XCTSkip("the torch plugin environment is not installed: run `segflow plugins install` (make test does)")
        }
        let dir = URL(fileURLWithPath: NSTemporaryDirectory() + "segflow-lineage-\(UUID().uuidString.prefix(8))").standardized.path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let data = Self.repo + "/pipelines/data/camvid-tiny"
        let list = ["0001TP_006690", "0006R0_f01050", "0016E5_00780", "0006R0_f02370"]
        try list.map { "\(data)/train/\($0).png \(data)/trainannot/\($0).png" }.joined(separator: "\n")
            .write(toFile: dir + "/list.txt", atomically: true, encoding: .utf8)
        // The quickstart's image-label branch, small: its node names and matrix axis.
        try """
        version: 1
        name: lineage
        classes: \(data)/classes.yaml
        matrix:
          masks: [fromImageLabels]
        stages:
          train: {type: imageFolder, params: {images: \(data)/train, list: list.txt}}
          labels: {type: maskLabels, inputs: {masks: train.masks}, params: {minFraction: 0.01}}
          classifier: {type: classifierTrain, inputs: {images: train.images, labels: labels.labels}, params: {epochs: 1, batch: 4, imageSize: 64, valFraction: 0}}
          cams: {type: cam, inputs: {images: train.images, model: classifier.model, labels: labels.labels}, params: {imageSize: 64}}
          fromImageLabels: {type: crf, inputs: {images: train.images, cams: cams.cams}, params: {unary: cams, alpha: 8}}
          unet: {type: unetTrain, inputs: {images: train.images, masks: "${matrix.masks}.masks"}, params: {epochs: 1, batch: 2, scale: 0.25, valFraction: 0}}
        """.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        let catalog = try StageCatalog.standard(pluginRoots: [Self.repo + "/plugins"])
        let ws = try Workspace(root: dir + "/cache")
        let graph = try PipelineGraph(spec: try PipelineSpec.load(path: dir + "/p.yaml"), registry: catalog.registry)
        let summary = try await Engine(workspace: ws, catalog: catalog).run(graph)
        for n in summary.nodes where n.status == "failed" { XCTFail("\(n.node): \(n.error ?? "")") }
        let model = try XCTUnwrap(summary.node("masks=fromImageLabels/unet")?.outputs["model"]?.files["model.pt"])

        let lineage = try Lineage.walk(from: model, target: "model.pt", workspace: ws, registry: catalog.registry)
        XCTAssertEqual(lineage.steps.map(\.node), ["masks=fromImageLabels/unet", "train", "fromImageLabels", "cams", "labels", "classifier"])
        XCTAssertEqual(lineage.steps.map(\.stage), ["unetTrain", "imageFolder", "crf", "cam", "maskLabels", "classifierTrain"])
        // Only the params that differ from the defaults (unary: cams is crf's default), and the file param
        // by its path and digest.
        XCTAssertEqual(lineage.steps[2].params.map(\.name), ["alpha"])
        XCTAssertEqual(lineage.steps[2].params.first?.value, "8")
        XCTAssertEqual(lineage.steps[5].params.map(\.name), ["batch", "epochs", "imageSize", "valFraction"])
        let listParam = try XCTUnwrap(lineage.steps[1].params.first { $0.name == "list" })
        XCTAssertEqual(listParam.path, dir + "/list.txt")
        XCTAssertEqual(listParam.value, "\"\(try Digest.ofFile(at: dir + "/list.txt").hex)\"")
        // Back to the dataset: the source step names the imported files.
        XCTAssertTrue(lineage.steps[1].inputs.contains { $0.datasetFile == "\(data)/train/\(list[0]).png" }, "\(lineage.steps[1].inputs)")

        let expectedPath = Self.repo + "/Tests/Fixtures/lineage/model.expected"
        let text = Self.normalized(lineage.text, dir: dir)
        if ProcessInfo.processInfo.environment["SEGFLOW_RECORD"] != nil || !FileManager.default.fileExists(atPath: expectedPath) {
            try FileManager.default.createDirectory(atPath: Self.repo + "/Tests/Fixtures/lineage", withIntermediateDirectories: true)
            try (text + "\n").write(toFile: expectedPath, atomically: true, encoding: .utf8)
            if ProcessInfo.processInfo.environment["SEGFLOW_RECORD"] == nil { XCTFail("recorded a new snapshot model.expected; check it") }
        }
        XCTAssertEqual(text + "\n", try String(contentsOfFile: expectedPath, encoding: .utf8), "snapshot model.expected")

        // --json for tools: the same steps; --depth 1 stops at the U-Net and says why.
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(lineage.json.utf8)) as? [String: Any])
        XCTAssertEqual((json["steps"] as? [[String: Any]])?.compactMap { $0["node"] as? String }, lineage.steps.map(\.node))
        let one = try Lineage.walk(from: model, target: "model.pt", workspace: ws, registry: catalog.registry, depth: 1)
        XCTAssertEqual(one.steps.count, 1)
        XCTAssertEqual(one.steps[0].inputs.map(\.note), ["beyond --depth 1", "beyond --depth 1"])
    }

    /// Digests, times and folders that differ between runs and machines, replaced by placeholders.
    static func normalized(_ text: String, dir: String) -> String {
        text.replacingOccurrences(of: dir, with: "<tmp>").replacingOccurrences(of: repo, with: "<repo>")
            .replacing(#/[0-9a-f]{12,64}/#, with: "<digest>")
            .replacing(#/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/#, with: "<time>")
    }
}
