import Foundation
import XCTest
import SegflowCore
import SegflowGraph
import SegflowSpec
import SegflowStages
@testable import SegflowEngine

/// The repository's labelling pipelines validate and plan as committed (no videos yet: no items),
/// with the real torch plugin's stage table, and wire what their READMEs say they wire.
final class LabellingPipelineTests: XCTestCase {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    func plan(_ name: String) throws -> (PipelineGraph, Plan) {
        let dir = NSTemporaryDirectory() + "segflow-pipelines-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let catalog = try StageCatalog.standard(pluginRoots: [Self.repo + "/plugins"])
        let graph = try PipelineGraph(spec: try PipelineSpec.load(path: "\(Self.repo)/pipelines/\(name).yaml"), registry: catalog.registry)
        let engine = Engine(workspace: try Workspace(root: dir), catalog: catalog)
        return (graph, try engine.plan(graph))
    }

    func testTerrainVideoPlans() throws {
        let (graph, plan) = try plan("terrain-video")
        XCTAssertEqual(plan.nodes.map(\.node.id).sorted(), ["cot", "frames", "ground", "masks", "unet"])
        let ground = try XCTUnwrap(graph.nodes.first { $0.id == "ground" })
        XCTAssertEqual(ground.descriptor.name, "vlmGround")
        XCTAssertEqual(ground.inputs["labels"]?.node, "cot", "grounding is restricted to the picked labels")
        XCTAssertEqual(ground.params["resize"]?.stringValue, "qwen")
        XCTAssertEqual(graph.nodes.first { $0.id == "masks" }?.inputs["boxes"]?.node, "ground")
    }

    func testClipLabelsPlans() throws {
        let (graph, plan) = try plan("clip-labels")
        XCTAssertEqual(plan.nodes.map(\.node.id).sorted(), ["clip", "eval", "frames", "truth"])
        let clip = try XCTUnwrap(graph.nodes.first { $0.id == "clip" })
        XCTAssertEqual(clip.descriptor.plugin, "torch")
        XCTAssertEqual(clip.params["templates"]?.listValue?.count, 3)
        XCTAssertEqual(graph.nodes.first { $0.id == "eval" }?.inputs["labels"]?.node, "clip")
        XCTAssertEqual(graph.nodes.first { $0.id == "eval" }?.inputs["scores"]?.port, "scores", "P/R over thresholds from the scores")
    }

    func testClipLabelIsDeclaredWithItsListAndFileParams() throws {
        let plugin = try Plugin.load(directory: Self.repo + "/plugins/torch")
        let clip = try XCTUnwrap(plugin.stages.first { $0.name == "clipLabel" })
        XCTAssertEqual(clip.outputs.map(\.typeName), ["Labels", "Scores"])
        XCTAssertEqual(clip.param("templates")?.type, .stringList)
        XCTAssertEqual(clip.param("templates")?.defaultValue, .list([.string("a photo of {}.")]))
        XCTAssertEqual(clip.param("checkpoint")?.type, .file)
        XCTAssertEqual(clip.param("threshold")?.defaultValue, .double(0.2))
    }

    /// terrain-video as committed, on a short video made here with FFmpeg and a scripted Ollama:
    /// keyframes -> describe -> pick -> ground (only the picked classes) -> box masks.
    func testTerrainVideoRunsToBoxMasksAgainstAScriptedOllama() async throws {
        let dir = NSTemporaryDirectory() + "segflow-terrain-video-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/terrain-video/videos", withIntermediateDirectories: true)
        try fm.copyItem(atPath: Self.repo + "/pipelines/terrain-video.yaml", toPath: dir + "/terrain-video.yaml")
        try fm.copyItem(atPath: Self.repo + "/pipelines/prompts", toPath: dir + "/prompts")
        // Three different CamVid frames, five video frames each: every 5th frame is a keyframe.
        let frames = ["0001TP_006690", "0006R0_f01050", "0016E5_00780"]
        for (i, stem) in frames.enumerated() {
            for k in 0..<5 {
                try fm.copyItem(atPath: "\(Self.repo)/pipelines/data/camvid-tiny/train/\(stem).png", toPath: String(format: "%@/f%03d.png", dir, i * 5 + k))
            }
        }
        let ffmpeg = Process()
        ffmpeg.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        ffmpeg.arguments = ["ffmpeg", "-loglevel", "error", "-y", "-framerate", "5", "-i", dir + "/f%03d.png",
                            "-c:v", "libx264", "-pix_fmt", "yuv420p", dir + "/terrain-video/videos/run1.mp4"]
        do { try ffmpeg.run() } catch { throw XCTSkip("ffmpeg is needed: \(error)") }
        ffmpeg.waitUntilExit()
        XCTAssertEqual(ffmpeg.terminationStatus, 0)

        let server = try FakeVLMServer(rules: [
            ["prompt": "Describe the scene", "responses": [["text": "Bottom half: grey asphalt road. Left: green grass."]]],
            ["prompt": "<description>", "responses": [["text": #"The road is cement road, the grass is lawn. {"annotations": ["cement road", "grass"]}"#]]],
            // 240x180 frames are seen at 252x168.
            ["prompt": "Locate every ground surface", "responses": [["text": #"```json\n[{"bbox_2d": [0, 84, 252, 168], "label": "cement road"}, {"bbox_2d": [0, 0, 63, 84], "label": "lawn"}]\n```"#]]],
        ])
        defer { server.stop() }
        let catalog = try StageCatalog.standard(pluginRoots: [Self.repo + "/plugins"])
        let spec = try PipelineSpec.load(path: dir + "/terrain-video.yaml", overrides: ["url": server.url])
        let graph = try PipelineGraph(spec: spec, registry: catalog.registry).restricted(to: ["masks"])
        let engine = Engine(workspace: try Workspace(root: dir + "/cache"), catalog: catalog)
        let s = try await engine.run(graph)
        for n in s.nodes where n.status == "failed" || n.failed > 0 { XCTFail("\(n.node): \(n.error ?? "")") }
        XCTAssertEqual(s.node("frames")?.outputs["images"]?.files.count, 3)
        XCTAssertEqual(s.node("masks")?.outputs["masks"]?.files.count, 3)
        let boxes = try XCTUnwrap(s.node("ground")?.outputs["boxes"]?.files.values.first)
        XCTAssertEqual(String(decoding: try engine.workspace.objects.read(boxes), as: UTF8.self),
                       #"{"boxes":[{"class":"cement road","x0":0,"y0":90,"x1":240,"y1":180},{"class":"lawn","x0":0,"y0":0,"x1":60,"y1":90}]}"# + "\n")
        let groundPrompts = server.bodies().compactMap { (($0["messages"] as? [[String: Any]])?.first?["content"] as? String) }
            .filter { $0.contains("Locate every ground surface") }
        XCTAssertEqual(groundPrompts.count, 3)
        XCTAssertTrue(groundPrompts.allSatisfy { $0.contains("- cement road\n- lawn\n") && !$0.contains("- curb") },
                      "grounding asks only for the picked classes")
    }
}
