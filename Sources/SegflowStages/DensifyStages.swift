import Foundation
import SegflowCore
import SegflowGraph
import SegflowImaging
import SegflowVision

// MARK: - Densifiers: sparse weak labels -> pseudo masks on the DenseCRF engine

/// The CRF params of the densifiers: IRN's (gaussian 3/3, bilateral 50/5/10, 10 iterations), with a
/// label-confidence `gtProb` and an optional confidence floor.
private let densifyParams: [ParamSpec] = [
    ParamSpec("gtProb", .float, default: .double(0.9), min: 0.01, max: 0.99,
              doc: "probability a labelled pixel gives its class (the rest spread evenly; pydensecrf unary_from_labels)"),
    ParamSpec("sxyGaussian", .float, default: .double(3), min: 0.01),
    ParamSpec("compatGaussian", .float, default: .double(3), min: 0),
    ParamSpec("sxyBilateral", .float, default: .double(50), min: 0.01),
    ParamSpec("srgb", .float, default: .double(5), min: 0.01),
    ParamSpec("compatBilateral", .float, default: .double(10), min: 0),
    ParamSpec("iterations", .int, default: .int(10), min: 0, max: 100),
    ParamSpec("minConfidence", .float, default: .double(0), min: 0, max: 1,
              doc: "pixels whose final marginal stays below this become 255 (ignored by training and scoring); 0 keeps all"),
]

extension StageCall {
    /// The DenseCRF kernels from the params every CRF stage shares (`crf`, `seedCRF`, `boxMasks`).
    var denseCRFParams: DenseCRFParams {
        DenseCRFParams(sxyGaussian: Float(double("sxyGaussian")), compatGaussian: Float(double("compatGaussian")),
                       sxyBilateral: Float(double("sxyBilateral")), srgb: Float(double("srgb")),
                       compatBilateral: Float(double("compatBilateral")), iterations: int("iterations"))
    }

    func requireClasses(forDensifying what: String) throws -> Int {
        guard classes.classes.count >= 2 else {
            throw SegflowError.user("\(node): \(what) needs the pipeline's classes (at least 2)", hint: "set classes: in the pipeline (or --classes for exec)")
        }
        // Label maps hold a channel per pixel in a byte, with 255 for "unsure".
        guard classes.classes.count < 255 else {
            throw SegflowError.user("\(node): \(what) supports up to 254 classes, the pipeline has \(classes.classes.count)")
        }
        return classes.classes.count
    }

    /// Mean field on `unary` and the image, then the class id per pixel (255 below `minConfidence`).
    func densify(unary: [Float], classes n: Int, image: RGBImage, threads: Int) -> [UInt8] {
        let ids = classes.ids
        let minConfidence = Float(double("minConfidence"))
        if minConfidence <= 0 {
            return DenseCRF.inferLabels(unary: unary, classes: n, width: image.width, height: image.height,
                                        rgb: image.pixels, params: denseCRFParams, threads: threads).map { ids[Int($0)] }
        }
        let q = DenseCRF.inferProbabilities(unary: unary, classes: n, width: image.width, height: image.height,
                                            rgb: image.pixels, params: denseCRFParams, threads: threads)
        let pixels = image.width * image.height
        return (0..<pixels).map { i in
            var best = 0
            for c in 1..<n where q[c * pixels + i] > q[best * pixels + i] { best = c }
            return q[best * pixels + i] >= minConfidence ? ids[best] : 255
        }
    }

    /// Threads inside one CRF: items in parallel when there are many, threads inside the CRF when few.
    var innerCRFThreads: Int { max(1, threads / max(1, min(threads, items.count))) }

    func writeMask(_ mask: [UInt8], _ image: RGBImage, _ stem: String) throws {
        try ImageIO.writePNG(GrayImage(width: image.width, height: image.height, pixels: mask),
                             to: try outputPath(port: "masks", file: "\(stem).png"))
    }
}

/// `seedCRF`: scribbles and/or clicks densified by the DenseCRF.
public struct SeedCRFStage: StageImplementation {
    public init() {}
    public let descriptor = StageDescriptor(
        name: "seedCRF", version: 1,
        inputs: [PortSpec("images", .images), PortSpec("points", .points, optional: true), PortSpec("scribbles", .scribbles, optional: true)],
        outputs: [PortSpec("masks", .masks)],
        params: densifyParams + [ParamSpec("pointRadius", .int, default: .int(2), min: 0, max: 100,
                                           doc: "clicks are stamped as discs of this radius (pixels)")],
        granularity: .map,
        summary: "Seeds (scribbles, clicks) -> masks: unary from labels (gtProb on seeds, uniform elsewhere), then DenseCRF.")

    public func run(_ call: StageCall) async throws -> StageOutcome {
        let n = try call.requireClasses(forDensifying: "seedCRF")
        let hasPoints = call.inputs["points"] != nil, hasScribbles = call.inputs["scribbles"] != nil
        guard hasPoints || hasScribbles else {
            throw SegflowError.user("seedCRF \(call.node): connect points and/or scribbles", hint: "inputs: {images: ..., scribbles: STAGE.scribbles}")
        }
        let radius = call.int("pointRadius"), gtProb = call.double("gtProb"), inner = call.innerCRFThreads
        let failures = NativeItems.forEach(call) { stem in
            let image = try ImageIO.readRGB(path: try call.requirePath("images", stem))
            let reader = WeakLabelReader(classes: call.classes, width: image.width, height: image.height)
            var labels = [UInt8](repeating: CRFSeedUnary.unsure, count: image.width * image.height)
            if hasScribbles {
                labels = try reader.scribbles(path: try call.requirePath("scribbles", stem), file: "scribbles/\(stem).png")
            }
            if hasPoints {
                let data = try Data(contentsOf: URL(fileURLWithPath: try call.requirePath("points", stem)))
                for p in try reader.points(data, file: "points/\(stem).json") {
                    CRFSeedUnary.stampDisc(&labels, width: image.width, height: image.height, x: p.x, y: p.y, radius: radius, channel: UInt8(p.channel))
                }
            }
            // Without a single seed every marginal stays uniform: say "unknown" rather than the first class.
            guard labels.contains(where: { $0 != CRFSeedUnary.unsure }) else {
                try call.writeMask([UInt8](repeating: 255, count: labels.count), image, stem); return
            }
            let unary = CRFSeedUnary.fromLabels(labels, classes: n, gtProb: gtProb)
            try call.writeMask(call.densify(unary: unary, classes: n, image: image, threads: inner), image, stem)
        }
        return StageOutcome(itemFailures: failures)
    }
}

/// `boxMasks`: boxes (optionally with CAMs inside them) densified by the DenseCRF.
public struct BoxMasksStage: StageImplementation {
    public init() {}
    public let descriptor = StageDescriptor(
        name: "boxMasks", version: 1,
        inputs: [PortSpec("images", .images), PortSpec("boxes", .boxes), PortSpec("cams", .cams, optional: true)],
        outputs: [PortSpec("masks", .masks)],
        params: densifyParams,
        granularity: .map,
        summary: "Boxes -> masks: each pixel takes the smallest box covering it (outside: background or 255), "
            + "or with cams the box-constrained CAM scores, then DenseCRF.")

    public func run(_ call: StageCall) async throws -> StageOutcome {
        let n = try call.requireClasses(forDensifying: "boxMasks")
        let hasCAMs = call.inputs["cams"] != nil
        if hasCAMs && n > 64 {
            throw SegflowError.user("boxMasks \(call.node): box-constrained CAMs support up to 64 classes, the pipeline has \(n)",
                                    hint: "leave the cams input unconnected for box labels alone")
        }
        let gtProb = call.double("gtProb"), inner = call.innerCRFThreads
        let background = call.classes.backgroundChannel
        let failures = NativeItems.forEach(call) { stem in
            let image = try ImageIO.readRGB(path: try call.requirePath("images", stem))
            let reader = WeakLabelReader(classes: call.classes, width: image.width, height: image.height)
            let data = try Data(contentsOf: URL(fileURLWithPath: try call.requirePath("boxes", stem)))
            let boxes = try reader.boxes(data, file: "boxes/\(stem).json")
            let unary: [Float]
            if hasCAMs {
                let cams = try call.readCAMs("cams", stem)
                guard cams.shape[1] == image.height, cams.shape[2] == image.width else {
                    throw ItemError("cams/\(stem).npy is \(cams.shape[2])x\(cams.shape[1]) but the image is \(image.width)x\(image.height)")
                }
                unary = BoxSeeds.camUnary(boxes, cams: cams.data, classes: n, width: image.width, height: image.height,
                                          outsideChannel: background, gtProb: gtProb)
            } else {
                let labels = BoxSeeds.labelMap(boxes, width: image.width, height: image.height,
                                               outside: background.map { UInt8($0) } ?? CRFSeedUnary.unsure)
                guard labels.contains(where: { $0 != CRFSeedUnary.unsure }) else {
                    try call.writeMask([UInt8](repeating: 255, count: labels.count), image, stem); return
                }
                unary = CRFSeedUnary.fromLabels(labels, classes: n, gtProb: gtProb)
            }
            try call.writeMask(call.densify(unary: unary, classes: n, image: image, threads: inner), image, stem)
        }
        return StageOutcome(itemFailures: failures)
    }
}
