import Foundation
import SegflowCore
import SegflowGraph
import SegflowImaging
import SegflowSpec
import SegflowVLM
import SegflowVision

/// Class names of annotation files (COCO categories, YOLO names, Label Studio labels) mapped to the
/// pipeline's classes through cotLabel's normaliser and the stage's `synonyms`: case, `_`, plurals.
struct AnnotationClasses {
    let classes: ClassList
    let normalizer: LabelNormalizer

    init(classes: ClassList, params: [String: CanonicalValue]) {
        self.classes = classes
        var synonyms: [String: String] = [:]
        if case .map(let m)? = params["synonyms"] { for (k, v) in m { synonyms[k] = v.stringValue } }
        normalizer = LabelNormalizer(vocabulary: classes.names, synonyms: synonyms)
    }

    /// The channel (index in classes.yaml) of a name, or a user error naming where it was read.
    func channel(of name: String, in file: String, stage: String) throws -> Int {
        if let ch = normalizer.match(name) { return ch }
        throw SegflowError.user("\(stage): \(file): class '\(name)' maps to no class of \(classes.source) (known: \(classes.names.joined(separator: ", ")))",
                                hint: "add it to synonyms: {\"\(name)\": <one of the known names>}, or to the classes")
    }

    /// The pixel value of a channel in masks: its class id.
    func id(_ channel: Int) -> UInt8 { UInt8(clamping: classes.classes[channel].id) }
    func name(_ channel: Int) -> String { classes.classes[channel].name }
}

/// An import of annotation files: its items depend on the pipeline's classes (names become ids).
protocol AnnotationSource: SourceStage {}

extension AnnotationSource {
    public func enumerate(params: [String: CanonicalValue]) throws -> [SourceFile] {
        throw SegflowError.internal("\(descriptor.name) lists its items with the pipeline's classes")
    }
}

/// The synonyms param every annotation import shares.
let annotationSynonymsParam = ParamSpec("synonyms", .stringMap, default: .map([:]),
                                        doc: "annotation class name -> class name, e.g. {person: pedestrian}")

/// Annotation imports as content: a mask PNG and a Boxes JSON per image, made while listing.
enum AnnotationContent {
    /// A mask of class ids, 255 where nothing is annotated.
    static func maskPNG(_ pixels: [UInt8], width: Int, height: Int) throws -> Data {
        try ImageIO.encodePNG(GrayImage(width: width, height: height, pixels: pixels))
    }

    /// A box in image pixels from floating-point edges: rounded to the nearest pixel edge, clipped to
    /// the image, at least one pixel wide and high; nil when it lies outside the image.
    static func box(x0: Double, y0: Double, x1: Double, y1: Double, width: Int, height: Int) -> (Int, Int, Int, Int)? {
        guard [x0, y0, x1, y1].allSatisfy(\.isFinite), min(x0, x1) < Double(width), min(y0, y1) < Double(height),
              max(x0, x1) > 0, max(y0, y1) > 0 else { return nil }
        // Clamped before rounding to Int: an edge at 1e300 is the image's edge, not a trap.
        func edge(_ v: Double, _ limit: Int) -> Int { AnnotationRaster.pixelEdge(v, limit: limit, rounding: .toNearestOrAwayFromZero) }
        var a = edge(min(x0, x1), width), b = edge(min(y0, y1), height)
        var c = edge(max(x0, x1), width), d = edge(max(y0, y1), height)
        if a == c { if c < width { c += 1 } else if a > 0 { a -= 1 } else { return nil } }
        if b == d { if d < height { d += 1 } else if b > 0 { b -= 1 } else { return nil } }
        return (a, b, c, d)
    }
}
