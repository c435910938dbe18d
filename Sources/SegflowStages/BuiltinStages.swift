import Foundation
import SegflowCore
import SegflowGraph

extension StageCatalog {
    /// The built-in Swift stages plus every plugin found under `pluginRoots` (`digest`: see `Plugin.load`).
    public static func standard(pluginRoots: [String],
                                digest: (String) throws -> Digest = { try Digest.ofFile(at: $0) }) throws -> StageCatalog {
        var c = StageCatalog()
        c.add(source: ImageFolderStage())
        c.add(source: LabelFileStage())
        c.add(source: VideoFramesStage())
        c.add(source: COCOAnnotationsStage())
        c.add(source: YOLOLabelsStage())
        c.add(source: LabelStudioBrushStage())
        for s in nativeStages { c.add(s) }
        for dir in Plugin.discover(roots: pluginRoots) {
            let plugin = try Plugin.load(directory: dir, digest: digest)
            for d in plugin.stages { c.add(PluginStage(descriptor: d, plugin: plugin)) }
        }
        return c
    }

    /// Native stage implementations (imaging stages are added as they land).
    static var nativeStages: [any StageImplementation] {
        [MaskLabelsStage(), PseudoLabelStage(), EvaluateStage(), LabelEvalStage(), VisualizeStage(), CRFStage(), CoTLabelStage(),
         MaskPointsStage(), MaskScribblesStage(), MaskBoxesStage(), SeedCRFStage(), BoxMasksStage(), VLMGroundStage()]
    }

    /// Plugin roots: `plugins/` next to the pipeline (or cwd), the package's own, and SEGFLOW_PLUGIN_PATH.
    public static func defaultPluginRoots(near directory: String?) -> [String] {
        var roots: [String] = []
        let fm = FileManager.default
        var candidates: [String] = []
        if let d = directory {
            var u = URL(fileURLWithPath: d).standardized
            for _ in 0..<4 { candidates.append(u.path + "/plugins"); u.deleteLastPathComponent() }
        }
        candidates.append(fm.currentDirectoryPath + "/plugins")
        for c in candidates where fm.fileExists(atPath: c) && !roots.contains(c) { roots.append(c); break }
        if let extra = ProcessInfo.processInfo.environment["SEGFLOW_PLUGIN_PATH"] {
            roots += extra.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        }
        return roots
    }
}
