import Foundation
import SegflowCore
import SegflowGraph
import SegflowSpec

/// A plugin folder: `plugin.yaml` + sources + pinned requirements.
public struct Plugin: Sendable {
    public var name: String
    public var directory: String
    public var entry: String
    /// nil: the worker runs on the system `python3` (no packages needed).
    public var requirements: String?
    /// A script `segflow plugins doctor` runs in the environment (imports, device), if any.
    public var doctor: String?
    /// Digest of the manifest, every source file matched by `sources`, and the requirements.
    public var fingerprint: Digest
    public var requirementsDigest: Digest?
    public var stages: [StageDescriptor]
    public var sourceFiles: [String]

    /// Loads `<directory>/plugin.yaml`, reporting every problem with file:line:column. `digest` gives a
    /// file's content digest (the engine passes one that reuses the cache's file fingerprints, so an
    /// unchanged plugin is stat-ed, not re-read, on every command).
    public static func load(directory: String, digest: (String) throws -> Digest = { try Digest.ofFile(at: $0) }) throws -> Plugin {
        let manifestPath = directory + "/plugin.yaml"
        let root = try YAMLParser.parse(file: manifestPath)
        var bag = DiagnosticBag()
        let name = root["name"]?.scalar ?? URL(fileURLWithPath: directory).lastPathComponent
        let version = root["version"]?.resolved.intValue ?? 1
        guard let entry = root["entry"]?.scalar else {
            throw SegflowError.user("plugin manifest has no 'entry'", at: root.location, hint: "add 'entry: worker.py'")
        }
        let requirements = root["requirements"]?.scalar
        let patterns = root["sources"]?.sequence?.compactMap(\.scalar) ?? [entry]
        let files = matchFiles(in: directory, patterns: patterns + [entry])
        var e = HashEncoder(domain: "segflow.plugin.v1")
        e.append(digest: try digest(manifestPath))
        for f in files { e.append(string: f); e.append(digest: try digest(directory + "/" + f)) }
        var reqDigest: Digest? = nil
        if let r = requirements {
            let p = directory + "/" + r
            guard FileManager.default.fileExists(atPath: p) else {
                throw SegflowError.user("plugin \(name): requirements file \(p) not found", at: root["requirements"]!.location)
            }
            reqDigest = try digest(p)
            e.append(digest: reqDigest!)
        }
        let fingerprint = e.finalize()
        var stages: [StageDescriptor] = []
        for (key, node) in root["stages"]?.mapping ?? [] {
            if let d = parseStage(name: key.scalar ?? "", node: node, plugin: name, version: version,
                                  fingerprint: fingerprint, bag: &bag) { stages.append(d) }
        }
        try bag.throwIfErrors()
        return Plugin(name: name, directory: directory, entry: entry, requirements: requirements, doctor: root["doctor"]?.scalar,
                      fingerprint: fingerprint,
                      requirementsDigest: reqDigest, stages: stages, sourceFiles: files)
    }

    static func matchFiles(in dir: String, patterns: [String]) -> [String] {
        relativeFiles(in: dir).filter { rel in
            !rel.contains("__pycache__") && patterns.contains { fnmatch($0, rel, FNM_PATHNAME) == 0 }
        }.sorted()
    }

    /// Every file below `dir` as a relative path, by readdir (FileManager's enumerator costs several
    /// milliseconds on a plugin folder, and every command loads the plugins). Hidden entries, virtual
    /// environments and caches are not descended into.
    static func relativeFiles(in dir: String, prefix: String = "") -> [String] {
        var out: [String] = []
        for entry in (try? Directory.entries(of: dir)) ?? [] where entry.name != "__pycache__" {
            if entry.isDirectory {
                out.append(contentsOf: relativeFiles(in: dir + "/" + entry.name, prefix: prefix + entry.name + "/"))
            } else {
                out.append(prefix + entry.name)
            }
        }
        return out
    }

    static func parsePort(_ name: String, _ node: YAMLNode, bag: inout DiagnosticBag) -> PortSpec? {
        guard var t = node.scalar else { bag.error("port '\(name)' needs a type name", at: node.location); return nil }
        let optional = t.hasSuffix("?")
        if optional { t.removeLast() }
        // `Masks|Scribbles`: an input that takes either type.
        var types: [PortType] = []
        for part in t.split(separator: "|", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard let type = PortType(rawValue: part) else {
                bag.error("unknown port type '\(part)'", at: node.location,
                          hint: Suggest.closest(to: part, in: PortType.allCases.map(\.rawValue)).map { "did you mean '\($0)'?" }
                            ?? "types: \(PortType.allCases.map(\.rawValue).joined(separator: ", ")) (an input may take several: Masks|Scribbles)")
                return nil
            }
            if !types.contains(type) { types.append(type) }
        }
        return PortSpec(name, types[0], or: Array(types.dropFirst()), optional: optional)
    }

    static func parseStage(name: String, node: YAMLNode, plugin: String, version: Int, fingerprint: Digest,
                           bag: inout DiagnosticBag) -> StageDescriptor? {
        let g = node["granularity"]?.scalar ?? "map"
        guard let granularity = Granularity(rawValue: g), granularity != .source else {
            bag.error("granularity must be map or reduce, found '\(g)'", at: node["granularity"]?.location ?? node.location); return nil
        }
        let inputs = (node["inputs"]?.mapping ?? []).compactMap { parsePort($0.key.scalar ?? "", $0.value, bag: &bag) }
        let outputs = (node["outputs"]?.mapping ?? []).compactMap { parsePort($0.key.scalar ?? "", $0.value, bag: &bag) }
        for (k, v) in node["outputs"]?.mapping ?? [] where (v.scalar ?? "").contains("|") {
            bag.error("output '\(k.scalar ?? "")' has several types; an output has exactly one", at: v.location)
        }
        var params: [ParamSpec] = []
        for (k, v) in node["params"]?.mapping ?? [] {
            let pname = k.scalar ?? ""
            let tname = v["type"]?.scalar ?? "string"
            let type: ParamType
            switch tname {
            case "string": type = .string
            case "int": type = .int
            case "float": type = .float
            case "bool": type = .bool
            case "file": type = .file
            case "stringList": type = .stringList
            default: bag.error("unknown param type '\(tname)'", at: v["type"]?.location ?? v.location, hint: "use string, int, float, bool, file or stringList"); continue
            }
            var def = v["default"]?.resolved
            if type == .float, let d = def?.doubleValue { def = .double(d) }
            params.append(ParamSpec(pname, type, default: def, min: v["min"]?.resolved.doubleValue, max: v["max"]?.resolved.doubleValue,
                                    choices: v["choices"]?.sequence?.compactMap(\.scalar), doc: v["doc"]?.scalar ?? ""))
        }
        var resources: [String: Int] = ["cpu": 1]
        for (k, v) in node["resources"]?.mapping ?? [] { resources[k.scalar ?? ""] = v.resolved.intValue ?? 0 }
        return StageDescriptor(name: name, version: version, implementationFingerprint: fingerprint, inputs: inputs,
                               outputs: outputs, params: params, granularity: granularity, resources: resources,
                               summary: node["description"]?.scalar ?? "", plugin: plugin,
                               timeout: node["timeout"]?.resolved.doubleValue)
    }

    /// Every plugin under `roots`, in order; the first plugin of a name wins, so a pipeline's own
    /// `plugins/torch` shadows the installed one (see `PluginSearch`).
    public static func loadAll(roots: [String], digest: (String) throws -> Digest = { try Digest.ofFile(at: $0) }) throws -> [Plugin] {
        var seen = Set<String>()
        return try discover(roots: roots).map { try load(directory: $0, digest: digest) }.filter { seen.insert($0.name).inserted }
    }

    /// Plugin folders: `<root>/plugins/*` and every folder listed in SEGFLOW_PLUGIN_PATH (colon-separated),
    /// each either a plugin itself or a folder of plugins.
    public static func discover(roots: [String]) -> [String] {
        var out: [String] = []
        let fm = FileManager.default
        for root in roots {
            if fm.fileExists(atPath: root + "/plugin.yaml") { out.append(root); continue }
            for sub in ((try? fm.contentsOfDirectory(atPath: root)) ?? []).sorted()
                where fm.fileExists(atPath: "\(root)/\(sub)/plugin.yaml") {
                out.append("\(root)/\(sub)")
            }
        }
        return out
    }
}
