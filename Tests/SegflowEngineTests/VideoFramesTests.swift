import Foundation
import XCTest
import SegflowTestSupport
import SegflowCore
import SegflowGraph
import SegflowImaging
import SegflowSpec
import SegflowStages
@testable import SegflowEngine

/// videoFrames on videos made here with the real ffmpeg from CamVid frames: a slow pan (a window sliding
/// over one frame, 3 px per frame) where consecutive frames barely differ but the drift from the last
/// keyframe grows, and a cut between two CamVid frames. The videos are lossless (FFV1), so the expected
/// keyframes are computed here from the PNGs that went in, by the rule written out plainly.
final class VideoFramesTests: XCTestCase {
    var dir: String!
    var frames: [RGBImage] = []
    static let camvid = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("pipelines/data/camvid-tiny/train").path

    override func setUpWithError() throws {
        try XCTSkipIf(VideoDecoder.ffmpegPath() == nil, "ffmpeg is not installed (make deps installs it)")
        dir = try makeTemporaryFolder("video-test")
        try FileManager.default.createDirectory(atPath: dir + "/videos", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/png", withIntermediateDirectories: true)
        let a = try ImageIO.readRGB(path: Self.camvid + "/0001TP_006690.png")
        let b = try ImageIO.readRGB(path: Self.camvid + "/0006R0_f01050.png")
        // 12 pan frames of 160x120 from a, then 4 of b (a cut).
        frames = (0..<12).map { crop(a, x: 3 * $0, y: 20) } + (0..<4).map { crop(b, x: 3 * $0, y: 20) }
        for (i, f) in frames.enumerated() { try ImageIO.writePNG(f, to: String(format: "\(dir!)/png/%03d.png", i)) }
        try ffmpeg(["-framerate", "10", "-i", dir + "/png/%03d.png", "-c:v", "ffv1", "-pix_fmt", "bgr0", dir + "/videos/walk.mkv"])
        try ffmpeg(["-framerate", "10", "-i", dir + "/png/%03d.png", "-frames:v", "6", "-c:v", "ffv1", "-pix_fmt", "bgr0", dir + "/videos/short.mkv"])
        try pipeline(threshold: 30)
    }

    func crop(_ img: RGBImage, x: Int, y: Int, w: Int = 160, h: Int = 120) -> RGBImage {
        var px: [UInt8] = []
        for row in y..<(y + h) { px += img.pixels[((row * img.width + x) * 3)..<((row * img.width + x + w) * 3)] }
        return RGBImage(width: w, height: h, pixels: px)
    }

    func ffmpeg(_ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: VideoDecoder.ffmpegPath()!)
        p.arguments = ["-nostdin", "-v", "error", "-y"] + args
        try p.run(); p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "ffmpeg \(args)")
    }

    func pipeline(threshold: Double, every: Int = 1, maxFrames: Int = 0) throws {
        try """
        version: 1
        name: vf
        classes: [a, b]
        stages:
          frames: {type: videoFrames, params: {videos: videos, selectThreshold: \(threshold), every: \(every), maxFrames: \(maxFrames)}}
        """.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
    }

    func engine() throws -> (Engine, PipelineGraph) {
        let catalog = try StageCatalog.standard(pluginRoots: [])
        let engine = Engine(workspace: try Workspace(root: dir + "/cache"), catalog: catalog)
        return (engine, try PipelineGraph(spec: try PipelineSpec.load(path: dir + "/p.yaml"), registry: catalog.registry))
    }

    /// The rule, plainly: BT.601 gray, mean |difference| to the last kept frame, kept when above the threshold.
    func expectedKept(_ frames: [RGBImage], threshold: Double, every: Int = 1) -> [Int] {
        func gray(_ f: RGBImage) -> [Double] {
            var g: [Double] = []
            for i in stride(from: 0, to: f.pixels.count, by: 3) {
                let r = Double(f.pixels[i]), gr = Double(f.pixels[i + 1]), b = Double(f.pixels[i + 2])
                g.append(((299 * r + 587 * gr + 114 * b) / 1000).rounded())
            }
            return g
        }
        var kept: [Int] = []
        for i in stride(from: 0, to: frames.count, by: every) {
            guard let last = kept.last else { kept.append(i); continue }
            var total = 0.0
            for (x, y) in zip(gray(frames[i]), gray(frames[last])) { total += abs(x - y) }
            let d = total / Double(frames[i].width * frames[i].height)
            if threshold == 0 || d > threshold { kept.append(i) }
        }
        return kept
    }

    func names(_ s: RunSummary) -> [String] { (s.node("frames")?.outputs["images"]?.files.keys.sorted()) ?? [] }

    func testKeyframesForTwoThresholdsThenCachedRenamedAndReencoded() async throws {
        let (e, graph) = try engine()
        let s1 = try await e.run(graph)
        let kept30 = expectedKept(frames, threshold: 30)
        // The point of comparing with the last KEPT frame: consecutive frames of the pan never differ by
        // the threshold, yet the pan yields keyframes.
        let consecutive = (1..<12).filter { i in expectedKept([frames[i - 1], frames[i]], threshold: 30).count == 2 }
        XCTAssertEqual(consecutive, [], "the pan must be slow for this test to mean anything")
        XCTAssertGreaterThan(kept30.filter { $0 > 0 && $0 < 12 }.count, 0, "the drift must produce keyframes inside the pan")
        XCTAssertTrue(kept30.contains(12), "the cut is a keyframe")
        let walk30 = kept30.map { String(format: "walk_%06d.png", $0) }
        let short30 = expectedKept(Array(frames.prefix(6)), threshold: 30).map { String(format: "short_%06d.png", $0) }
        XCTAssertEqual(names(s1), (short30 + walk30).sorted())
        // Frames are the pixels that went in (a lossless video), as PNG.
        let tree = try XCTUnwrap(s1.node("frames")?.outputs["images"])
        for k in kept30 {
            let d = try XCTUnwrap(tree.files[String(format: "walk_%06d.png", k)])
            XCTAssertEqual(try ImageIO.decodeRGB(data: try e.workspace.objects.read(d), name: "frame \(k)"), frames[k], "frame \(k)")
        }
        // Lineage names the video and the frame's time (10 frames per second).
        let last = try XCTUnwrap(kept30.last)
        let record = try XCTUnwrap(try e.workspace.index.results(producing: tree.files[String(format: "walk_%06d.png", last)]!)
            .first { $0.item == String(format: "walk_%06d", last) })
        XCTAssertTrue(record.inputs.contains(dir + "/videos/walk.mkv"), record.inputs)
        XCTAssertTrue(record.inputs.contains("\"seconds\":\(Double(last) / 10)"), record.inputs)
        XCTAssertTrue(record.inputs.contains("\"frame\":\(last)"), record.inputs)

        // A second run: all cached, nothing decoded.
        let s2 = try await e.run(graph)
        XCTAssertEqual(s2.node("frames")?.ran, 0)
        XCTAssertEqual(names(s2), names(s1))

        // Another threshold, and every 2nd frame: only the new params' work runs, with the expected frames.
        try pipeline(threshold: 8, every: 2)
        let (e8, graph8) = try engine()
        let s8 = try await e8.run(graph8)
        let kept8 = expectedKept(frames, threshold: 8, every: 2)
        XCTAssertNotEqual(kept8, kept30)
        XCTAssertEqual(names(s8), (expectedKept(Array(frames.prefix(6)), threshold: 8, every: 2).map { String(format: "short_%06d.png", $0) }
                                   + kept8.map { String(format: "walk_%06d.png", $0) }).sorted())
        XCTAssertEqual(try e8.plan(graph8).nodes[0].runCount, 0)

        // maxFrames stops each video after that many keyframes.
        try pipeline(threshold: 0, maxFrames: 3)
        let (e0, graph0) = try engine()
        let s0 = try await e0.run(graph0)
        XCTAssertEqual(names(s0), ["short_000000.png", "short_000001.png", "short_000002.png",
                                                          "walk_000000.png", "walk_000001.png", "walk_000002.png"])

        // A renamed video is not extracted again; its items take the new name.
        try pipeline(threshold: 30)
        try FileManager.default.moveItem(atPath: dir + "/videos/walk.mkv", toPath: dir + "/videos/pan.mkv")
        let (e2, graph2) = try engine()
        let plan = try e2.plan(graph2).nodes[0]
        XCTAssertEqual(plan.runCount, 0, "\(plan.items.filter { $0.status == .run }.map(\.reasons))")
        let s3 = try await e2.run(graph2)
        XCTAssertEqual(s3.node("frames")?.ran, 0)
        XCTAssertEqual(names(s3), (short30 + kept30.map { String(format: "pan_%06d.png", $0) }).sorted())

        // A re-encoded video (other bytes, same pictures) re-extracts, and only itself.
        try FileManager.default.removeItem(atPath: dir + "/videos/short.mkv")
        try ffmpeg(["-framerate", "10", "-i", dir + "/png/%03d.png", "-frames:v", "6", "-c:v", "ffv1", "-level", "3",
                    "-pix_fmt", "bgr0", dir + "/videos/short.mkv"])
        let (e3, graph3) = try engine()
        let replan = try e3.plan(graph3).nodes[0]
        XCTAssertEqual(replan.items.filter { $0.status == .run }.map(\.stem), ["short"])
        XCTAssertEqual(replan.items.filter { $0.status == .run }.map(\.reasons), [["new input: videos/short.mkv"]])
        let s4 = try await e3.run(graph3)
        XCTAssertEqual(s4.node("frames")?.ran, short30.count)
        XCTAssertEqual(s4.node("frames")?.cached, kept30.count)
        XCTAssertEqual(names(s4), names(s3))
    }

    /// `segflow lineage` of one keyframe: the node, the stage type, the params that differ from the defaults,
    /// the video file and where in it the frame was (index and time), from the frame's own result row.
    func testLineageOfAFrameNamesTheVideoTheFrameTheTimeAndTheParams() async throws {
        try pipeline(threshold: 20, every: 2, maxFrames: 3)
        let (e, graph) = try engine()
        let s = try await e.run(graph)
        let kept = Array(expectedKept(frames, threshold: 20, every: 2).prefix(3))
        XCTAssertEqual(kept.count, 3, "the pan and the cut give more than maxFrames keyframes")
        let frame = try XCTUnwrap(kept.last)
        let name = String(format: "walk_%06d", frame)
        let object = try XCTUnwrap(s.node("frames")?.outputs["images"]?.files[name + ".png"])
        for _ in 0..<3 {   // the frame's row is chosen over the video's whole row every time, not by luck
            let lineage = try Lineage.walk(from: object, target: name + ".png", workspace: e.workspace, registry: e.catalog.registry)
            XCTAssertEqual(lineage.steps.count, 1)
            let step = try XCTUnwrap(lineage.steps.first)
            XCTAssertEqual(step.node, "frames")
            XCTAssertEqual(step.stage, "videoFrames")
            XCTAssertEqual(step.item, name)
            XCTAssertEqual(step.params.map(\.name), ["every", "maxFrames", "selectThreshold"])
            XCTAssertEqual(step.params.map(\.value), ["2", "3", "20"])
            let input = try XCTUnwrap(step.inputs.first)
            XCTAssertEqual(step.inputs.count, 1)
            XCTAssertEqual(input.datasetFile, dir + "/videos/walk.mkv")
            XCTAssertEqual(input.at.map(\.name), ["frame", "seconds"])
            XCTAssertEqual(input.at.first?.value, "\(frame)")
            XCTAssertEqual(Double(input.at.last?.value ?? "") ?? -1, Double(frame) / 10, accuracy: 1e-6, "10 frames per second")
            XCTAssertTrue(lineage.text.contains("videos <- dataset file \(dir!)/videos/walk.mkv, at frame \(frame), seconds "), lineage.text)
            XCTAssertTrue(lineage.text.contains("params: every=2, maxFrames=3, selectThreshold=20"), lineage.text)
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(lineage.json.utf8)) as? [String: Any])
            let inputs = try XCTUnwrap(((json["steps"] as? [[String: Any]])?.first?["inputs"] as? [[String: Any]])?.first)
            XCTAssertEqual((inputs["at"] as? [String: Any])?["frame"] as? Int, frame)
        }
    }

    func testATruncatedOrUnreadableVideoIsAnErrorNamingTheFile() async throws {
        let whole = try Data(contentsOf: URL(fileURLWithPath: dir + "/videos/walk.mkv"))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: dir + "/videos/walk.mkv"))
        for bad in ["walk.mkv", "notes.mp4"] {
            if bad == "notes.mp4" {
                try FileManager.default.removeItem(atPath: dir + "/videos/walk.mkv")
                try Data("not a video at all".utf8).write(to: URL(fileURLWithPath: dir + "/videos/notes.mp4"))
            }
            let (e, graph) = try engine()
            let s = try await e.run(graph)
            let node = try XCTUnwrap(s.node("frames"))
            XCTAssertEqual(node.status, "failed")
            let message = node.error ?? ""
            XCTAssertTrue(message.contains(dir + "/videos/" + bad), message)
            XCTAssertTrue(message.contains("FFmpeg cannot decode it"), message)
            // Nothing of the bad video is recorded: the next run tries it again.
            XCTAssertEqual(try e.plan(graph).nodes[0].items.filter { $0.status == .run }.map(\.stem), [FileTree.stem(of: bad)])
        }
    }

    func testAMissingFolderIsAUserErrorAtItsLine() throws {
        try FileManager.default.removeItem(atPath: dir + "/videos")
        XCTAssertThrowsError(try engine()) { XCTAssertTrue("\($0)".contains("p.yaml:5:48: error: param 'videos' of stage 'frames': no such folder"), "\($0)") }
    }
}
