import Foundation
import SegflowCore
import SegflowGraph
import SegflowImaging
import SegflowSpec
import SegflowVision

/// `cocoAnnotations`: a COCO instances JSON (what CVAT, Label Studio and Roboflow export) as Images,
/// Boxes and, where annotations carry polygons or RLE, Masks (docs/FORMATS.md).
public struct COCOAnnotationsStage: AnnotationSource {
    public init() {}
    public let descriptor = StageDescriptor(
        name: "cocoAnnotations", version: 1, inputs: [],
        outputs: [PortSpec("images", .images), PortSpec("boxes", .boxes), PortSpec("masks", .masks)],
        params: [
            ParamSpec("file", .file, doc: "a COCO instances JSON (images, annotations, categories), relative to the pipeline file"),
            ParamSpec("images", .directory, doc: "the folder its images' file_name are relative to"),
            annotationSynonymsParam,
        ],
        granularity: .source, summary: "Import a COCO instances JSON: images, boxes, and masks from polygons or RLE.")

    public func enumerate(params: [String: CanonicalValue], classes: ClassList) throws -> [SourceFile] {
        let path = params["file"]?.stringValue ?? ""
        let imagesDir = params["images"]?.stringValue ?? ""
        let names = AnnotationClasses(classes: classes, params: params)
        func fail(_ what: String, _ hint: String = "a COCO instances JSON: {\"images\": [...], \"annotations\": [...], \"categories\": [...]}") -> SegflowError {
            SegflowError.user("cocoAnnotations: \(path): \(what)", hint: hint)
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw fail("cannot read the file", "check the 'file' param") }
        guard let top = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { throw fail("not a JSON object") }
        guard let images = top["images"] as? [[String: Any]], let categories = top["categories"] as? [[String: Any]] else {
            throw fail("no \"images\" or \"categories\" list")
        }
        let annotations = top["annotations"] as? [[String: Any]] ?? []
        var channelOf: [Int: Int] = [:]
        for (n, c) in categories.enumerated() {
            guard let id = (c["id"] as? NSNumber)?.intValue, let name = c["name"] as? String else { throw fail("categories[\(n)] needs an id and a name") }
            channelOf[id] = try names.channel(of: name, in: path + " categories[\(n)]", stage: "cocoAnnotations")
        }
        var byImage: [Int: [(Int, [String: Any])]] = [:]
        for (n, a) in annotations.enumerated() {
            guard let image = (a["image_id"] as? NSNumber)?.intValue else { throw fail("annotations[\(n)] has no image_id") }
            byImage[image, default: []].append((n, a))
        }
        let folder = imagesDir.hasSuffix("/") ? imagesDir : imagesDir + "/"
        var out: [SourceFile] = []
        var seen: [String: String] = [:]
        for (n, image) in images.enumerated() {
            guard let id = (image["id"] as? NSNumber)?.intValue, let fileName = image["file_name"] as? String,
                  let width = (image["width"] as? NSNumber)?.intValue, let height = (image["height"] as? NSNumber)?.intValue,
                  width > 0, height > 0 else {
                throw fail("images[\(n)] needs an id, a file_name and a positive width and height")
            }
            // The pixel limit of images (checked by division: width * height of two 2^32 sides overflows).
            let limit = ImageIO.defaultMaxPixels
            guard width <= limit / height else {
                throw fail("images[\(n)] says \(width)x\(height), above the limit of \(limit) pixels",
                           "fix width and height, or raise the limit (SEGFLOW_MAX_PIXELS=N) if the size is intended")
            }
            let name = (fileName as NSString).lastPathComponent
            let stem = FileTree.stem(of: name)
            if let other = seen[stem] { throw fail("images \(other) and \(fileName) have one stem, \(stem)", "item names are file names without extension: rename one") }
            seen[stem] = fileName
            guard FileManager.default.fileExists(atPath: folder + fileName) else {
                throw fail("images[\(n)] \(fileName) is not in \(imagesDir)", "set images: to the folder the file_name values are relative to")
            }
            // The annotations are in the JSON's pixels: an image of another size would get boxes and masks that fit it not.
            let actual: (width: Int, height: Int)
            do { actual = try ImageIO.imageSize(path: folder + fileName) } catch let e as ImagingError {
                throw SegflowError.user("cocoAnnotations: \(e.description)")
            }
            guard actual == (width, height) else {
                throw fail("images[\(n)] says \(fileName) is \(width)x\(height), but \(folder + fileName) is \(actual.width)x\(actual.height)",
                           "point images: to the images the annotations were made on (not resized copies)")
            }
            out.append(SourceFile(port: "images", name: name, path: folder + fileName))
            let regions = try (byImage[id] ?? []).map { k, a in
                try region(a, what: "annotations[\(k)]", channelOf: channelOf, width: width, height: height, fail: fail)
            }
            let boxes = regions.compactMap { r in r.box.map { (names.name(r.channel), $0.0, $0.1, $0.2, $0.3) } }
            out.append(SourceFile(port: "boxes", name: stem + ".json", content: WeakLabelJSON.boxes(boxes), origin: "\(path) images[\(n)]"))
            let shapes = regions.filter { $0.mask != nil }
            if !shapes.isEmpty {
                out.append(SourceFile(port: "masks", name: stem + ".png", content: try paint(shapes, names: names, width: width, height: height),
                                      origin: "\(path) images[\(n)]"))
            }
        }
        return out
    }

    /// One annotation: its class, box and (if it has a segmentation) its pixels.
    struct Region { var channel: Int; var box: (Int, Int, Int, Int)?; var mask: [Bool]?; var order: Int }

    func region(_ a: [String: Any], what: String, channelOf: [Int: Int], width: Int, height: Int,
                fail: (String, String) -> SegflowError) throws -> Region {
        let hint = "COCO: bbox [x, y, width, height]; segmentation a list of polygons [x0, y0, x1, y1, ...] or RLE {\"counts\", \"size\": [height, width]}"
        guard let cat = (a["category_id"] as? NSNumber)?.intValue, let channel = channelOf[cat] else {
            throw fail("\(what): category_id is not one of the categories", hint)
        }
        var box: (Int, Int, Int, Int)? = nil
        if let b = a["bbox"] as? [NSNumber] {
            guard b.count == 4 else { throw fail("\(what): bbox has \(b.count) numbers", hint) }
            let v = b.map(\.doubleValue)
            box = AnnotationContent.box(x0: v[0], y0: v[1], x1: v[0] + v[2], y1: v[1] + v[3], width: width, height: height)
        }
        var mask: [Bool]? = nil
        switch a["segmentation"] {
        case let polygons as [Any] where !polygons.isEmpty:
            var m = [Bool](repeating: false, count: width * height)
            for (k, p) in polygons.enumerated() {
                guard let flat = (p as? [NSNumber])?.map(\.doubleValue), flat.count >= 6, flat.count % 2 == 0 else {
                    throw fail("\(what): segmentation[\(k)] is not a polygon of at least 3 points [x0, y0, x1, y1, ...]", hint)
                }
                // Polygons of one annotation are its parts (COCO draws them all).
                for (i, inside) in AnnotationRaster.polygon(flat, width: width, height: height).enumerated() where inside { m[i] = true }
            }
            mask = m
        case let rle as [String: Any]:
            guard let size = (rle["size"] as? [NSNumber])?.map(\.intValue), size == [height, width] else {
                throw fail("\(what): RLE size is not [\(height), \(width)] (the image's [height, width])", hint)
            }
            do {
                let counts: [Int]
                if let s = rle["counts"] as? String { counts = try AnnotationRaster.rleCounts(compressed: s) }
                else if let c = rle["counts"] as? [NSNumber] { counts = c.map(\.intValue) }
                else { throw fail("\(what): RLE counts is neither a string nor a list of numbers", hint) }
                mask = try AnnotationRaster.rle(counts: counts, width: width, height: height)
            } catch let e as AnnotationRaster.RLEError {
                throw fail("\(what): RLE \(e.description)", hint)
            }
        default: break
        }
        return Region(channel: channel, box: box, mask: mask, order: 0)
    }

    /// Larger regions first, so that a small object on a large one stays visible; 255 where none is.
    func paint(_ regions: [Region], names: AnnotationClasses, width: Int, height: Int) throws -> Data {
        var pixels = [UInt8](repeating: 255, count: width * height)
        let sized = regions.enumerated().map { (k: $0.offset, area: $0.element.mask!.reduce(0) { $1 ? $0 + 1 : $0 }, r: $0.element) }
        for s in sized.sorted(by: { ($0.area, $1.k) > ($1.area, $0.k) }) {
            let id = names.id(s.r.channel)
            for (i, inside) in s.r.mask!.enumerated() where inside { pixels[i] = id }
        }
        return try AnnotationContent.maskPNG(pixels, width: width, height: height)
    }
}
