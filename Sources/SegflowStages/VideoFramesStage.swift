import Foundation
import SegflowCore
import SegflowGraph
import SegflowImaging
import SegflowVision

/// `videoFrames`: keyframes of a folder of videos as Images, decoded by FFmpeg (see `VideoDecoder`)
/// and thinned by frame difference (see `KeyframeSelector`). Items are `<video stem>_<frame index>`.
public struct VideoFramesStage: ExpandingSource {
    public init() {}
    public let descriptor = StageDescriptor(
        name: "videoFrames", version: 1, inputs: [], outputs: [PortSpec("images", .images)],
        params: [
            ParamSpec("videos", .directory, doc: "folder of video files (\(Self.extensions.sorted().joined(separator: ", "))), relative to the pipeline file"),
            ParamSpec("every", .int, default: .int(1), min: 1, doc: "consider every Nth decoded frame"),
            ParamSpec("selectThreshold", .float, default: .double(30), min: 0, max: 255,
                      doc: "keep a frame when its mean absolute grayscale difference (0-255) to the last KEPT frame exceeds this (0 = keep every considered frame)"),
            ParamSpec("maxFrames", .int, default: .int(0), min: 0, doc: "keep at most this many frames per video (0 = no limit)"),
        ],
        granularity: .source, summary: "Extract keyframes from a folder of videos (FFmpeg) as images.")

    /// File extensions taken for videos (any case); other files in the folder are left alone.
    static let extensions: Set<String> = ["mp4", "mov", "mkv", "avi", "webm", "m4v", "mpg", "mpeg", "ts", "mts", "wmv", "flv"]

    public func enumerate(params: [String: CanonicalValue]) throws -> [SourceFile] {
        let dir = params["videos"]?.stringValue ?? ""
        guard let entries = try? Directory.entries(of: dir) else {
            throw SegflowError.user("videoFrames: videos folder not found: \(dir)", hint: "paths are relative to the pipeline file's folder")
        }
        let folder = dir.hasSuffix("/") ? dir : dir + "/"
        var byStem: [String: String] = [:]
        var out: [SourceFile] = []
        for e in entries.sorted(by: { $0.name < $1.name }) where !e.isDirectory && Self.extensions.contains(FileTree.extension(of: e.name).lowercased()) {
            let stem = FileTree.stem(of: e.name)
            if let other = byStem[stem] {
                throw SegflowError.user("videoFrames: \(folder)\(other) and \(folder)\(e.name) would both make items named \(stem)_<frame>",
                                        hint: "rename one of them")
            }
            byStem[stem] = e.name
            out.append(SourceFile(port: "videos", name: e.name, folder: folder))
        }
        return out
    }

    public func expand(_ file: SourceFile, params: [String: CanonicalValue], into directory: String,
                       isCancelled: @Sendable () -> Bool) throws -> [String: CanonicalValue] {
        let every = max(1, params["every"]?.intValue ?? 1)
        let maxFrames = params["maxFrames"]?.intValue ?? 0
        var selector = KeyframeSelector(threshold: params["selectThreshold"]?.doubleValue ?? 30)
        let outDir = directory + "/images"
        try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        var kept: [(part: String, frame: Int, position: Int)] = []
        var position = 0
        let times: [Double]
        do {
            times = try VideoDecoder.decode(path: file.path, every: every) { frame in
                defer { position += 1 }
                if isCancelled() { return false }
                guard selector.consider(frame.image).keep else { return true }
                let part = Self.part(frame.index)
                try ImageIO.writePNG(frame.image, to: "\(outDir)/\(part).png")
                kept.append((part, frame.index, position))
                return maxFrames == 0 || kept.count < maxFrames
            }
        } catch let e as ImagingError {
            throw SegflowError.user("videoFrames: \(e.path): \(e.problem)", hint: e.hint.isEmpty ? nil : e.hint)
        }
        if isCancelled() { throw SegflowError.cancelled }
        var provenance: [String: CanonicalValue] = [:]
        for k in kept {
            let t = k.position < times.count ? times[k.position] : .nan
            provenance[k.part] = .map(["frame": .int(Int64(k.frame)), "seconds": t.isFinite ? .double(t) : .null])
        }
        return provenance
    }

    /// The part of an item name for a frame index: zero-padded so that names sort in time order.
    static func part(_ index: Int) -> String {
        let s = String(index)
        return s.count >= 6 ? s : String(repeating: "0", count: 6 - s.count) + s
    }
}
