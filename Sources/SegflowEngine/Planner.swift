import Foundation
import SegflowCore
import SegflowGraph
import SegflowSpec
import SegflowStages
import SegflowStore

/// Decides, purely from the cache and the inputs, what is cached and what must run, with reasons.
final class Planner {
    let workspace: Workspace
    let catalog: StageCatalog
    let fingerprints: Fingerprinter
    let classes: CanonicalValue
    let force: Set<String>
    /// Whether to ask the index why each item to run misses (costs a query per item).
    let explain: Bool

    init(workspace: Workspace, catalog: StageCatalog, classes: ClassList, force: Set<String>, explain: Bool) {
        self.workspace = workspace; self.catalog = catalog
        self.fingerprints = Fingerprinter(index: workspace.index)
        self.classes = classes.canonical; self.force = force; self.explain = explain
    }

    /// Plans one node given the values of all earlier nodes' outputs.
    func plan(_ node: GraphNode, upstream: [String: [String: PortValue]]) throws -> NodePlan {
        var p: NodePlan
        switch node.descriptor.granularity {
        case .source: p = try planSource(node)
        case .map, .reduce: p = try planCompute(node, upstream: upstream)
        }
        p.tally()
        return p
    }

    // MARK: - Sources

    func planSource(_ node: GraphNode) throws -> NodePlan {
        guard let source = catalog.sources[node.descriptor.name] else {
            throw SegflowError.internal("no source implementation for \(node.descriptor.name)")
        }
        let files = try source.enumerate(params: node.params)
        var position: [String: Int] = [:]
        position.reserveCapacity(files.count)
        var items: [ItemPlan] = []
        var trees: [String: FileTree] = [:]
        for p in node.descriptor.outputs { trees[p.name] = FileTree() }
        let forced = force.contains(node.id)
        var unmarked: [String] = []
        for f in files {
            let (d, imported) = try fingerprints.lookup(f.path)
            let stem = FileTree.stem(of: f.name)
            let i: Int
            if let j = position[stem] { i = j } else {
                i = items.count; position[stem] = i
                items.append(ItemPlan(stem: stem, key: nil, status: .cached, reasons: [], outputs: [:]))
            }
            // In place on the array element: a nested optional-dictionary path would copy the item.
            items[i].outputs[f.port, default: FileTree()].files[f.name] = d
            items[i].sourceFiles.append(f)
            trees[f.port, default: FileTree()].files[f.name] = d
            if forced {
                items[i].status = .run; items[i].reasons = ["forced"]
            } else if !imported {
                // An unchanged, already imported file needs no stat of its object: eviction clears the mark,
                // and a stage re-hashes every input before reading it.
                if workspace.objects.contains(d) { unmarked.append(f.path) } else {
                    items[i].status = .run
                    items[i].reasons.append("new input: \(f.port)/\(stem)")
                }
            }
        }
        let outputs = trees.mapValues { PortValue.known($0) }
        var plan = NodePlan(node: node, status: items.contains { $0.status == .run } ? .run : .cached, reasons: [],
                            items: items, key: nil, outputs: outputs, waiting: false)
        plan.unmarkedImports = unmarked
        return plan
    }

    // MARK: - Map and reduce

    func planCompute(_ node: GraphNode, upstream: [String: [String: PortValue]]) throws -> NodePlan {
        let d = node.descriptor
        var inputTrees: [String: FileTree] = [:]
        var pendingFrom: [String] = []
        var pendingStems: [String]? = nil
        for (port, ref) in node.inputs.sorted(by: { $0.key < $1.key }) {
            switch upstream[ref.node]?[ref.port] {
            case .known(let t)?: inputTrees[port] = t
            case .pending(let stems)?:
                pendingFrom.append(ref.node)
                if d.input(port)?.type.isItemSet == true, let s = stems { pendingStems = s }
            case nil: pendingFrom.append(ref.node)
            }
        }
        let fileDigests = try fileParamDigests(node)
        let keyParams = KeyBuilder.keyParams(descriptor: d, params: node.params, fileDigests: fileDigests)
        var paramsRecord = keyParams
        paramsRecord["@version"] = .int(Int64(d.version))
        paramsRecord["@implementation"] = d.implementationFingerprint.map { .string($0.hex) } ?? .null
        let paramsJSON = CanonicalValue.map(paramsRecord).json
        let outputsPending: [String: PortValue]
        if !pendingFrom.isEmpty {
            let stems = d.granularity == .map ? (pendingStems ?? itemStems(node, inputTrees)) : nil
            outputsPending = Dictionary(uniqueKeysWithValues: d.outputs.map { ($0.name, PortValue.pending(stems: $0.type.isItemSet ? stems : nil)) })
            var plan = NodePlan(node: node, status: .run, reasons: ["waits for \(Set(pendingFrom).sorted().joined(separator: ", "))"],
                                items: [], key: nil, outputs: outputsPending, waiting: true, inputTrees: inputTrees, paramsJSON: paramsJSON)
            plan.pendingCount = d.granularity == .map ? (stems?.count ?? 0) : 1
            return plan
        }
        let prefix = KeyBuilder.nodePrefix(descriptor: d, params: node.params, classes: classes, fileDigests: fileDigests)
        let forced = force.contains(node.id)
        if d.granularity == .reduce {
            let inputs = inputTrees.keys.sorted().map { (port: $0, tree: inputTrees[$0]!.digest) }
            let key = KeyBuilder.reduceKey(prefix: prefix, inputs: inputs)
            let hit = try workspace.index.results(for: [key])[key]
            var reasons: [String] = []
            var outputs: [String: PortValue] = [:]
            if forced { reasons = ["forced"] }
            else if let hit, hit.outputs.values.allSatisfy({ $0.files.values.allSatisfy(workspace.objects.contains) }) {
                outputs = hit.outputs.mapValues { .known($0) }
            } else if hit != nil {
                reasons = ["output missing"]
            } else {
                reasons = explain ? try explainMiss(node: node.id, item: nil, paramsJSON: paramsJSON,
                                                    inputs: inputs.map { ($0.port, $0.tree.hex) }) : ["not cached"]
            }
            if outputs.isEmpty {
                outputs = Dictionary(uniqueKeysWithValues: d.outputs.map { ($0.name, PortValue.pending(stems: nil)) })
            }
            return NodePlan(node: node, status: reasons.isEmpty ? .cached : .run, reasons: reasons, items: [], key: key,
                            outputs: outputs, waiting: false, inputTrees: inputTrees, paramsJSON: paramsJSON)
        }
        // Map: one key per item.
        let itemPorts = inputTrees.keys.sorted().filter { d.input($0)?.type.isItemSet == true }
        let wholePorts = inputTrees.keys.sorted().filter { d.input($0)?.type.isItemSet != true }
        let whole = wholePorts.map { (port: $0, tree: inputTrees[$0]!.digest) }
        let stemMaps = itemPorts.map { inputTrees[$0]!.byStem }
        let stems = itemStems(node, inputTrees)
        var items: [ItemPlan] = []
        items.reserveCapacity(stems.count)
        var keys: [Digest] = []
        keys.reserveCapacity(stems.count)
        for stem in stems {
            var itemInputs: [(port: String, file: String, digest: Digest)] = []
            var inputsRecord: [String: [String: Digest]] = [:]
            for (i, port) in itemPorts.enumerated() {
                guard let file = stemMaps[i][stem], let dg = inputTrees[port]!.files[file] else { continue }
                itemInputs.append((port, file, dg))
                inputsRecord[port] = [file: dg]
            }
            let key = KeyBuilder.itemKey(prefix: prefix, wholeInputs: whole, itemInputs: itemInputs, stem: stem)
            keys.append(key)
            items.append(ItemPlan(stem: stem, key: key, status: .run, reasons: [], outputs: [:], inputs: inputsRecord))
        }
        let hits = try workspace.index.outputs(node: node.id, keys: keys)
        var merged: [String: FileTree] = Dictionary(uniqueKeysWithValues: d.outputs.map { ($0.name, FileTree()) })
        var allCached = true
        for i in items.indices {
            let key = items[i].key!
            if forced { items[i].reasons = ["forced"]; allCached = false; continue }
            if let hit = hits[key] {
                if hit.values.allSatisfy({ $0.files.values.allSatisfy(workspace.objects.contains) }) {
                    items[i].status = .cached
                    items[i].outputs = hit
                    for (port, t) in hit {
                        for (name, d) in t.files { merged[port, default: FileTree()].files[name] = d }
                    }
                    continue
                }
                items[i].reasons = ["output missing"]
            } else if explain {
                var inputs = whole.map { ($0.port, $0.tree.hex) }
                for (port, files) in items[i].inputs { inputs.append((port, files.values.first!.hex)) }
                items[i].reasons = try explainMiss(node: node.id, item: items[i].stem, paramsJSON: paramsJSON, inputs: inputs)
            } else {
                items[i].reasons = ["not cached"]
            }
            allCached = false
        }
        let outputs: [String: PortValue] = allCached
            ? merged.mapValues { .known($0) }
            : Dictionary(uniqueKeysWithValues: d.outputs.map { ($0.name, PortValue.pending(stems: $0.type.isItemSet ? stems : nil)) })
        return NodePlan(node: node, status: allCached ? .cached : .run, reasons: forced ? ["forced"] : [], items: items, key: nil,
                        outputs: outputs, waiting: false, inputTrees: inputTrees, paramsJSON: paramsJSON)
    }

    /// The items of a map node: stems present on every connected item-set input.
    func itemStems(_ node: GraphNode, _ trees: [String: FileTree]) -> [String] {
        var result: Set<String>? = nil
        for (port, tree) in trees where node.descriptor.input(port)?.type.isItemSet == true {
            let s = Set(tree.files.keys.map(FileTree.stem(of:)))
            result = result.map { $0.intersection(s) } ?? s
        }
        return (result ?? []).sorted()
    }

    /// `file` params enter keys by content.
    func fileParamDigests(_ node: GraphNode) throws -> [String: Digest] {
        var out: [String: Digest] = [:]
        for p in node.descriptor.params where p.type == .file {
            if let path = node.params[p.name]?.stringValue, !path.isEmpty { out[p.name] = try fingerprints.digest(of: path) }
        }
        return out
    }

    /// Why a key misses: compares with the latest result of the same node and item.
    func explainMiss(node: String, item: String?, paramsJSON: String, inputs: [(String, String)]) throws -> [String] {
        guard let prev = try workspace.index.latestResult(node: node, item: item) else {
            return [item == nil ? "never run" : "new item"]
        }
        var reasons: [String] = []
        let old = (try? JSONSerialization.jsonObject(with: Data(prev.params.utf8))) as? [String: Any] ?? [:]
        let new = (try? JSONSerialization.jsonObject(with: Data(paramsJSON.utf8))) as? [String: Any] ?? [:]
        if CanonicalValue.from(any: old["@version"]) != CanonicalValue.from(any: new["@version"]) { reasons.append("new stage version") }
        if CanonicalValue.from(any: old["@implementation"]) != CanonicalValue.from(any: new["@implementation"]) { reasons.append("new implementation (plugin code changed)") }
        let changed = Set(old.keys).union(new.keys).filter { !$0.hasPrefix("@") }
            .filter { CanonicalValue.from(any: old[$0]) != CanonicalValue.from(any: new[$0]) }.sorted()
        if !changed.isEmpty { reasons.append("new params: \(changed.joined(separator: ", "))") }
        let oldInputs = (try? JSONSerialization.jsonObject(with: Data(prev.inputs.utf8))) as? [String: String] ?? [:]
        for (port, digest) in inputs where oldInputs[port] != digest {
            reasons.append(item.map { "changed input: \(port)/\($0)" } ?? "changed input: \(port)")
        }
        if reasons.isEmpty { reasons.append("classes changed") }
        return reasons
    }
}
