import Foundation
import SegflowCore
import SegflowGraph

/// `imageFolder`: imports a dataset folder (and optional same-stem masks) as item sets.
public struct ImageFolderStage: SourceStage {
    public init() {}
    public let descriptor = StageDescriptor(
        name: "imageFolder", version: 1,
        inputs: [],
        outputs: [PortSpec("images", .images), PortSpec("masks", .masks),
                  PortSpec("scribbles", .scribbles), PortSpec("points", .points), PortSpec("boxes", .boxes)],
        params: [
            ParamSpec("images", .directory, doc: "folder of .png/.jpg images, relative to the pipeline file"),
            ParamSpec("masks", .directory, default: .string(""), doc: "optional folder of same-stem label PNGs, relative to the pipeline file"),
            ParamSpec("scribbles", .directory, default: .string(""),
                      doc: "optional folder of same-stem sparse label PNGs (class id where scribbled, 255 elsewhere)"),
            ParamSpec("points", .directory, default: .string(""),
                      doc: "optional folder of same-stem click files: {\"points\": [{\"class\": ..., \"x\": ..., \"y\": ...}]}"),
            ParamSpec("boxes", .directory, default: .string(""),
                      doc: "optional folder of same-stem box files: {\"boxes\": [{\"class\": ..., \"x0\": ..., \"y0\": ..., \"x1\": ..., \"y1\": ...}]}"),
            ParamSpec("list", .file, default: .string(""),
                      doc: "optional file of stems, or 'image mask' pairs (paths relative to the list file's folder)"),
            ParamSpec("limit", .int, default: .int(0), min: 0, doc: "import only the first N items in sorted order (0 = all)"),
        ],
        granularity: .source, summary: "Import a folder of images (and masks) as item sets.")


    public func enumerate(params: [String: CanonicalValue]) throws -> [SourceFile] {
        let imagesDir = params["images"]?.stringValue ?? ""
        let masksParam = params["masks"]?.stringValue ?? ""
        let listParam = params["list"]?.stringValue ?? ""
        func absolute(_ p: String, from dir: String) -> String {
            p.hasPrefix("/") ? p : URL(fileURLWithPath: dir).appendingPathComponent(p).standardized.path
        }
        // directory and file params arrive absolute (ParamValidation resolves them against the pipeline).
        let masksDir = masksParam.isEmpty ? nil : masksParam
        // Annotation folders beside the images: (port, folder, extension of its files).
        let annotations: [(port: String, folder: String, ext: String)] = Self.annotationPorts.compactMap { port, ext in
            guard let dir = params[port]?.stringValue, !dir.isEmpty else { return nil }
            return (port, dir.hasSuffix("/") ? dir : dir + "/", ext)
        }
        var annotationNames: [Set<String>] = []
        for a in annotations {
            guard let names = try? Self.listDirectory(a.folder) else {
                throw SegflowError.user("imageFolder: \(a.port) folder not found: \(a.folder)", hint: "paths are relative to the pipeline file's folder")
            }
            annotationNames.append(Set(names))
        }
        /// The annotation files of one image stem.
        func annotationFiles(_ stem: String) -> [SourceFile] {
            annotations.enumerated().compactMap { k, a in
                let name = stem + "." + a.ext
                return annotationNames[k].contains(name) ? SourceFile(port: a.port, name: name, folder: a.folder) : nil
            }
        }
        var out: [SourceFile] = []
        if !listParam.isEmpty {
            let listPath = listParam
            guard let text = try? String(contentsOfFile: listPath, encoding: .utf8) else {
                throw SegflowError.user("imageFolder: cannot read list file \(listPath)", hint: "paths are relative to the pipeline file's folder")
            }
            let listDir = (listPath as NSString).deletingLastPathComponent
            for (n, raw) in text.split(separator: "\n").enumerated() {
                let line = raw.trimmingCharacters(in: .whitespaces)
                if line.isEmpty || line.hasPrefix("#") { continue }
                let parts = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                if parts.count == 2 {
                    let img = absolute(parts[0], from: listDir), mask = absolute(parts[1], from: listDir)
                    let stem = FileTree.stem(of: (img as NSString).lastPathComponent)
                    out.append(SourceFile(port: "images", name: (img as NSString).lastPathComponent, path: img))
                    out.append(SourceFile(port: "masks", name: stem + ".png", path: mask))
                    out.append(contentsOf: annotationFiles(stem))
                } else if parts.count == 1 {
                    out.append(contentsOf: try files(forStem: parts[0], imagesDir: imagesDir, masksDir: masksDir, listLine: "\(listPath):\(n + 1)"))
                    out.append(contentsOf: annotationFiles(parts[0]))
                } else {
                    throw SegflowError.user("\(listPath):\(n + 1): expected 'stem' or 'image mask', found \(parts.count) fields")
                }
            }
        } else {
            // The two folders are listed (and the images sorted, the masks hashed) side by side.
            var names: [String] = []
            var maskNames: Set<String>? = nil
            DispatchQueue.concurrentPerform(iterations: masksDir == nil ? 1 : 2) { job in
                if job == 0 {
                    names = ((try? Self.listDirectory(imagesDir)) ?? []).sorted()
                } else if let masksDir, let m = try? Self.listDirectory(masksDir) {
                    maskNames = Set(m)
                }
            }
            if let masksDir, maskNames == nil {
                throw SegflowError.user("imageFolder: masks folder not found: \(masksDir)", hint: "paths are relative to the pipeline file's folder")
            }
            let imagesFolder = imagesDir.hasSuffix("/") ? imagesDir : imagesDir + "/"
            let masksFolder = masksDir.map { $0.hasSuffix("/") ? $0 : $0 + "/" }
            // Sized for an image and a mask each (grown, a 20k-file list was copied a dozen times).
            out.reserveCapacity(names.count * (masksFolder == nil ? 1 : 2))
            for name in names where Self.isImageName(name) {
                out.append(SourceFile(port: "images", name: name, folder: imagesFolder))
                if let masksFolder {
                    let maskName = FileTree.stem(of: name) + ".png"
                    if maskNames?.contains(maskName) == true {
                        out.append(SourceFile(port: "masks", name: maskName, folder: masksFolder))
                    }
                }
                if !annotations.isEmpty { out.append(contentsOf: annotationFiles(FileTree.stem(of: name))) }
            }
        }
        if let limit = params["limit"]?.intValue, limit > 0 {
            let keep = Set(out.filter { $0.port == "images" }.prefix(limit).map { FileTree.stem(of: $0.name) })
            out = out.filter { keep.contains(FileTree.stem(of: $0.name)) }
        }
        return out
    }

    /// Optional annotation folders: param and port name, and the extension of their files.
    static let annotationPorts: [(String, String)] = [("scribbles", "png"), ("points", "json"), ("boxes", "json")]

    /// Whether a file name ends in .png, .jpg or .jpeg, any case (bytes: no lowercased copy per file).
    static func isImageName(_ name: String) -> Bool {
        var tail: UInt64 = 0
        var length = 0
        var dot = false
        for byte in name.utf8.reversed() {
            if byte == UInt8(ascii: ".") { dot = true; break }
            guard length < 4 else { return false }
            tail |= UInt64(byte | 0x20) << (8 * UInt64(length))
            length += 1
        }
        // As FileTree.extension(of:): a dot that starts the name does not start an extension.
        guard dot, length + 1 < name.utf8.count else { return false }
        // "png", "jpg", "jpeg" with the first letter most significant.
        return tail == 0x70_6e_67 || tail == 0x6a_70_67 || tail == 0x6a_70_65_67
    }

    /// File names in a folder (no dot files).
    static func listDirectory(_ path: String) throws -> [String] {
        try Directory.entries(of: path).map(\.name)
    }

    private func files(forStem stem: String, imagesDir: String, masksDir: String?, listLine: String) throws -> [SourceFile] {
        var out: [SourceFile] = []
        guard let ext = ["png", "jpg", "jpeg", "PNG", "JPG"].first(where: { FileManager.default.fileExists(atPath: "\(imagesDir)/\(stem).\($0)") }) else {
            throw SegflowError.user("\(listLine): no image \(stem).png or .jpg in \(imagesDir)", hint: "fix the stem or remove the line")
        }
        out.append(SourceFile(port: "images", name: "\(stem).\(ext)", path: "\(imagesDir)/\(stem).\(ext)"))
        if let masksDir, FileManager.default.fileExists(atPath: "\(masksDir)/\(stem).png") {
            out.append(SourceFile(port: "masks", name: "\(stem).png", path: "\(masksDir)/\(stem).png"))
        }
        return out
    }
}
