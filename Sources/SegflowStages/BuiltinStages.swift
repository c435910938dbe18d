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
        for plugin in try Plugin.loadAll(roots: pluginRoots, digest: digest) {
            for d in plugin.stages { c.add(PluginStage(descriptor: d, plugin: plugin)) }
        }
        return c
    }

    /// Native stage implementations (imaging stages are added as they land).
    static var nativeStages: [any StageImplementation] {
        [MaskLabelsStage(), PseudoLabelStage(), EvaluateStage(), LabelEvalStage(), VisualizeStage(), CRFStage(), CoTLabelStage(),
         MaskPointsStage(), MaskScribblesStage(), MaskBoxesStage(), SeedCRFStage(), BoxMasksStage(), VLMGroundStage()]
    }

    /// Plugin roots in search order (see `PluginSearch`): beside the pipeline, installed, SEGFLOW_PLUGIN_PATH.
    public static func defaultPluginRoots(near directory: String?) -> [String] {
        PluginSearch(near: directory).roots
    }
}
