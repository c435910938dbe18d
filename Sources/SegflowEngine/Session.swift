import Foundation
import SegflowCore
import SegflowGraph
import SegflowSpec
import SegflowStages

/// What every command opens: the cache and the stage catalog (built-ins + plugins).
public struct Session: Sendable {
    public let engine: Engine

    public init(cache: String?, near directory: String? = nil) throws {
        let workspace = try Workspace(root: cache ?? Workspace.defaultRoot())
        // Plugin sources are digested through the cache's file fingerprints: unchanged files are only stat-ed.
        let files = Fingerprinter(index: workspace.index)
        let search = PluginSearch(near: directory)
        var catalog = try StageCatalog.standard(pluginRoots: search.roots, digest: { try files.digest(of: $0) })
        catalog.registry.unknownTypeHint = { search.unknownTypeHint($0) }
        try files.save()
        engine = Engine(workspace: workspace, catalog: catalog)
    }

    public var workspace: Workspace { engine.workspace }
    public var catalog: StageCatalog { engine.catalog }

    /// Loads and validates a pipeline, all errors at once.
    public static func loadGraph(path: String, params: [String: String], cache: String?) throws -> (Session, PipelineGraph) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw SegflowError.user("no pipeline file at \(path)", hint: "pass the path of a pipeline YAML, e.g. pipelines/quickstart.yaml")
        }
        let spec = try PipelineSpec.load(path: path, overrides: params)
        let session = try Session(cache: cache, near: spec.baseDirectory)
        return (session, try PipelineGraph(spec: spec, registry: session.catalog.registry))
    }
}
