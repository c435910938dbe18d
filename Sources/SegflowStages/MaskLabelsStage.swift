import Foundation
import SegflowCore
import SegflowGraph
import SegflowImaging

/// `maskLabels`: image-level labels from ground-truth masks (the classes present in each mask).
public struct MaskLabelsStage: StageImplementation {
    public init() {}
    public let descriptor = StageDescriptor(
        name: "maskLabels", version: 1, inputs: [PortSpec("masks", .masks)], outputs: [PortSpec("labels", .labels)],
        params: [ParamSpec("minFraction", .float, default: .double(0), min: 0, max: 1,
                           doc: "a class counts when it covers at least this fraction of the labelled pixels")],
        granularity: .map, summary: "Image-level labels: the classes present in each mask.")

    public func run(_ call: StageCall) async throws -> StageOutcome {
        let minFraction = call.double("minFraction")
        let lookup = call.classes.channelLookup
        let failures = NativeItems.forEach(call) { stem in
            let mask = try ImageIO.readMask(path: try call.requirePath("masks", stem))
            var hist = [Int](repeating: 0, count: 256)
            mask.pixels.withUnsafeBufferPointer { p in for v in p { hist[Int(v)] += 1 } }
            let labelled = (0..<256).filter { lookup[$0] >= 0 }.reduce(0) { $0 + hist[$1] }
            if let bad = (0..<255).first(where: { hist[$0] > 0 && lookup[$0] < 0 && $0 != call.classes.ignore }) {
                throw ItemError("masks/\(stem).png holds value \(bad), which is not a class id of \(call.classes.source) (and not its ignore id)")
            }
            var names: [String] = []
            for (ch, c) in call.classes.classes.enumerated() where c.id < 255 && lookup[c.id] == ch {
                let n = hist[c.id]
                if n > 0 && Double(n) >= minFraction * Double(max(labelled, 1)) { names.append(c.name) }
            }
            let json = "[" + names.map(JSONText.quote).joined(separator: ",") + "]"
            try Data(json.utf8).write(to: URL(fileURLWithPath: try call.outputPath(port: "labels", file: "\(stem).json")))
        }
        return StageOutcome(itemFailures: failures)
    }
}
