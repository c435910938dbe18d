import Foundation
import SegflowCore
import SegflowGraph

/// `imageFolder`: imports a dataset folder (and optional same-stem masks) as item sets.
public struct ImageFolderStage: SourceStage {
    public init() {}
    public let descriptor = StageDescriptor(
        name: "imageFolder", version: 1,
        inputs: [],
        outputs: [PortSpec("images", .images), PortSpec("masks", .masks)],
        params: [
            ParamSpec("images", .directory, doc: "folder of .png/.jpg images, relative to the pipeline file"),
            ParamSpec("masks", .directory, default: .string(""), doc: "optional folder of same-stem label PNGs, relative to the pipeline file"),
            ParamSpec("list", .file, default: .string(""),
                      doc: "optional file of stems, or 'image mask' pairs (paths relative to the list file's folder)"),
            ParamSpec("limit", .int, default: .int(0), min: 0, doc: "import only the first N items in sorted order (0 = all)"),
        ],
        granularity: .source, summary: "Import a folder of images (and masks) as item sets.")

    static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

    public func enumerate(params: [String: CanonicalValue]) throws -> [SourceFile] {
        let imagesDir = params["images"]?.stringValue ?? ""
        let masksParam = params["masks"]?.stringValue ?? ""
        let listParam = params["list"]?.stringValue ?? ""
        func absolute(_ p: String, from dir: String) -> String {
            p.hasPrefix("/") ? p : URL(fileURLWithPath: dir).appendingPathComponent(p).standardized.path
        }
        // directory and file params arrive absolute (ParamValidation resolves them against the pipeline).
        let masksDir = masksParam.isEmpty ? nil : masksParam
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
                } else if parts.count == 1 {
                    out.append(contentsOf: try files(forStem: parts[0], imagesDir: imagesDir, masksDir: masksDir, listLine: "\(listPath):\(n + 1)"))
                } else {
                    throw SegflowError.user("\(listPath):\(n + 1): expected 'stem' or 'image mask', found \(parts.count) fields")
                }
            }
        } else {
            let names = (try? Self.listDirectory(imagesDir)) ?? []
            var maskNames: Set<String> = []
            if let masksDir {
                guard let m = try? Self.listDirectory(masksDir) else {
                    throw SegflowError.user("imageFolder: masks folder not found: \(masksDir)", hint: "paths are relative to the pipeline file's folder")
                }
                maskNames = Set(m)
            }
            let imagesFolder = imagesDir.hasSuffix("/") ? imagesDir : imagesDir + "/"
            let masksFolder = masksDir.map { $0.hasSuffix("/") ? $0 : $0 + "/" }
            for name in names.sorted() where Self.imageExtensions.contains(FileTree.extension(of: name).lowercased()) {
                out.append(SourceFile(port: "images", name: name, folder: imagesFolder))
                if let masksFolder {
                    let maskName = FileTree.stem(of: name) + ".png"
                    if maskNames.contains(maskName) {
                        out.append(SourceFile(port: "masks", name: maskName, folder: masksFolder))
                    }
                }
            }
        }
        if let limit = params["limit"]?.intValue, limit > 0 {
            let keep = Set(out.filter { $0.port == "images" }.prefix(limit).map { FileTree.stem(of: $0.name) })
            out = out.filter { keep.contains(FileTree.stem(of: $0.name)) }
        }
        return out
    }

    /// File names in a folder via readdir (FileManager costs several times more on 10k-file folders).
    static func listDirectory(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else {
            throw SegflowError.user("cannot list \(path): \(String(cString: strerror(errno)))")
        }
        defer { closedir(dir) }
        var out: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name.hasPrefix(".") { continue }
            out.append(name)
        }
        return out
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
