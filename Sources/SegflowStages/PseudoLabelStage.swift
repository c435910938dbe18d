import Foundation
import SegflowCore
import SegflowGraph
import SegflowImaging
import SegflowVision

/// `pseudoLabel`: CAMs + image labels -> masks (argmax over labelled classes, background threshold).
public struct PseudoLabelStage: StageImplementation {
    public init() {}
    public let descriptor = StageDescriptor(
        name: "pseudoLabel", version: 1,
        inputs: [PortSpec("cams", .cams), PortSpec("labels", .labels)], outputs: [PortSpec("masks", .masks)],
        params: [
            ParamSpec("bgThreshold", .float, default: .double(0.2), min: 0, max: 1,
                      doc: "best CAM score below this -> background (or 255 when the classes have no background)"),
            ParamSpec("fgThreshold", .float, default: .double(0), min: 0, max: 1,
                      doc: "IRN-style band when > 0: >= fg -> class, < bg -> background, between -> 255"),
        ],
        granularity: .map, summary: "CAMs -> pseudo masks: argmax over the labelled classes with a background threshold.")

    public func run(_ call: StageCall) async throws -> StageOutcome {
        let labeler = PseudoLabeler(bgThreshold: Float(call.double("bgThreshold")), fgThreshold: Float(call.double("fgThreshold")))
        if labeler.fgThreshold > 0 && labeler.fgThreshold < labeler.bgThreshold {
            throw SegflowError.user("pseudoLabel \(call.node): fgThreshold (\(labeler.fgThreshold)) must be >= bgThreshold (\(labeler.bgThreshold))")
        }
        let failures = NativeItems.forEach(call) { stem in
            let cams = try call.readCAMs("cams", stem)
            let (h, w) = (cams.shape[1], cams.shape[2])
            let allowed = call.classes.channels(named: try call.readLabels("labels", stem))
            let mask = labeler.label(cams: cams.data, channels: cams.shape[0], pixels: h * w, allowed: allowed,
                                     ids: call.classes.ids, background: call.classes.backgroundChannel)
            try ImageIO.writePNG(GrayImage(width: w, height: h, pixels: mask), to: try call.outputPath(port: "masks", file: "\(stem).png"))
        }
        return StageOutcome(itemFailures: failures)
    }
}
