import Foundation
import SegflowCore
import SegflowGraph
import SegflowStore

/// `segflow lineage`: the chain of recorded results that produced a file, walked back to the dataset
/// files. Each node appears once (a diamond in the DAG is one step read twice); an input names the
/// step that produced it.
public struct Lineage: Sendable {
    /// A param of a step that differs from the stage type's default (or has no known default).
    public struct Param: Sendable {
        public var name: String
        /// The recorded value as JSON text (a file param: its content digest).
        public var value: String
        /// File params: the file last seen with that content, from the cache's fingerprints.
        public var path: String?
    }

    /// One input port of a step.
    public struct Input: Sendable {
        public var port: String
        /// The recorded digest: a file (an item's input) or a tree (a whole port); nil for a dataset file.
        public var digest: String?
        /// A dataset file a source imported.
        public var datasetFile: String?
        /// The step that produced it, when walked.
        public var fromStep: Int?
        /// Why it was not walked: `--depth`, or nothing in the cache records it.
        public var note: String?
        /// Where in the dataset file the item came from, as recorded (a video frame: `frame`, `seconds`).
        public var at: [Param] = []
    }

    /// One recorded result: a node (and the item it was reached by).
    public struct Step: Sendable {
        public var number: Int
        /// 1 for the result that produced the target, 2 for its inputs' producers, ...
        public var depth: Int
        public var node: String
        public var stage: String
        public var stageVersion: Int?
        /// The item this step was reached by (map and source nodes).
        public var item: String?
        /// Reached as a whole port: how many items that port held.
        public var itemCount: Int?
        public var key: Digest
        public var params: [Param]
        public var inputs: [Input]
        public var runID: Int64
        public var runStarted: Date?
        public var runCommand: String?
    }

    public var target: String
    public var digest: Digest
    public var steps: [Step]
}

extension Lineage {
    /// The object a `lineage` argument names: a 64-hex digest, a link under results/ (resolved to its
    /// object), or any other file (by content).
    public static func digest(of target: String) throws -> Digest {
        if let d = Digest(hex: target) { return d }
        let resolved = URL(fileURLWithPath: target).resolvingSymlinksInPath().path
        let parts = resolved.split(separator: "/")
        if parts.count >= 2, let d = Digest(hex: String(parts[parts.count - 2]) + String(parts[parts.count - 1])) { return d }
        if FileManager.default.fileExists(atPath: target) { return try Digest.ofFile(at: target) }
        throw SegflowError.user("\(target) is neither a digest nor a file", hint: "pass a path under results/ or a 64-character digest")
    }

    /// Walks back from the result that produced `digest`, `depth` steps deep (nil: to the dataset).
    /// `registry` gives the defaults params are compared with (a stage type it lacks lists every param).
    public static func walk(from digest: Digest, target: String, workspace ws: Workspace, registry: StageRegistry,
                            depth maxDepth: Int? = nil) throws -> Lineage {
        var walker = Walker(ws: ws, registry: registry)
        // A dataset file named by its path: of the items holding the same bytes, the one of that name.
        let name = Digest(hex: target) == nil ? (target as NSString).lastPathComponent : nil
        guard let first = try mostSpecific(ws.index.results(producing: digest))
                ?? walker.sourceItem(node: nil, file: digest, preferring: name) else {
            throw SegflowError.user("no recorded result produced \(digest.short)",
                                    hint: "it may come from an older cache, or was collected by gc; pass a path under results/ or an object digest")
        }
        var lineage = Lineage(target: target, digest: digest, steps: [])
        // (step, input index, digest, depth of the step to create)
        var pending: [(step: Int, input: Int, digest: String, depth: Int)] = []
        func add(_ r: ResultRecord, itemCount: Int?, depth: Int) throws -> Int {
            if let n = walker.stepOfNode[r.node] { return n }
            let number = lineage.steps.count + 1
            walker.stepOfNode[r.node] = number
            var step = try walker.step(r, number: number, depth: depth, itemCount: itemCount)
            for i in step.inputs.indices {
                guard let d = step.inputs[i].digest else { continue }
                if let maxDepth, depth >= maxDepth {
                    step.inputs[i].note = "beyond --depth \(maxDepth)"
                } else {
                    pending.append((number, i, d, depth + 1))
                }
            }
            lineage.steps.append(step)
            return number
        }
        _ = try add(first, itemCount: nil, depth: 1)
        var next = 0
        while next < pending.count {
            let p = pending[next]; next += 1
            guard let (record, count) = try walker.producer(of: p.digest) else {
                lineage.steps[p.step - 1].inputs[p.input].note = "no recorded result produced it"
                continue
            }
            lineage.steps[p.step - 1].inputs[p.input].fromStep = try add(record, itemCount: count, depth: p.depth)
        }
        return lineage
    }

    /// Of the results that wrote a file, one of the newest run, and of those the one that wrote the fewest
    /// files: an item's own row before the row of the whole file it came from (an expanding source such as
    /// videoFrames records both: the frame's row knows where in the video it was). Ties by key.
    static func mostSpecific(_ results: [ResultRecord]) -> ResultRecord? {
        guard let newest = results.map(\.runID).max() else { return nil }
        func files(_ r: ResultRecord) -> Int { r.outputs.values.reduce(0) { $0 + $1.files.count } }
        return results.filter { $0.runID == newest }.min { (files($0), $0.key.hex) < (files($1), $1.key.hex) }
    }

    /// What the index knows, read once per command.
    struct Walker {
        let ws: Workspace
        let registry: StageRegistry
        var stepOfNode: [String: Int] = [:]
        /// Tree digest -> (node, tree), filled as run trees are read.
        var trees: [Digest: (node: String, tree: FileTree)] = [:]
        /// Recorded trees read so far, newest first; those not read yet, oldest first (popped from the end).
        var readTrees: [(record: Index.RecordedTree, tree: FileTree)] = []
        var unreadTrees: [Index.RecordedTree]?
        var runs: [Int64: RunRecord] = [:]

        init(ws: Workspace, registry: StageRegistry) { self.ws = ws; self.registry = registry }

        /// The result whose output is `hex`: a file some result wrote, else a tree a run recorded (then a
        /// representative result of its node: the one that wrote its first file), with the tree's item count;
        /// a dataset file or tree a plain source imported gives that source's item (`sourceItem`).
        mutating func producer(of hex: String) throws -> (ResultRecord, Int?)? {
            guard let d = Digest(hex: hex) else { return nil }
            if let r = Lineage.mostSpecific(try ws.index.results(producing: d)) { return (r, nil) }
            guard let (node, tree) = try tree(d) else { return try sourceItem(node: nil, file: d).map { ($0, nil) } }
            guard let firstName = tree.files.keys.min() else { return nil }
            let items = Set(tree.files.keys.map(FileTree.stem(of:))).count
            let candidates = try ws.index.results(producing: tree.files[firstName]!)
            if let r = candidates.first(where: { $0.node == node }) ?? candidates.first { return (r, r.item == nil ? nil : items) }
            return try sourceItem(node: node, file: tree.files[firstName]!).map { ($0, items) }
        }

        /// The next recorded tree (newest first), parsed; nil when all are read.
        mutating func readNextTree() throws -> (record: Index.RecordedTree, tree: FileTree)? {
            if unreadTrees == nil { unreadTrees = try ws.index.recordedTrees().reversed() }
            while let record = unreadTrees!.popLast() {
                guard let data = try? ws.objects.read(record.manifest) else { continue }
                let tree = TreeCodec.parseManifest(data)
                trees[tree.digest] = (record.node, tree)
                readTrees.append((record, tree))
                return (record, tree)
            }
            return nil
        }

        /// A whole-port input's tree: inputs record FileTree digests, runs record manifest objects; the
        /// manifests are read (newest first) until one has this digest.
        mutating func tree(_ d: Digest) throws -> (node: String, tree: FileTree)? {
            if let t = trees[d] { return t }
            while let (record, tree) = try readNextTree() { if tree.digest == d { return (record.node, tree) } }
            return nil
        }

        /// The item of a plain source (of `node`, or any) that imported a file with digest `d`, as the result
        /// row such an import no longer writes: found in the newest source tree holding it, with the item's
        /// file on each port named by the dataset file its fingerprint records, the node's params and the
        /// first run that recorded that tree. Nil when no recorded source tree holds it.
        /// Several files with the same bytes (identical masks): the one named `preferring`, else the first by name.
        mutating func sourceItem(node: String?, file d: Digest, preferring: String? = nil) throws -> ResultRecord? {
            func isSource(_ r: Index.RecordedTree) -> Bool { registry[r.stage]?.granularity == .source && (node == nil || r.node == node) }
            func holder(_ t: FileTree) -> String? {
                if let preferring, t.files[preferring] == d { return preferring }
                return t.files.lazy.filter { $0.value == d }.map(\.key).min()
            }
            var found: (record: Index.RecordedTree, name: String)?
            for (r, t) in readTrees where isSource(r) { if let name = holder(t) { found = (r, name); break } }
            while found == nil, let (r, t) = try readNextTree() { if isSource(r), let name = holder(t) { found = (r, name) } }
            guard let (record, name) = found else { return nil }
            let stem = FileTree.stem(of: name)
            // The item's files on the node's other ports: the newest tree of each port that has the stem.
            while try readNextTree() != nil {}
            var outputs: [String: FileTree] = [:]
            for (r, t) in readTrees where r.node == record.node && outputs[r.port] == nil {
                let files = t.files.filter { FileTree.stem(of: $0.key) == stem }
                if !files.isEmpty { outputs[r.port] = FileTree(files) }
            }
            var inputs: [String: CanonicalValue] = [:]
            for (port, t) in outputs {
                guard let (file, digest) = t.files.min(by: { $0.key < $1.key }) else { continue }
                let paths = try ws.index.sourcePaths(of: digest)
                if let path = paths.first(where: { $0.hasSuffix("/" + file) }) ?? paths.first { inputs[port] = .string(path) }
            }
            let entries = outputs.flatMap { port, t in t.files.map { (port: port, name: $0.key, digest: $0.value) } }
            return ResultRecord(key: NodeExecutor.sourceKey(node: record.node, stem: stem, files: entries), node: record.node,
                                stage: record.stage, item: stem, outputs: outputs, runID: record.firstRun, duration: 0,
                                params: record.params, inputs: CanonicalValue.map(inputs).json)
        }

        mutating func run(_ id: Int64) throws -> RunRecord? {
            if let r = runs[id] { return r }
            let r = try ws.index.run(id: id)
            runs[id] = r
            return r
        }

        mutating func step(_ r: ResultRecord, number: Int, depth: Int, itemCount: Int?) throws -> Step {
            let descriptor = registry[r.stage]
            let recorded = (try? JSONSerialization.jsonObject(with: Data(r.params.utf8))) as? [String: Any] ?? [:]
            var params: [Param] = []
            for name in recorded.keys.sorted() where !name.hasPrefix("@") {
                let value = Self.jsonText(recorded[name]!)
                let spec = descriptor?.param(name)
                if let def = spec?.defaultValue, Self.jsonText(def.foundation) == value { continue }
                if spec?.type == .file, value == "\"\"" { continue }
                var path: String?
                if spec?.type == .file, let d = (recorded[name] as? String).flatMap(Digest.init(hex:)) {
                    path = try ws.index.sourcePaths(of: d).first
                }
                params.append(Param(name: name, value: value, path: path))
            }
            let recordedInputs = (try? JSONSerialization.jsonObject(with: Data(r.inputs.utf8))) as? [String: Any] ?? [:]
            let isSource = descriptor?.granularity == .source
            var inputs: [Input] = []
            var position: [Param] = []
            for port in recordedInputs.keys.sorted() {
                guard let value = recordedInputs[port] as? String else {
                    // Not a port: where in its dataset file a source's item came from (a frame's index and time).
                    if isSource { position.append(Param(name: port, value: Self.jsonText(recordedInputs[port]!))) }
                    continue
                }
                if isSource || Digest(hex: value) == nil {
                    inputs.append(Input(port: port, datasetFile: value))
                } else {
                    inputs.append(Input(port: port, digest: value))
                }
            }
            for i in inputs.indices where inputs[i].datasetFile != nil { inputs[i].at = position }
            let run = try run(r.runID)
            return Step(number: number, depth: depth, node: r.node, stage: r.stage,
                        stageVersion: (recorded["@version"] as? NSNumber)?.intValue,
                        item: r.item, itemCount: itemCount, key: r.key, params: params, inputs: inputs,
                        runID: r.runID, runStarted: run?.started, runCommand: run?.command)
        }

        /// One JSON value as compact text (`10`, `0.25`, `"cams"`), the same for a recorded and a default value.
        static func jsonText(_ v: Any) -> String {
            guard let data = try? JSONSerialization.data(withJSONObject: [v], options: [.sortedKeys, .fragmentsAllowed]) else { return "\(v)" }
            let s = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\\/", with: "/")
            return String(s.dropFirst().dropLast())
        }
    }
}
