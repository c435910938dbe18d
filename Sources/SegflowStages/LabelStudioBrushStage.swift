import Foundation
import SegflowCore
import SegflowGraph
import SegflowImaging
import SegflowSpec

/// `labelStudioBrush`: Label Studio's brush exports, one PNG per painted label
/// (`task-<id>-annotation-<id>-by-<n>-tag-<Tag>-<label>-<k>.png`), merged into one mask per image
/// (docs/FORMATS.md).
public struct LabelStudioBrushStage: AnnotationSource {
    public init() {}
    public let descriptor = StageDescriptor(
        name: "labelStudioBrush", version: 1, inputs: [],
        outputs: [PortSpec("images", .images), PortSpec("masks", .masks)],
        params: [
            ParamSpec("export", .directory, doc: "folder of Label Studio brush PNGs: task-<id>-annotation-<id>-by-<n>-tag-<Tag>-<label>-<k>.png"),
            ParamSpec("images", .directory, doc: "folder of the tasks' images"),
            ParamSpec("taskImages", .file, default: .string(""),
                      doc: "how task ids map to image stems: a JSON object {\"<task id>\": \"<stem>\"} or Label Studio's JSON export of the tasks; default: the image named by the task id"),
            annotationSynonymsParam,
        ],
        granularity: .source, summary: "Import Label Studio brush PNG exports as masks (unpainted pixels 255).")

    /// One export file: its task, annotation, tag-and-label part and name.
    struct Export { var task: Int; var annotation: Int; var tagAndLabel: String; var name: String }

    static func parse(_ name: String) -> Export? {
        guard name.hasPrefix("task-"), name.lowercased().hasSuffix(".png") else { return nil }
        let parts = name.dropLast(4).split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        // task, id, annotation, id, by, n, tag, <Tag-label...>, k
        guard parts.count >= 10, parts[2] == "annotation", parts[4] == "by", parts[6] == "tag",
              let task = Int(parts[1]), let annotation = Int(parts[3]), Int(parts[parts.count - 1]) != nil else { return nil }
        return Export(task: task, annotation: annotation, tagAndLabel: parts[7..<(parts.count - 1)].joined(separator: "-"), name: name)
    }

    public func enumerate(params: [String: CanonicalValue], classes: ClassList) throws -> [SourceFile] {
        let exportDir = params["export"]?.stringValue ?? "", imagesDir = params["images"]?.stringValue ?? ""
        let names = AnnotationClasses(classes: classes, params: params)
        guard let exportEntries = try? Directory.entries(of: exportDir), let imageEntries = try? Directory.entries(of: imagesDir) else {
            throw SegflowError.user("labelStudioBrush: folder not found: \(exportDir) or \(imagesDir)", hint: "paths are relative to the pipeline file's folder")
        }
        let exportFolder = exportDir.hasSuffix("/") ? exportDir : exportDir + "/"
        let imagesFolder = imagesDir.hasSuffix("/") ? imagesDir : imagesDir + "/"
        var imageOf: [String: String] = [:]
        for e in imageEntries where ImageFolderStage.isImageName(e.name) { imageOf[FileTree.stem(of: e.name)] = e.name }
        let taskStems = try Self.taskStems(params["taskImages"]?.stringValue ?? "", images: imageOf)
        var byTask: [Int: [Export]] = [:]
        for e in exportEntries.map(\.name).sorted() {
            guard e.lowercased().hasSuffix(".png") else { continue }
            guard let x = Self.parse(e) else {
                throw SegflowError.user("labelStudioBrush: \(exportFolder)\(e) is not named task-<id>-annotation-<id>-by-<n>-tag-<Tag>-<label>-<k>.png",
                                        hint: "the folder holds Label Studio's brush PNG export (Export -> Brush labels to PNG)")
            }
            byTask[x.task, default: []].append(x)
        }
        var out: [SourceFile] = []
        for task in byTask.keys.sorted() {
            // Several annotations of one task: the latest (highest id) is the one kept.
            let latest = byTask[task]!.map(\.annotation).max()!
            let files = byTask[task]!.filter { $0.annotation == latest }
            let stem = taskStems[task] ?? String(task)
            guard let image = imageOf[stem] else {
                throw SegflowError.user("labelStudioBrush: \(exportFolder)\(files[0].name): task \(task)'s image \(stem) is not in \(imagesDir)",
                                        hint: taskStems.isEmpty ? "set taskImages: to Label Studio's JSON export or a {\"<task id>\": \"<stem>\"} file" : "check taskImages")
            }
            let mask = try merge(files, folder: exportFolder, names: names)
            let size: (width: Int, height: Int)
            do { size = try ImageIO.imageSize(path: imagesFolder + image) } catch let e as ImagingError {
                throw SegflowError.user("labelStudioBrush: \(e.description)")
            }
            guard size == (mask.width, mask.height) else {
                throw SegflowError.user("labelStudioBrush: \(exportFolder)\(files[0].name) is \(mask.width)x\(mask.height) but task \(task)'s image \(imagesFolder + image) is \(size.width)x\(size.height)",
                                        hint: "check taskImages: the task's image is the one its brush was painted on")
            }
            out.append(SourceFile(port: "images", name: image, folder: imagesFolder))
            out.append(SourceFile(port: "masks", name: stem + ".png", content: try AnnotationContent.maskPNG(mask.pixels, width: mask.width, height: mask.height),
                                  origin: exportFolder + files[0].name))
        }
        return out
    }

    /// Painted pixels (value >= 128: the brush's alpha) take the file's class; a pixel painted with two
    /// classes becomes 255, as does an unpainted one.
    func merge(_ files: [Export], folder: String, names: AnnotationClasses) throws -> GrayImage {
        var pixels: [UInt8] = [], conflict: [Bool] = []
        var size = (0, 0)
        for f in files {
            let channel = try Self.channel(f, folder: folder, names: names)
            let mask: GrayImage
            do { mask = try ImageIO.readMask(path: folder + f.name) } catch let e as ImagingError {
                throw SegflowError.user("labelStudioBrush: \(e.description)")
            }
            if pixels.isEmpty { pixels = [UInt8](repeating: 255, count: mask.pixels.count); size = (mask.width, mask.height) }
            guard (mask.width, mask.height) == size else {
                throw SegflowError.user("labelStudioBrush: \(folder)\(f.name) is \(mask.width)x\(mask.height), other PNGs of task \(f.task) \(size.0)x\(size.1)",
                                        hint: "one task's brush PNGs have its image's size")
            }
            if conflict.isEmpty { conflict = [Bool](repeating: false, count: pixels.count) }
            let id = names.id(channel)
            for i in 0..<pixels.count where mask.pixels[i] >= 128 && !conflict[i] {
                if pixels[i] == 255 { pixels[i] = id } else if pixels[i] != id { conflict[i] = true }
            }
        }
        // A pixel claimed by two classes stays unknown, whichever file came last.
        for i in pixels.indices where conflict[i] { pixels[i] = 255 }
        return GrayImage(width: size.0, height: size.1, pixels: pixels)
    }

    /// The label of `<Tag>-<label>`: the longest dash-separated tail that names a class (a tag or a label may hold dashes).
    static func channel(_ f: Export, folder: String, names: AnnotationClasses) throws -> Int {
        let parts = f.tagAndLabel.split(separator: "-", omittingEmptySubsequences: false)
        for start in 1..<max(2, parts.count) where start < parts.count {
            if let ch = names.normalizer.match(parts[start...].joined(separator: "-")) { return ch }
        }
        let label = parts.count > 1 ? parts[1...].joined(separator: "-") : f.tagAndLabel
        return try names.channel(of: label, in: folder + f.name, stage: "labelStudioBrush")
    }

    /// task id -> image stem from `taskImages`: `{"12": "stem"}` or Label Studio's JSON export
    /// (`[{"id": 12, "data": {"image": "/data/upload/1/3f2a9c1e-frame_0001.png"}}, ...]`; the upload
    /// prefix Label Studio adds, 8 hex digits and a dash, is dropped when the image is named without it).
    static func taskStems(_ path: String, images: [String: String]) throws -> [Int: String] {
        guard !path.isEmpty else { return [:] }
        guard let data = FileManager.default.contents(atPath: path), let json = try? JSONSerialization.jsonObject(with: data) else {
            throw SegflowError.user("labelStudioBrush: cannot read \(path) as JSON", hint: "taskImages: {\"<task id>\": \"<stem>\"} or Label Studio's JSON export")
        }
        var out: [Int: String] = [:]
        if let map = json as? [String: Any] {
            for (k, v) in map {
                guard let task = Int(k), let stem = v as? String else {
                    throw SegflowError.user("labelStudioBrush: \(path): entry \"\(k)\" is not \"<task id>\": \"<stem>\"")
                }
                out[task] = FileTree.stem(of: (stem as NSString).lastPathComponent)
            }
        } else if let tasks = json as? [[String: Any]] {
            for (n, t) in tasks.enumerated() {
                guard let task = (t["id"] as? NSNumber)?.intValue, let data = t["data"] as? [String: Any],
                      let ref = (data["image"] as? String) ?? data.values.compactMap({ $0 as? String }).sorted().first else {
                    throw SegflowError.user("labelStudioBrush: \(path): task [\(n)] has no id or no data.image")
                }
                var stem = FileTree.stem(of: (ref as NSString).lastPathComponent)
                let prefix = stem.prefix(9)
                if images[stem] == nil, prefix.count == 9, prefix.last == "-", prefix.dropLast().allSatisfy(\.isHexDigit) {
                    stem = String(stem.dropFirst(9))
                }
                out[task] = stem
            }
        } else {
            throw SegflowError.user("labelStudioBrush: \(path) is neither a JSON object nor a list of tasks")
        }
        return out
    }
}
