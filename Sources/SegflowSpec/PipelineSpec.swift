import Foundation
import SegflowCore

/// A pipeline file as written: structure checked, nothing resolved against stage types yet.
public struct PipelineSpec: Sendable {
    public var file: String
    /// The folder relative paths in the pipeline are taken from.
    public var baseDirectory: String
    public var version: Int
    public var name: String
    public var classes: ClassList
    /// Pipeline-level params, usable in stage params as `${params.NAME}`.
    public var params: [String: YAMLNode]
    /// Reserved: `matrix:` is expanded by the graph layer.
    public var matrix: YAMLNode?
    public var stages: [StageSpec]
    /// `executor:` at the top: every stage's default (never part of a key).
    public var executor = ExecutorSettings()
    public var location: SourceLocation
    /// Problems found in the file that do not stop the graph from being checked too; reported with its errors.
    public var diagnostics: [Diagnostic] = []
}

/// One stage as written in `stages:`.
public struct StageSpec: Sendable {
    public var name: String
    public var nameLocation: SourceLocation
    public var type: String
    public var typeLocation: SourceLocation
    /// `port: stage.port` references in written order.
    public var inputs: [InputRef]
    public var params: [(key: String, value: YAMLNode)]
    public var resources: [String: YAMLNode]
    /// Where the stage runs (`executor:`), over the pipeline's default; never part of a key.
    public var executor = ExecutorSettings()
}

/// A reference `stage.port` to another stage's output.
public struct InputRef: Sendable {
    public var port: String
    public var portLocation: SourceLocation
    public var stage: String
    public var output: String
    public var location: SourceLocation
}

extension PipelineSpec {
    /// A pipeline built in code (`segflow exec`), not read from a file.
    public init(file: String, name: String, classes: ClassList, stages: [StageSpec]) {
        self.file = file
        self.baseDirectory = FileManager.default.currentDirectoryPath
        self.version = 1; self.name = name; self.classes = classes; self.params = [:]; self.matrix = nil
        self.stages = stages; self.location = SourceLocation(file: file, line: 1, column: 1)
    }
}

extension StageSpec {
    public init(name: String, type: String, at location: SourceLocation, inputs: [InputRef], params: [(key: String, value: YAMLNode)]) {
        self.name = name; self.nameLocation = location; self.type = type; self.typeLocation = location
        self.inputs = inputs; self.params = params; self.resources = [:]
    }
}

extension InputRef {
    public init(port: String, stage: String, output: String, at location: SourceLocation) {
        self.port = port; self.portLocation = location; self.stage = stage; self.output = output; self.location = location
    }
}

extension PipelineSpec {
    static let topLevelKeys = ["version", "name", "classes", "params", "matrix", "stages", "executor", "description"]
    static let stageKeys = ["type", "inputs", "params", "resources", "executor", "description"]

    /// Loads and checks a pipeline file's structure, reporting every problem at once.
    /// `overrides` replace pipeline params (from `--param NAME=VALUE` on the command line).
    public static func load(path: String, overrides: [String: String] = [:]) throws -> PipelineSpec {
        let (root, diagnostics) = try YAMLParser.parseCollecting(try YAMLParser.read(path), file: path)
        guard let root else { throw SegflowError.diagnostics(diagnostics) }
        var spec = try PipelineSpec(root: root, file: path, overrides: overrides, earlier: diagnostics)
        spec.diagnostics.insert(contentsOf: diagnostics, at: 0)
        return spec
    }

    /// Checks the structure. Throws only when nothing more can be checked (not a mapping); other problems are kept
    /// in `diagnostics` so the graph reports them together with its own.
    public init(root: YAMLNode, file: String, overrides: [String: String] = [:], earlier: [Diagnostic] = []) throws {
        var bag = DiagnosticBag()
        let base = URL(fileURLWithPath: file).deletingLastPathComponent().path
        self.file = file
        self.baseDirectory = base
        self.location = root.location
        self.version = 1
        self.name = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        self.classes = ClassList(classes: [], ignore: nil, background: nil, source: "")
        self.params = [:]
        self.stages = []
        guard let top = root.mapping else {
            bag.error("a pipeline file must be a mapping with 'version', 'name', 'classes' and 'stages', found \(root.kindDescription)", at: root.location)
            bag.append(contentsOf: earlier)
            try bag.throwIfErrors(); return
        }
        for (key, _) in top where !Self.topLevelKeys.contains(key.scalar ?? "") {
            let k = key.scalar ?? ""
            bag.error("unknown top-level key '\(k)'", at: key.location,
                      hint: Suggest.closest(to: k, in: Self.topLevelKeys).map { "did you mean '\($0)'?" }
                        ?? "allowed: \(Self.topLevelKeys.joined(separator: ", "))")
        }
        if let v = root["version"] {
            if case .int(let n) = v.resolved, n == 1 { version = 1 } else {
                bag.error("unsupported version \(v.scalar ?? v.kindDescription)", at: v.location, hint: "write 'version: 1'")
            }
        } else {
            bag.error("missing 'version'", at: root.location, hint: "add 'version: 1' at the top")
        }
        if let n = root["name"] {
            // Not starting with '.': it names a folder under results/, where '.' and '..' would escape it
            // and dot-names are the temporary folders of runs in progress.
            if let s = n.scalar, !s.isEmpty, !s.hasPrefix("."), s.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) {
                name = s
            } else {
                bag.error("'name' must be letters, digits, '-', '_' or '.', not starting with '.', found \(n.scalar.map { "'\($0)'" } ?? n.kindDescription)", at: n.location,
                          hint: "it names the results folder, e.g. 'name: camvid-wsss'")
            }
        }
        if let p = root["params"] {
            if let m = p.mapping {
                for (k, v) in m { params[k.scalar ?? ""] = v }
            } else {
                bag.error("'params' must be a mapping of names to values, found \(p.kindDescription)", at: p.location)
            }
        }
        for (k, v) in overrides {
            if params[k] == nil {
                bag.error("--param \(k): the pipeline has no param '\(k)'", at: nil,
                          hint: params.isEmpty ? "this pipeline declares no params" : "declared: \(params.keys.sorted().joined(separator: ", "))")
            }
            params[k] = YAMLNode(.scalar(v, plain: true), at: SourceLocation(file: "--param", line: 1, column: 1))
        }
        params = ParamReferences.expand(params, bag: &bag)
        if let c = root["classes"] {
            do { classes = try ClassList.load(node: c, baseDirectory: base) } catch let SegflowError.diagnostics(ds) {
                bag.append(contentsOf: ds)
            }
        } else {
            bag.error("missing 'classes'", at: root.location, hint: "add 'classes: path/to/classes.yaml' or an inline list")
        }
        matrix = root["matrix"]
        if let e = root["executor"] { executor = ExecutorSettings.parse(e, owner: "the pipeline", bag: &bag) }
        if let s = root["stages"] {
            if let m = s.mapping {
                if m.isEmpty { bag.error("'stages' is empty", at: s.location, hint: "declare at least one stage") }
                for (k, v) in m { if let st = Self.parseStage(name: k, node: v, bag: &bag) { stages.append(st) } }
            } else {
                bag.error("'stages' must be a mapping of stage names to stages, found \(s.kindDescription)", at: s.location)
            }
        } else {
            bag.error("missing 'stages'", at: root.location, hint: "add a 'stages:' mapping")
        }
        diagnostics = bag.items
    }

    /// Whether a name starts with a letter or '_' and uses letters, digits, '_' and '-' (stage names, axes).
    public static func isIdentifier(_ s: String) -> Bool {
        guard let f = s.first, f.isLetter || f == "_" else { return false }
        return s.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }
    }

    static func parseStage(name key: YAMLNode, node: YAMLNode, bag: inout DiagnosticBag) -> StageSpec? {
        let name = key.scalar ?? ""
        if !isIdentifier(name) {
            bag.error("stage name '\(name)' must start with a letter and use letters, digits, '_' or '-'", at: key.location)
        }
        guard let m = node.mapping else {
            bag.error("stage '\(name)' must be a mapping with 'type', found \(node.kindDescription)", at: node.location,
                      hint: "write '\(name): {type: imageFolder, params: {...}}'")
            return nil
        }
        for (k, _) in m where !stageKeys.contains(k.scalar ?? "") {
            let ks = k.scalar ?? ""
            bag.error("unknown key '\(ks)' in stage '\(name)'", at: k.location,
                      hint: Suggest.closest(to: ks, in: stageKeys).map { "did you mean '\($0)'?" } ?? "allowed: \(stageKeys.joined(separator: ", "))")
        }
        guard let t = node["type"], let type = t.scalar, !type.isEmpty else {
            bag.error("stage '\(name)' has no 'type'", at: node.location, hint: "add 'type: ...'; `segflow stages` lists the types")
            return nil
        }
        var spec = StageSpec(name: name, nameLocation: key.location, type: type, typeLocation: t.location,
                             inputs: [], params: [], resources: [:])
        if let ins = node["inputs"] {
            if let im = ins.mapping {
                for (p, v) in im {
                    let port = p.scalar ?? ""
                    guard let ref = v.scalar, let dot = ref.firstIndex(of: "."),
                          !ref[..<dot].isEmpty, !ref[ref.index(after: dot)...].isEmpty else {
                        bag.error("input '\(port)' of stage '\(name)' must be a reference 'stage.port', found \(v.kindDescription)",
                                  at: v.location, hint: "e.g. '\(port): images.images'")
                        continue
                    }
                    spec.inputs.append(InputRef(port: port, portLocation: p.location, stage: String(ref[..<dot]),
                                                output: String(ref[ref.index(after: dot)...]), location: v.location))
                }
            } else {
                bag.error("'inputs' of stage '\(name)' must be a mapping 'port: stage.port', found \(ins.kindDescription)", at: ins.location)
            }
        }
        if let ps = node["params"] {
            if let pm = ps.mapping { spec.params = pm.map { (key: $0.key.scalar ?? "", value: $0.value) } }
            else if !(ps.scalar.map { YAMLNode.resolvePlain($0) == .null } ?? false) {
                bag.error("'params' of stage '\(name)' must be a mapping, found \(ps.kindDescription)", at: ps.location)
            }
        }
        if let rs = node["resources"] {
            if let rm = rs.mapping { for (k, v) in rm { spec.resources[k.scalar ?? ""] = v } }
            else { bag.error("'resources' of stage '\(name)' must be a mapping like {cpu: 2, gpu: 1}", at: rs.location) }
        }
        if let e = node["executor"] { spec.executor = ExecutorSettings.parse(e, owner: "stage '\(name)'", bag: &bag) }
        return spec
    }
}
