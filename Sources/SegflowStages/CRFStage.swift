import Foundation
import SegflowCore
import SegflowGraph
import SegflowImaging
import SegflowVision

/// `crf`: DenseCRF refinement of CAMs (or class probabilities) into label masks.
public struct CRFStage: StageImplementation {
    public init() {}
    public let descriptor = StageDescriptor(
        name: "crf", version: 1, inputs: [PortSpec("images", .images), PortSpec("cams", .cams)], outputs: [PortSpec("masks", .masks)],
        params: [
            ParamSpec("unary", .string, default: .string("cams"), choices: ["cams", "probabilities"],
                      doc: "cams: PSA-style with a background/unsure score (1 - max)^alpha over the active channels; probabilities: channels are per-pixel probabilities (pydensecrf unary_from_softmax)"),
            ParamSpec("alpha", .float, default: .double(4), min: 0.01, max: 64, doc: "power of the background score (PSA: 4 low, 32 high)"),
            ParamSpec("sxyGaussian", .float, default: .double(3), min: 0.01),
            ParamSpec("compatGaussian", .float, default: .double(3), min: 0),
            ParamSpec("sxyBilateral", .float, default: .double(80), min: 0.01),
            ParamSpec("srgb", .float, default: .double(13), min: 0.01),
            ParamSpec("compatBilateral", .float, default: .double(10), min: 0),
            ParamSpec("iterations", .int, default: .int(10), min: 0, max: 100),
        ],
        granularity: .map, summary: "DenseCRF (permutohedral lattice, Potts, gaussian + bilateral kernels) -> label masks.")

    public func run(_ call: StageCall) async throws -> StageOutcome {
        let params = call.denseCRFParams
        let probabilities = call.string("unary") == "probabilities"
        let alpha = Float(call.double("alpha"))
        let classes = call.classes
        let inner = call.innerCRFThreads
        let failures = NativeItems.forEach(call) { stem in
            let image = try ImageIO.readRGB(path: try call.requirePath("images", stem))
            let cams = try call.readCAMs("cams", stem)
            let (c, h, w) = (cams.shape[0], cams.shape[1], cams.shape[2])
            guard h == image.height, w == image.width else {
                throw ItemError("cams/\(stem).npy is \(w)x\(h) but the image is \(image.width)x\(image.height)")
            }
            let n = h * w
            // channel of the CRF -> pixel value written.
            let ids: [UInt8] = (0..<c).map { classes.classes.isEmpty ? UInt8(clamping: $0) : classes.ids[$0] }
            var mask: [UInt8]
            if probabilities {
                let unary = CRFUnary.fromProbabilities(cams.data, classes: c, pixels: n, normalize: false)
                mask = DenseCRF.inferLabels(unary: unary, classes: c, width: w, height: h, rgb: image.pixels, params: params, threads: inner)
                    .map { ids[Int($0)] }
            } else {
                // Only active channels take part (as PSA does with the labelled classes' CAMs); channel 0 of the CRF
                // is background when the classes have one, else "unsure", written as 255 (ignore).
                let bg = classes.backgroundChannel
                let active = (0..<c).filter { ch in ch != bg && cams.data[(ch * n)..<((ch + 1) * n)].contains { $0 > 0 } }
                var selected = [Float](); selected.reserveCapacity(active.count * n)
                for ch in active { selected.append(contentsOf: cams.data[(ch * n)..<((ch + 1) * n)]) }
                let unary = CRFUnary.fromCAMs(selected, classes: active.count, pixels: n, alpha: alpha, addBackground: true)
                let labels = DenseCRF.inferLabels(unary: unary, classes: active.count + 1, width: w, height: h,
                                                  rgb: image.pixels, params: params, threads: inner)
                let zero: UInt8 = bg.map { ids[$0] } ?? 255
                mask = labels.map { $0 == 0 ? zero : ids[active[Int($0) - 1]] }
            }
            try ImageIO.writePNG(GrayImage(width: w, height: h, pixels: mask), to: try call.outputPath(port: "masks", file: "\(stem).png"))
        }
        return StageOutcome(itemFailures: failures)
    }
}
