import Foundation
import SegflowCore
import SegflowGraph
import SegflowStages
import SegflowStore

// Sources whose items are made from the files they list (`ExpandingSource`: a video -> its keyframes).
// Each listed file is a work unit keyed by its content and the stage's params; its result row holds
// what it expanded to, under part names (`000012.png`), and the plan names the items after the file's
// current stem, so a renamed file needs no new work.

extension Planner {
    /// The key of one listed file: the stage, its params (folders left out, as in every key) and the
    /// file's content. Classes stay out: expanding a file does not depend on them.
    static func expansionKey(_ node: GraphNode, file: Digest) -> Digest {
        let d = node.descriptor
        var e = HashEncoder(domain: "segflow.expand.v1")
        e.append(string: d.name)
        e.append(int: Int64(d.version))
        if let fp = d.implementationFingerprint { e.append(digest: fp) } else { e.appendNull() }
        e.append(value: .map(KeyBuilder.keyParams(descriptor: d, params: node.params, fileDigests: [:])))
        e.append(digest: file)
        return e.finalize()
    }

    /// Cached files contribute their items; files without a result are one item each (named by the
    /// file's stem) that runs, and the node's outputs stay pending until they have run.
    func planExpanding(_ node: GraphNode, _ source: any ExpandingSource) throws -> NodePlan {
        let files = try source.enumerate(params: node.params)
        try Self.checkNames(files, node: node)
        // The listed files are read, never copied into the store (a video is not an artifact).
        let digests = try fingerprints.lookupAll(files, importingInto: nil).map(\.digest)
        let keys = digests.map { Self.expansionKey(node, file: $0) }
        let hits = force.contains(node.id) ? [:] : try workspace.index.results(for: keys)
        var trees: [String: FileTree] = Dictionary(uniqueKeysWithValues: node.descriptor.outputs.map { ($0.name, FileTree()) })
        var items: [ItemPlan] = []
        for (k, f) in files.enumerated() {
            let stem = FileTree.stem(of: f.name)
            if let hit = hits[keys[k]], hit.outputs.values.allSatisfy({ $0.files.values.allSatisfy(workspace.objects.contains) }) {
                for (part, outputs) in Self.itemsOf(stem: stem, parts: hit.outputs) {
                    for (port, t) in outputs { trees[port, default: FileTree()].files.merge(t.files) { a, _ in a } }
                    items.append(ItemPlan(stem: part, key: nil, status: .cached, reasons: [], outputs: outputs))
                }
                continue
            }
            var item = ItemPlan(stem: stem, key: keys[k], status: .run, reasons: [], outputs: [:])
            item.reasons = [force.contains(node.id) ? "forced" : hits[keys[k]] != nil ? "output missing"
                            : "new input: \(f.port)/\(f.name)"]
            item.sourceFiles = [f]
            items.append(item)
        }
        let running = items.contains { $0.status == .run }
        var params = KeyBuilder.keyParams(descriptor: node.descriptor, params: node.params, fileDigests: [:])
        params["@version"] = .int(Int64(node.descriptor.version))
        let outputs: [String: PortValue] = running
            ? Dictionary(uniqueKeysWithValues: node.descriptor.outputs.map { ($0.name, PortValue.pending(stems: nil)) })
            : trees.mapValues { .known($0) }
        return NodePlan(node: node, status: running ? .run : .cached, reasons: [], items: items, key: nil,
                        outputs: outputs, waiting: false, paramsJSON: CanonicalValue.map(params).json)
    }

    /// A listed file's result (part files by port) as items named `<stem>_<part>`, in part order.
    static func itemsOf(stem: String, parts: [String: FileTree]) -> [(String, [String: FileTree])] {
        var byPart: [String: [String: FileTree]] = [:]
        for (port, tree) in parts {
            for (name, d) in tree.files {
                let part = FileTree.stem(of: name)
                byPart["\(stem)_\(part)", default: [:]][port, default: FileTree()].files["\(stem)_\(name)"] = d
            }
        }
        return byPart.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}

extension NodeExecutor {
    /// Expands the files the plan says must run, one at a time, committing each file's result as soon
    /// as it is made (a failure later keeps the files done). Each item also gets a result row of its own
    /// naming the file and where in it the item came from, for `segflow lineage`.
    func expandSource(_ plan: NodePlan, _ source: any ExpandingSource) throws -> NodeSummary {
        let node = plan.node
        var outputs: [String: FileTree] = Dictionary(uniqueKeysWithValues: node.descriptor.outputs.map { ($0.name, FileTree()) })
        var cached = 0
        for item in plan.items where item.status == .cached {
            cached += 1
            for (port, t) in item.outputs { outputs[port, default: FileTree()].files.merge(t.files) { a, _ in a } }
        }
        let toRun = plan.items.filter { $0.status == .run }
        var ran = 0
        for (n, item) in toRun.enumerated() {
            if cancellation.isCancelled { throw SegflowError.cancelled }
            guard let file = item.sourceFiles.first, let key = item.key else { continue }
            reporter.progress(node.id, done: n, total: toRun.count, message: file.name)
            let t0 = Date()
            let scratch = try workspace.scratch(node.id)
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            let cancellation = self.cancellation
            let provenance = try source.expand(file, params: node.params, into: scratch, isCancelled: { cancellation.isCancelled })
            var parts: [String: FileTree] = [:]
            for port in node.descriptor.outputs {
                let dir = scratch + "/" + port.name
                for name in ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() {
                    parts[port.name, default: FileTree()].files[name] = try workspace.objects.ingest(movingFile: dir + "/" + name)
                }
            }
            let duration = Date().timeIntervalSince(t0)
            let origin = CanonicalValue.map([file.port: .string(file.path)])
            var records = [ResultRecord(key: key, node: node.id, stage: node.descriptor.name, item: item.stem, outputs: parts,
                                        runID: runID, duration: duration, params: plan.paramsJSON, inputs: origin.json)]
            let made = Planner.itemsOf(stem: item.stem, parts: parts)
            for (stem, itemOutputs) in made {
                let part = String(stem.dropFirst(item.stem.count + 1))
                var e = HashEncoder(domain: "segflow.expand.item.v1")
                e.append(digest: key); e.append(string: part)
                var inputs: [String: CanonicalValue] = [file.port: .string(file.path)]
                if case .map(let where_)? = provenance[part] { inputs.merge(where_) { a, _ in a } }
                records.append(ResultRecord(key: e.finalize(), node: node.id, stage: node.descriptor.name, item: stem,
                                            outputs: itemOutputs, runID: runID, duration: duration / Double(max(1, made.count)),
                                            params: plan.paramsJSON, inputs: CanonicalValue.map(inputs).json))
                for (port, t) in itemOutputs { outputs[port, default: FileTree()].files.merge(t.files) { _, b in b } }
            }
            try workspace.index.commit(results: records, executions: [
                ExecutionRecord(node: node.id, item: item.stem, key: key, status: "ran", reason: item.reasonLine,
                                duration: duration)], runID: runID)
            ran += made.count
        }
        return NodeSummary(node: node.id, stage: node.descriptor.name, status: ran > 0 || !toRun.isEmpty ? "ran" : "cached",
                           ran: ran, cached: cached, failed: 0, seconds: 0, outputs: outputs)
    }
}
