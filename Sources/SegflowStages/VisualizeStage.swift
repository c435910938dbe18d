import Foundation
import SegflowCore
import SegflowGraph
import SegflowImaging

/// `visualize`: one contact sheet per item: image | ground truth | pseudo mask | prediction,
/// and below them the CAM heatmaps of the image's strongest classes, each captioned.
public struct VisualizeStage: StageImplementation {
    public init() {}
    public let descriptor = StageDescriptor(
        name: "visualize", version: 2,
        inputs: [PortSpec("images", .images), PortSpec("cams", .cams, optional: true), PortSpec("masks", .masks, optional: true),
                 PortSpec("truth", .masks, optional: true), PortSpec("predictions", .masks, optional: true)],
        outputs: [PortSpec("sheets", .visuals)],
        params: [ParamSpec("heatmaps", .int, default: .int(4), min: 0, max: 16, doc: "CAM heatmaps per item (strongest classes first)"),
                 ParamSpec("alpha", .float, default: .double(0.5), min: 0, max: 1, doc: "overlay opacity"),
                 ParamSpec("font", .file, default: .string(""),
                           doc: "caption font file (.ttf/.otf/.ttc); empty: an installed CJK font found by fontconfig, else a 5x7 ASCII font")],
        granularity: .map, summary: "Contact sheets: image, ground truth, pseudo mask, prediction and CAM heatmaps.")

    public func run(_ call: StageCall) async throws -> StageOutcome {
        let alpha = Float(call.double("alpha"))
        let colors = call.classes.colorTable
        let fonts = try CaptionFonts(param: call.string("font"))
        func caption(_ img: RGBImage, _ text: String) -> RGBImage {
            var out = img
            let scale = img.width >= 400 ? 2 : 1
            drawCaption(text, on: &out, font: fonts.font(scale: scale), scale: scale)
            return out
        }
        let failures = NativeItems.forEach(call) { stem in
            let image = try ImageIO.readRGB(path: try call.requirePath("images", stem))
            var tiles = [caption(image, "image")]
            for (port, title) in [("truth", "ground truth"), ("masks", "pseudo mask"), ("predictions", "prediction")] {
                guard let p = call.inputPath(port: port, stem: stem) else { continue }
                var mask = try ImageIO.readMask(path: p)
                if mask.width != image.width || mask.height != image.height { mask = resized(mask, width: image.width, height: image.height) }
                tiles.append(caption(maskOverlay(image: image, mask: mask, colors: colors, alpha: max(alpha, 0.6)), title))
            }
            var rows = [contactSheet(tiles, columns: tiles.count, gap: 4)]
            if let p = call.inputPath(port: "cams", stem: stem), call.int("heatmaps") > 0 {
                let cams = try NPYArray.read(path: p)
                if cams.shape.count == 3 {
                    let (c, h, w) = (cams.shape[0], cams.shape[1], cams.shape[2])
                    let base = (h == image.height && w == image.width) ? image : resized(image, width: w, height: h)
                    let peaks = (0..<c).map { ch in (ch, cams.data[(ch * h * w)..<((ch + 1) * h * w)].max() ?? 0) }
                        .filter { $0.1 > 0 }.sorted { $0.1 > $1.1 }.prefix(call.int("heatmaps"))
                    var heat: [RGBImage] = []
                    for (ch, peak) in peaks {
                        let map = cams.data[(ch * h * w)..<((ch + 1) * h * w)].map { $0 / peak }
                        let name = ch < call.classes.classes.count ? call.classes.classes[ch].name : "channel \(ch)"
                        heat.append(caption(heatmapOverlay(image: base, map: Array(map), alpha: alpha), name))
                    }
                    if !heat.isEmpty { rows.append(contactSheet(heat, columns: max(tiles.count, heat.count), gap: 4)) }
                }
            }
            let sheet = rows.count == 1 ? rows[0] : stack(rows)
            try ImageIO.writePNG(sheet, to: try call.outputPath(port: "sheets", file: "\(stem).png"))
        }
        return StageOutcome(itemFailures: failures)
    }

    /// Stacks rows vertically, left-aligned on white.
    private func stack(_ rows: [RGBImage]) -> RGBImage {
        let width = rows.map(\.width).max() ?? 0, height = rows.reduce(0) { $0 + $1.height } + 4 * (rows.count - 1)
        var out = RGBImage(width: width, height: height, fill: (255, 255, 255))
        var y = 0
        for r in rows { paste(r, on: &out, x: 0, y: y); y += r.height + 4 }
        return out
    }
}

/// The caption font at the two caption sizes (tiles under 400 pixels wide and the rest), opened once
/// per stage call: the `font` param's file, else the installed CJK font, else none (the 5x7 font).
struct CaptionFonts {
    private let small: CaptionFont?, large: CaptionFont?

    init(param: String) throws {
        let found: (path: String, faceIndex: Int)? = param.isEmpty ? CaptionFont.installedCJK() : (path: param, faceIndex: 0)
        guard let found else { small = nil; large = nil; return }
        do {
            small = try CaptionFont(path: found.path, faceIndex: found.faceIndex, pixelHeight: 12)
            large = try CaptionFont(path: found.path, faceIndex: found.faceIndex, pixelHeight: 24)
        } catch let e as ImagingError {
            throw SegflowError.user("visualize: font \(e.description)")
        }
    }

    func font(scale: Int) -> CaptionFont? { scale >= 2 ? large : small }
}
