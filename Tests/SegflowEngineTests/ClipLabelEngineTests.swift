import Foundation
import XCTest
import SegflowCore
import SegflowGraph
import SegflowSpec
import SegflowStages
@testable import SegflowEngine

/// clipLabel through the engine and the real torch plugin, on a tiny random open_clip model made here:
/// labels and scores reach labelEval, whose sweep at clipLabel's threshold agrees with the labels; the
/// checkpoint enters the key by content. Needs the plugin's environment (`make test` installs it).
final class ClipLabelEngineTests: XCTestCase {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    func testLabelsAndScoresReachLabelEvalAndTheCheckpointKeysByContent() async throws {
        let plugin = try Plugin.load(directory: Self.repo + "/plugins/torch")
        let env = PluginEnvironment(plugin: plugin)
        guard env.isReady else { throw XCTSkip("the torch plugin environment is not installed: run `segflow plugins install`") }
        let dir = NSTemporaryDirectory() + "segflow-clip-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/frames", withIntermediateDirectories: true)
        let stems = ["0001TP_006690", "0006R0_f01050", "0016E5_00780"]
        for s in stems { try fm.copyItem(atPath: "\(Self.repo)/pipelines/data/camvid-tiny/train/\(s).png", toPath: "\(dir)/frames/\(s).png") }
        try "0001TP_006690,Sky;Road\n0006R0_f01050,Road;Car\n0016E5_00780,Sky\n".write(toFile: dir + "/truth.csv", atomically: true, encoding: .utf8)
        try makeTinyModels(env.python, dir)
        try """
        version: 1
        name: clip
        classes: [Sky, Road, Car]
        stages:
          frames: {type: imageFolder, params: {images: frames}}
          truth: {type: labelFile, params: {file: truth.csv}}
          clip:
            type: clipLabel
            inputs: {images: frames.images}
            params: {model: tiny-clip, modelConfig: tiny.json, checkpoint: tiny.pt, templates: ["a photo of {}.", "a street with {}."], threshold: 0.3}
          eval: {type: labelEval, inputs: {labels: clip.labels, truth: truth.labels, scores: clip.scores}, params: {thresholdStep: 0.1}}
        """.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)

        func run() async throws -> RunSummary {
            let catalog = try StageCatalog.standard(pluginRoots: [Self.repo + "/plugins"])
            let engine = Engine(workspace: try Workspace(root: dir + "/cache"), catalog: catalog)
            let s = try await engine.run(try PipelineGraph(spec: try PipelineSpec.load(path: dir + "/p.yaml"), registry: catalog.registry))
            for n in s.nodes where n.status == "failed" || n.failed > 0 { XCTFail("\(n.node): \(n.error ?? "")") }
            return s
        }
        let s1 = try await run()
        XCTAssertEqual(s1.node("clip")?.ran, 3)
        XCTAssertEqual(s1.node("clip")?.outputs["scores"]?.files.keys.sorted(), stems.sorted().map { "\($0).json" })
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/cache/results/clip/eval/metrics/metrics.json"))) as! [String: Any]
        let sweep = try XCTUnwrap(metrics["thresholds"] as? [[String: Any]])
        XCTAssertEqual(sweep.count, 11)
        // At clipLabel's own threshold the sweep over its scores scores exactly its labels.
        let atThreshold = try XCTUnwrap(sweep.first { abs(($0["threshold"] as! Double) - 0.3) < 1e-9 })
        for key in ["macroF1", "microF1", "macroPrecision", "microRecall"] {
            XCTAssertEqual(atThreshold[key] as! Double, metrics[key] as! Double, accuracy: 1e-12, key)
        }

        let s2 = try await run()
        XCTAssertEqual(s2.ran, 0, "a second run is all cached")
        try fm.removeItem(atPath: dir + "/tiny.pt")
        try fm.copyItem(atPath: dir + "/tiny-other.pt", toPath: dir + "/tiny.pt")
        let s3 = try await run()
        XCTAssertEqual(s3.node("clip")?.ran, 3, "other weights in the same checkpoint file: clip runs again")
    }

    /// A one-layer open_clip config and two randomly initialised checkpoints of it (`tiny.pt`, seed 0, and
    /// `tiny-other.pt`, seed 1), built by the plugin's python.
    func makeTinyModels(_ python: String, _ dir: String) throws {
        let script = """
        import json, os, sys, tempfile
        os.environ["HF_HUB_OFFLINE"] = "1"
        import open_clip, torch
        cfg = {"embed_dim": 16, "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 16},
               "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}}
        d = sys.argv[1]
        json.dump(cfg, open(os.path.join(d, "tiny.json"), "w"))
        reg = tempfile.mkdtemp()
        json.dump(cfg, open(os.path.join(reg, "tiny-clip.json"), "w"))
        open_clip.add_model_config(reg)
        for seed, name in ((0, "tiny.pt"), (1, "tiny-other.pt")):
            torch.manual_seed(seed)
            torch.save(open_clip.create_model("tiny-clip", pretrained=None).state_dict(), os.path.join(d, name))
        """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = ["-c", script, dir]
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "making the tiny model")
    }
}
