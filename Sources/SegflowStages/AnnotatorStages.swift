import Foundation
import SegflowCore
import SegflowGraph
import SegflowImaging
import SegflowVision

// MARK: - Simulated annotators: weak labels from ground-truth masks (the ablation protocol)

/// The parameters every simulated annotator shares.
private let minAreaParam = ParamSpec("minArea", .int, default: .int(100), min: 1,
                                     doc: "connected regions (8-connected, one class) smaller than this get no annotation")
private let seedParam = ParamSpec("seed", .int, default: .int(0), min: 0,
                                  doc: "annotator seed: the same seed gives the same annotations, item by item")

extension StageCall {
    /// Runs an annotator on every item's truth mask and writes what it returns as `<port>/<stem>.<ext>`.
    /// The annotator gets the mask, which pixel values are classes (not 255, not the dataset's ignore id)
    /// and a per-item seed.
    func annotateItems(port: String, ext: String,
                       _ annotate: @escaping (_ mask: GrayImage, _ isLabel: [Bool], _ seed: UInt64) throws -> Data) throws -> StageOutcome {
        guard !classes.classes.isEmpty else {
            throw SegflowError.user("\(node): simulated annotators need the pipeline's classes", hint: "set classes: in the pipeline (or --classes for exec)")
        }
        let isLabel = classes.channelLookup.map { $0 >= 0 }
        let failures = NativeItems.forEach(self) { stem in
            let mask = try ImageIO.readMask(path: try self.requirePath("masks", stem))
            let data = try annotate(mask, isLabel, self.annotatorSeed(stem))
            try data.write(to: URL(fileURLWithPath: try self.outputPath(port: port, file: "\(stem).\(ext)")))
        }
        return StageOutcome(itemFailures: failures)
    }

    /// A per-item seed from the stage's `seed` and the item's stem: an item's annotations do not depend
    /// on which other items are in the run, or in what order they are computed.
    func annotatorSeed(_ stem: String) -> UInt64 {
        let d = Digest.of(Array("segflow.annotator.v1\u{0}\(int("seed"))\u{0}\(stem)".utf8)).bytes
        return d.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    func className(ofID id: UInt8) -> String {
        classes.classes.first { $0.id == Int(id) }?.name ?? "\(id)"
    }
}

/// `maskPoints`: simulated clicks, `perRegion` per connected region, placed well inside it.
public struct MaskPointsStage: StageImplementation {
    public init() {}
    public let descriptor = StageDescriptor(
        name: "maskPoints", version: 1, inputs: [PortSpec("masks", .masks)], outputs: [PortSpec("points", .points)],
        params: [ParamSpec("perRegion", .int, default: .int(1), min: 1, max: 1000, doc: "clicks per region"), minAreaParam, seedParam],
        granularity: .map,
        summary: "Simulated clicks from masks: perRegion per connected region of at least minArea pixels, at its most interior pixels.")

    public func run(_ call: StageCall) async throws -> StageOutcome {
        try call.annotateItems(port: "points", ext: "json") { mask, isLabel, seed in
            let points = SimulatedAnnotator.points(mask: mask.pixels, width: mask.width, height: mask.height, isLabel: isLabel,
                                                   perRegion: call.int("perRegion"), minArea: call.int("minArea"), seed: seed)
            return WeakLabelJSON.points(points.map { (call.className(ofID: $0.classID), $0.x, $0.y) })
        }
    }
}

/// `maskScribbles`: one simulated scribble per connected region, never on another class's pixel.
public struct MaskScribblesStage: StageImplementation {
    public init() {}
    public let descriptor = StageDescriptor(
        // v2: the core keeps pixels at least a tenth (was half) as deep as the deepest.
        name: "maskScribbles", version: 2, inputs: [PortSpec("masks", .masks)], outputs: [PortSpec("scribbles", .scribbles)],
        params: [minAreaParam, ParamSpec("width", .int, default: .int(3), min: 1, max: 64, doc: "scribble width in pixels"), seedParam],
        granularity: .map,
        summary: "Simulated scribbles from masks: the skeleton of each region's eroded core, width pixels wide, inside the region.")

    public func run(_ call: StageCall) async throws -> StageOutcome {
        try call.annotateItems(port: "scribbles", ext: "png") { mask, isLabel, seed in
            let map = SimulatedAnnotator.scribbles(mask: mask.pixels, width: mask.width, height: mask.height, isLabel: isLabel,
                                                   minArea: call.int("minArea"), scribbleWidth: call.int("width"), seed: seed)
            return try ImageIO.encodePNG(GrayImage(width: mask.width, height: mask.height, pixels: map))
        }
    }
}

/// `maskBoxes`: the tight box of each connected region, optionally jittered.
public struct MaskBoxesStage: StageImplementation {
    public init() {}
    public let descriptor = StageDescriptor(
        name: "maskBoxes", version: 1, inputs: [PortSpec("masks", .masks)], outputs: [PortSpec("boxes", .boxes)],
        params: [minAreaParam,
                 ParamSpec("jitter", .float, default: .double(0), min: 0, max: 0.5,
                           doc: "each side moves by up to this fraction of the box's size (sloppy annotators); 0 = tight"),
                 seedParam],
        granularity: .map, summary: "Simulated boxes from masks: the tight box of each connected region of at least minArea pixels.")

    public func run(_ call: StageCall) async throws -> StageOutcome {
        try call.annotateItems(port: "boxes", ext: "json") { mask, isLabel, seed in
            let boxes = SimulatedAnnotator.boxes(mask: mask.pixels, width: mask.width, height: mask.height, isLabel: isLabel,
                                                 minArea: call.int("minArea"), jitter: call.double("jitter"), seed: seed)
            return WeakLabelJSON.boxes(boxes.map { (call.className(ofID: $0.classID), $0.x0, $0.y0, $0.x1, $0.y1) })
        }
    }
}
