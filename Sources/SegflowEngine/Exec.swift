import Foundation
import SegflowCore
import SegflowGraph
import SegflowSpec
import SegflowStages

/// `segflow exec TYPE --input PORT=DIR --param K=V --out DIR`: one stage on folders, through the same cache.
public struct ExecRequest: Sendable {
    public var stageType: String
    public var inputs: [(port: String, directory: String)]
    public var params: [(key: String, value: String)]
    public var classes: String?
    public var output: String
    public init(stageType: String, inputs: [(port: String, directory: String)], params: [(key: String, value: String)],
                classes: String?, output: String) {
        self.stageType = stageType; self.inputs = inputs; self.params = params; self.classes = classes; self.output = output
    }
}

extension Engine {
    /// Builds a two-level pipeline in memory (folder imports -> the stage), runs it, copies the outputs to `output`.
    public func exec(_ req: ExecRequest, options: RunOptions, reporter: RunReporter) async throws -> RunSummary {
        var catalog = self.catalog
        for t in PortType.allCases { catalog.add(source: FolderSource(type: t)) }
        guard let d = catalog.registry[req.stageType] else {
            throw SegflowError.user("unknown stage type '\(req.stageType)'",
                                    hint: catalog.registry.hint(forUnknownType: req.stageType))
        }
        var bag = DiagnosticBag()
        var stages: [StageSpec] = []
        var refs: [InputRef] = []
        for (port, dir) in req.inputs {
            let loc = SourceLocation(file: "--input \(port)=\(dir)", line: 1, column: 1)
            guard let spec = d.input(port) else {
                bag.error("\(d.name) has no input '\(port)'", at: loc, hint: "inputs: \(d.inputs.map { "\($0.name) (\($0.type.rawValue))" }.joined(separator: ", "))")
                continue
            }
            let abs = URL(fileURLWithPath: dir, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath + "/")).standardized.path
            stages.append(StageSpec(name: "input-\(port)", type: "folder\(spec.type.rawValue)", at: loc, inputs: [],
                                    params: [(key: "path", value: YAMLNode(.scalar(abs, plain: false), at: loc))]))
            refs.append(InputRef(port: port, stage: "input-\(port)", output: "files", at: loc))
        }
        let params = req.params.map { kv in
            (key: kv.key, value: YAMLNode(.scalar(kv.value, plain: true), at: SourceLocation(file: "--param \(kv.key)=\(kv.value)", line: 1, column: 1)))
        }
        stages.append(StageSpec(name: d.name, type: d.name, at: SourceLocation(file: "exec", line: 1, column: 1), inputs: refs, params: params))
        var classes = ClassList(classes: [], ignore: nil, background: nil, source: "none")
        if let c = req.classes {
            do { classes = try ClassList.loadFile(path: c) } catch let SegflowError.diagnostics(ds) { bag.append(contentsOf: ds) }
        }
        try bag.throwIfErrors()
        let spec = PipelineSpec(file: "exec", name: "exec-\(d.name)", classes: classes, stages: stages)
        let graph = try PipelineGraph(spec: spec, registry: catalog.registry)
        let engine = Engine(workspace: workspace, catalog: catalog)
        let summary = try await engine.run(graph, options: options, reporter: reporter)
        guard let node = summary.node(d.name), node.status != "failed", node.status != "skipped" else {
            throw SegflowError.stageFailed(node: d.name, item: nil, message: summary.node(d.name)?.error ?? "did not run")
        }
        let fm = FileManager.default
        let single = node.outputs.count == 1
        for (port, tree) in node.outputs {
            let dir = single ? req.output : req.output + "/" + port
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for (name, digest) in tree.files {
                let dest = dir + "/" + name
                try? fm.removeItem(atPath: dest)
                // From the bytes: the object may be inline in the index, with no file to copy.
                try workspace.objects.read(digest).write(to: URL(fileURLWithPath: dest))
                chmod(dest, 0o644)
            }
        }
        return summary
    }
}
