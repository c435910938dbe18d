import Foundation
import SegflowCore
import SegflowGraph
import SegflowImaging
import SegflowSpec

/// `yoloLabels`: a folder of images and a folder of YOLO `.txt` label files (`class cx cy w h` per
/// line, normalised to the image's size) as Images and Boxes (docs/FORMATS.md).
public struct YOLOLabelsStage: AnnotationSource {
    public init() {}
    public let descriptor = StageDescriptor(
        name: "yoloLabels", version: 1, inputs: [],
        outputs: [PortSpec("images", .images), PortSpec("boxes", .boxes)],
        params: [
            ParamSpec("images", .directory, doc: "folder of .png/.jpg images"),
            ParamSpec("labels", .directory, doc: "folder of same-stem YOLO .txt files: 'class cx cy w h' per line, normalised 0-1"),
            ParamSpec("names", .stringList, doc: "the class names in YOLO id order (data.yaml's names)"),
            annotationSynonymsParam,
        ],
        granularity: .source, summary: "Import YOLO label files as boxes, with their images.")

    public func enumerate(params: [String: CanonicalValue], classes: ClassList) throws -> [SourceFile] {
        let imagesDir = params["images"]?.stringValue ?? "", labelsDir = params["labels"]?.stringValue ?? ""
        let classNames = AnnotationClasses(classes: classes, params: params)
        var channels: [Int] = []
        if case .list(let list)? = params["names"] {
            for (k, v) in list.enumerated() {
                channels.append(try classNames.channel(of: v.stringValue ?? "", in: "names[\(k)]", stage: "yoloLabels"))
            }
        }
        guard let images = try? Directory.entries(of: imagesDir), let labels = try? Directory.entries(of: labelsDir) else {
            throw SegflowError.user("yoloLabels: folder not found: \(imagesDir) or \(labelsDir)", hint: "paths are relative to the pipeline file's folder")
        }
        let labelFiles = Set(labels.map(\.name).filter { $0.hasSuffix(".txt") })
        let imagesFolder = imagesDir.hasSuffix("/") ? imagesDir : imagesDir + "/"
        let labelsFolder = labelsDir.hasSuffix("/") ? labelsDir : labelsDir + "/"
        var out: [SourceFile] = []
        for name in images.map(\.name).sorted() where ImageFolderStage.isImageName(name) {
            let stem = FileTree.stem(of: name)
            out.append(SourceFile(port: "images", name: name, folder: imagesFolder))
            // An image without a label file has no objects (YOLO's background images).
            var boxes: [(name: String, x0: Int, y0: Int, x1: Int, y1: Int)] = []
            if labelFiles.contains(stem + ".txt") {
                let file = labelsFolder + stem + ".txt"
                guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                    throw SegflowError.user("yoloLabels: cannot read \(file)", hint: "a text file of 'class cx cy w h' lines")
                }
                let size: (width: Int, height: Int)
                do { size = try ImageIO.imageSize(path: imagesFolder + name) } catch let e as ImagingError {
                    throw SegflowError.user("yoloLabels: \(e.description)")
                }
                for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    let fields = raw.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
                    if fields.isEmpty { continue }
                    let v = fields.map { Double($0) }
                    guard fields.count == 5, v.allSatisfy({ $0?.isFinite == true }), let id = Int(fields[0]) else {
                        throw SegflowError.user("yoloLabels: \(file):\(n + 1): expected 'class cx cy w h' (5 numbers), found '\(raw)'",
                                                hint: "YOLO detection labels: a class id and the box's centre and size, normalised 0-1")
                    }
                    guard channels.indices.contains(id) else {
                        throw SegflowError.user("yoloLabels: \(file):\(n + 1): class \(id) but names has \(channels.count) entries",
                                                hint: "names: the class names in YOLO id order (0 first)")
                    }
                    let (cx, cy, w, h) = (v[1]! * Double(size.width), v[2]! * Double(size.height), v[3]! * Double(size.width), v[4]! * Double(size.height))
                    if let b = AnnotationContent.box(x0: cx - w / 2, y0: cy - h / 2, x1: cx + w / 2, y1: cy + h / 2,
                                                     width: size.width, height: size.height) {
                        boxes.append((classNames.name(channels[id]), b.0, b.1, b.2, b.3))
                    }
                }
            }
            out.append(SourceFile(port: "boxes", name: stem + ".json", content: WeakLabelJSON.boxes(boxes),
                                  origin: labelFiles.contains(stem + ".txt") ? labelsFolder + stem + ".txt" : imagesFolder + name))
        }
        return out
    }
}
