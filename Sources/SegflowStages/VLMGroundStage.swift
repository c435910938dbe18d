import Foundation
import SegflowCore
import SegflowGraph
import SegflowImaging
import SegflowVLM

/// `vlmGround`: boxes and/or points of the classes in each image from a grounding VLM (Qwen2.5-VL
/// and the like), on cotLabel's servers and transport; with `labels` connected, each image is asked
/// only for its own classes (describe, pick, then ground).
public struct VLMGroundStage: StageImplementation {
    public init() {}
    public let descriptor = StageDescriptor(
        name: "vlmGround", version: 1,
        inputs: [PortSpec("images", .images), PortSpec("labels", .labels, optional: true)],
        outputs: [PortSpec("boxes", .boxes), PortSpec("points", .points), PortSpec("transcripts", .transcripts)],
        params: vlmConnectionParams + [
            ParamSpec("prompt", .file, default: .string(""),
                      doc: "prompt template file ({{classes}}, {{definitions}}, {{width}}, {{height}}); empty = Qwen2.5-VL's grounding prompt"),
            ParamSpec("ask", .string, default: .string("boxes"), choices: GroundConfig.Ask.allCases.map(\.rawValue)),
            ParamSpec("coordinates", .string, default: .string("pixels"), choices: GroundConfig.Coordinates.allCases.map(\.rawValue),
                      doc: "pixels of the image as the model saw it, or 0..1000 per side (Qwen2-VL)"),
            ParamSpec("resize", .string, default: .string("none"), choices: ["none", "qwen"],
                      doc: "qwen: send the image at Qwen2.5-VL's smart_resize size (factor 28, within minPixels..maxPixels)"),
            ParamSpec("minPixels", .int, default: .int(Int64(QwenSmartResize.defaultMinPixels)), min: 1),
            ParamSpec("maxPixels", .int, default: .int(Int64(QwenSmartResize.defaultMaxPixels)), min: 1,
                      doc: "Ollama's qwen2.5vl resizes anything above 1003520 (1280*28*28) again: set that for it"),
        ] + vlmAnswerParams + vlmTransportParams,
        granularity: .map,
        summary: "Boxes and points from a grounding VLM (Qwen2.5-VL bbox_2d/point_2d), mapped to original pixels.")

    func config(_ call: StageCall) throws -> GroundConfig {
        let resize = call.string("resize") == "qwen"
        let config = GroundConfig(
            connection: try call.vlmConnection(stage: "vlmGround"), prompt: try call.promptFile("prompt", stage: "vlmGround"),
            ask: GroundConfig.Ask(rawValue: call.string("ask")) ?? .boxes,
            coordinates: GroundConfig.Coordinates(rawValue: call.string("coordinates")) ?? .pixels,
            pixelBounds: resize ? (min: call.int("minPixels"), max: call.int("maxPixels")) : nil)
        _ = try config.compiledPrompt()
        return config
    }

    public func run(_ call: StageCall) async throws -> StageOutcome {
        let config = try config(call)
        var failures: [String: String] = [:]
        var items: [GroundItem] = []
        for stem in call.items {
            do { items.append(try groundItem(call, stem, config)) } catch { failures[stem] = NativeItems.describe(error) }
        }
        let progress = call.progress
        let results = try await VLMGrounder(config: config).ground(items, progress: { d, t in progress(d, t, nil) })
        var tally = GroundingTally(), dropped = 0, boxes = 0, points = 0
        for r in results {
            try r.transcript.jsonData().write(to: URL(fileURLWithPath: try call.outputPath(port: "transcripts", file: "\(r.stem).json")))
            if let why = r.failure {
                failures[r.stem] = why + (r.rawAnswer.map { "; raw answer: \(String($0.prefix(200)))" } ?? "")
                continue
            }
            try WeakLabelJSON.boxes(r.boxes.map { ($0.label, $0.x0, $0.y0, $0.x1, $0.y1) })
                .write(to: URL(fileURLWithPath: try call.outputPath(port: "boxes", file: "\(r.stem).json")))
            try WeakLabelJSON.points(r.points.map { ($0.label, $0.x, $0.y) })
                .write(to: URL(fileURLWithPath: try call.outputPath(port: "points", file: "\(r.stem).json")))
            dropped += r.dropped.count; boxes += r.boxes.count; points += r.points.count
            tally.swapped += r.tally.swapped; tally.clipped += r.tally.clipped; tally.outside += r.tally.outside
            tally.malformed += r.tally.malformed; tally.unasked += r.tally.unasked; tally.truncated += r.tally.truncated
        }
        func n(_ v: Int) -> CanonicalValue { .int(Int64(v)) }
        return StageOutcome(metrics: [
            "boxes": n(boxes), "points": n(points), "droppedLabels": n(dropped), "swappedBoxes": n(tally.swapped),
            "clipped": n(tally.clipped), "outside": n(tally.outside), "malformedEntries": n(tally.malformed),
            "unaskedEntries": n(tally.unasked), "truncatedAnswers": n(tally.truncated), "failedItems": n(failures.count),
        ], itemFailures: failures)
    }

    /// The image as the model gets it (smart-resized for `resize: qwen`) and the classes to ask for.
    private func groundItem(_ call: StageCall, _ stem: String, _ config: GroundConfig) throws -> GroundItem {
        var image = try call.vlmItem(stem)
        let frame: GroundingFrame
        if let bounds = config.pixelBounds {
            let rgb = try ImageIO.readRGB(path: try call.requirePath("images", stem))
            let seen = try QwenSmartResize.size(height: rgb.height, width: rgb.width, minPixels: bounds.min, maxPixels: bounds.max)
            image = VLMItem(stem: stem, imageData: try ImageIO.encodePNG(resized(rgb, width: seen.width, height: seen.height)),
                            mimeType: "image/png")
            frame = GroundingFrame(width: rgb.width, height: rgb.height, seenWidth: seen.width, seenHeight: seen.height,
                                   coordinates: config.coordinates)
        } else {
            let size = try ImageIO.imageSize(path: try call.requirePath("images", stem))
            frame = GroundingFrame(width: size.width, height: size.height, seenWidth: size.width, seenHeight: size.height,
                                   coordinates: config.coordinates)
        }
        guard call.inputs["labels"] != nil else { return GroundItem(image: image, frame: frame) }
        let names = try call.readLabels("labels", stem)
        let known = call.classes.names
        for name in names where !known.contains(where: { $0.lowercased() == name.lowercased() }) {
            throw ItemError("labels/\(stem).json names '\(name)', which is not a class; fix: one of \(known.joined(separator: ", "))")
        }
        return GroundItem(image: image, frame: frame, classes: call.classes.channels(named: names).map { known[$0] })
    }
}
