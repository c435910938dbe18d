import Foundation
import XCTest
import SegflowCore
import SegflowGraph
import SegflowSpec
import SegflowStages
@testable import SegflowEngine

/// The real PyTorch plugin through the engine, on four sample images at small size, one epoch.
/// Needs the plugin's environment (`segflow plugins install`, which `make test` runs first).
final class TorchPluginTests: XCTestCase {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    func testStagesRunCacheAndRerunOnlyAfterPluginEdit() async throws {
        let dir = NSTemporaryDirectory() + "segflow-torch-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/plugins", withIntermediateDirectories: true)
        try fm.copyItem(atPath: Self.repo + "/plugins/torch", toPath: dir + "/plugins/torch")
        let plugin = try Plugin.load(directory: dir + "/plugins/torch")
        guard PluginEnvironment(plugin: plugin).isReady else {
            throw XCTSkip("the torch plugin environment is not installed: run `segflow plugins install` (make test does)")
        }
        let data = Self.repo + "/pipelines/data/camvid-tiny"
        let list = ["0001TP_006690", "0006R0_f01050", "0016E5_00780", "0006R0_f02370"]
        try list.map { "train/\($0).png trainannot/\($0).png" }.joined(separator: "\n").write(toFile: dir + "/list.txt", atomically: true, encoding: .utf8)
        let yaml = """
        version: 1
        name: torch
        classes: \(data)/classes.yaml
        stages:
          train: {type: imageFolder, params: {images: \(data)/train, list: list.txt}}
          labels: {type: maskLabels, inputs: {masks: train.masks}, params: {minFraction: 0.02}}
          classifier: {type: classifierTrain, inputs: {images: train.images, labels: labels.labels}, params: {epochs: 1, batch: 4, imageSize: 64, valFraction: 0}}
          cams: {type: cam, inputs: {images: train.images, model: classifier.model, labels: labels.labels}, params: {imageSize: 64}}
          pseudo: {type: pseudoLabel, inputs: {cams: cams.cams, labels: labels.labels}}
          unet: {type: unetTrain, inputs: {images: train.images, masks: pseudo.masks}, params: {epochs: 1, batch: 2, scale: 0.25, valFraction: 0}}
          predictions: {type: predict, inputs: {images: train.images, model: unet.model}}
        """
        // The list names images relative to its own folder: point it at the sample.
        try list.map { "\(data)/train/\($0).png \(data)/trainannot/\($0).png" }.joined(separator: "\n")
            .write(toFile: dir + "/list.txt", atomically: true, encoding: .utf8)
        try yaml.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)

        func run() async throws -> RunSummary {
            let catalog = try StageCatalog.standard(pluginRoots: [dir + "/plugins"])
            let engine = Engine(workspace: try Workspace(root: dir + "/cache"), catalog: catalog)
            let s = try await engine.run(try PipelineGraph(spec: try PipelineSpec.load(path: dir + "/p.yaml"), registry: catalog.registry))
            for n in s.nodes where n.status == "failed" { XCTFail("\(n.node): \(n.error ?? "")") }
            return s
        }
        let s1 = try await run()
        XCTAssertEqual(s1.node("classifier")?.outputs["model"]?.files.keys.sorted(), ["meta.json", "model.pt"])
        XCTAssertEqual(s1.node("cams")?.outputs["cams"]?.files.count, 4)
        XCTAssertEqual(s1.node("predictions")?.outputs["masks"]?.files.count, 4)
        // A CAM is float32 (C, H, W) at image resolution: 11 classes, 180x240.
        let camFile = try XCTUnwrap(s1.node("cams")?.outputs["cams"]?.files["0001TP_006690.npy"])
        let header = try Workspace(root: dir + "/cache").objects.read(camFile).prefix(128)
        XCTAssertTrue(String(decoding: header, as: UTF8.self).contains("'shape': (11, 180, 240)"), String(decoding: header, as: UTF8.self))

        let s2 = try await run()
        XCTAssertEqual(s2.ran, 0, "a second run is all cached")

        // Edit a plugin source file: exactly the plugin's stages rerun; native ones stay cached
        // (same seed, same outputs: early cutoff keeps pseudoLabel cached).
        let worker = dir + "/plugins/torch/worker.py"
        try (try String(contentsOfFile: worker, encoding: .utf8) + "\n# edited\n").write(toFile: worker, atomically: true, encoding: .utf8)
        let s3 = try await run()
        XCTAssertEqual(s3.node("classifier")?.ran, 1)
        XCTAssertEqual(s3.node("cams")?.ran, 4)
        XCTAssertEqual(s3.node("unet")?.ran, 1)
        XCTAssertEqual(s3.node("predictions")?.ran, 4)
        XCTAssertEqual(s3.node("labels")?.ran, 0)
        XCTAssertEqual(s3.node("pseudo")?.ran, 0, "deterministic CAMs: the native stage below stays cached")
    }
}
