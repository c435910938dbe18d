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
    let classList: ClassList
    let force: Set<String>
    /// Whether to ask the index why each item to run misses (costs a query per item).
    let explain: Bool
    /// Whether a map node whose inputs are unchanged as a whole may be planned from its memo (`why`
    /// plans without: it shows item keys).
    var useMemos = true
    /// A run's planner copies new dataset files into the store while hashing them (one read per file);
    /// `segflow plan` writes nothing but fingerprints.
    var importsWhileHashing = false
    /// Result rows of map nodes read ahead (`segflow plan` only: during a run, nodes commit results
    /// between plans, so a run reads each node's rows when it gets there).
    private var aheadRows: [String: ReadAhead<[Digest: String]>] = [:]

    /// Starts reading, on other threads, what the plan of `nodes` will need from the index: each
    /// source's folder fingerprints and each map node's result rows.
    func readAhead(_ nodes: [GraphNode]) {
        let index = workspace.index
        for node in nodes {
            switch node.descriptor.granularity {
            case .map:
                // A node with a memo is most likely planned from it: reading its 10k rows would be wasted.
                let id = node.id
                if useMemos && force.isEmpty, (try? index.hasNodeMemo(node: id)) == true { continue }
                aheadRows[id] = ReadAhead { try index.rawOutputs(node: id) }
            case .source:
                let dirs = node.descriptor.params.filter { $0.type == .directory }
                    .compactMap { node.params[$0.name]?.stringValue }.filter { !$0.isEmpty }
                fingerprints.readAhead(folders: dirs.map { $0.hasSuffix("/") ? $0 : $0 + "/" })
            case .reduce:
                break
            }
        }
    }

    init(workspace: Workspace, catalog: StageCatalog, classes: ClassList, force: Set<String>, explain: Bool) {
        self.workspace = workspace; self.catalog = catalog
        self.fingerprints = Fingerprinter(index: workspace.index)
        self.classes = classes.canonical; self.classList = classes; self.force = force; self.explain = explain
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
        if let expanding = source as? any ExpandingSource { return try planExpanding(node, expanding) }
        let files = try source.enumerate(params: node.params, classes: classList)
        Timeline.mark("\(node.id): \(files.count) files listed")
        try Self.checkNames(files, node: node)
        // stem -> item, only once stems stop arriving in increasing order (see pass 1).
        var position: [String: Int] = [:]
        var ascending = true
        var items: [ItemPlan] = []
        // Port trees by the port's place among the node's outputs: a file's port is compared with a few short
        // names instead of hashed into a dictionary of trees, twice, per file.
        var portNames = node.descriptor.outputs.map(\.name)
        func portIndex(_ port: String) -> Int {
            if let k = portNames.firstIndex(of: port) { return k }
            portNames.append(port); return portNames.count - 1
        }
        var portOfFile: [Int] = []
        portOfFile.reserveCapacity(files.count)
        for f in files { portOfFile.append(portIndex(f.port)) }
        var portTrees = [FileTree](repeating: FileTree(), count: portNames.count)
        // Sized up front, each for its own files: growing a 10k-entry dictionary rehashes every name several times.
        var perPort = [Int](repeating: 0, count: portNames.count)
        for p in portOfFile { perPort[p] += 1 }
        for p in portTrees.indices { portTrees[p].files.reserveCapacity(perPort[p]) }
        // At least as many items as the fullest port has files (usually exactly as many); an item has about one
        // file per port in use, which its lists are sized for on first use (not grown from one to two).
        items.reserveCapacity(perPort.max() ?? 0)
        let portsInUse = perPort.filter { $0 > 0 }.count
        let forced = force.contains(node.id)
        var unmarked: [String] = []
        var made: [String: FileTree] = [:]
        // Pass 1: a digest per file and a status per item. Per-item file lists are only built for items
        // that will be imported (pass 2): in a cached plan that saves several allocations per file.
        var itemOfFile: [Int] = []
        itemOfFile.reserveCapacity(files.count)
        var digests: [Digest] = []
        digests.reserveCapacity(files.count)
        let found = try lookupSources(files)
        Timeline.mark("\(node.id): files looked up")
        // A run's first import: the fingerprints (marked imported) and the pack of small objects are written
        // while the items are put together below; the engine's `save()` waits for it before the node runs.
        if importsWhileHashing { fingerprints.startSave() }
        for (k, f) in files.enumerated() {
            let (d, imported, read) = found[k]
            let stem = FileTree.stem(of: f.name)
            var i = items.count
            // An item's files are usually listed together: the previous file's item is checked first. While new
            // stems arrive in increasing order (a sorted folder), a new one cannot have been seen before, so no
            // stem is hashed; the first out of order indexes the items so far and the rest are looked up.
            if i > 0, items[i - 1].stem == stem { i -= 1 }
            else if ascending && (i == 0 || items[i - 1].stem < stem) { /* a new item */ }
            else {
                if ascending {
                    ascending = false
                    position.reserveCapacity(files.count)
                    for (j, item) in items.enumerated() { position[item.stem] = j }
                }
                if let j = position[stem] { i = j } else { position[stem] = i }
            }
            if i == items.count {
                items.append(ItemPlan(stem: stem, key: nil, status: .cached, reasons: [], outputs: [:]))
                items[i].copiedIn = importsWhileHashing
            }
            itemOfFile.append(i); digests.append(d)
            // Marked imported once the import commits: files in the store that no fingerprint says so of (taken
            // over above, or copied by the import). Those this planner copied in are saved so with their fingerprints.
            if f.content == nil && !(read && importsWhileHashing) {
                items[i].copiedIn = false
                if !imported { unmarked.append(f.path) }
            }
            portTrees[portOfFile[k]].files[f.name] = d
            if f.content != nil { made[f.port, default: FileTree()].files[f.name] = d }
            if forced {
                items[i].status = .run; items[i].reasons = ["forced"]
            } else if !imported {
                // An unchanged, already imported file needs no stat of its object: eviction clears the mark,
                // and a stage re-hashes every input before reading it. A file first seen now is new input even
                // when this planner already copied it in (the import's execution record is still to be written).
                // (`adopt`: an object no import record names yet may be left by a process that died unsynced.)
                if f.content == nil && !read && workspace.objects.adopt(d) { /* marked above */ } else {
                    items[i].status = .run
                    if items[i].reasons.isEmpty { items[i].reasons.reserveCapacity(portsInUse) }
                    // Sized once (an interpolation grows its buffer): one reason per new file.
                    var reason = "new input: "
                    reason.reserveCapacity(12 + f.port.utf8.count + stem.utf8.count)
                    reason += f.port; reason += "/"; reason += stem
                    items[i].reasons.append(reason)
                }
            }
        }
        // Pass 2: what the import needs for the items that run.
        for (k, f) in files.enumerated() where items[itemOfFile[k]].status == .run {
            let i = itemOfFile[k]
            if items[i].sourceFiles.isEmpty {
                items[i].sourceFiles.reserveCapacity(portsInUse); items[i].sourceDigests.reserveCapacity(portsInUse)
            }
            items[i].sourceFiles.append(f)
            items[i].sourceDigests.append(digests[k])
        }
        var trees: [String: FileTree] = [:]
        for (p, name) in portNames.enumerated() { trees[name] = portTrees[p] }
        let outputs = trees.mapValues { PortValue.known($0) }
        var plan = NodePlan(node: node, status: items.contains { $0.status == .run } ? .run : .cached, reasons: [],
                            items: items, key: nil, outputs: outputs, waiting: false)
        plan.unmarkedImports = unmarked
        plan.madeFiles = made
        // Recorded with each import for `lineage` (a `list` file by its digest); a source's keys come from
        // its files, not from these.
        plan.paramsJSON = Self.paramsRecord(node, fileDigests: try fileParamDigests(node))
        return plan
    }

    /// The params a result records (`lineage`, `why`, `compare`): the key params, file params by digest,
    /// and the stage version and implementation.
    static func paramsRecord(_ node: GraphNode, fileDigests: [String: Digest]) -> String {
        let d = node.descriptor
        var record = KeyBuilder.keyParams(descriptor: d, params: node.params, fileDigests: fileDigests)
        record["@version"] = .int(Int64(d.version))
        record["@implementation"] = d.implementationFingerprint.map { .string($0.hex) } ?? .null
        return CanonicalValue.map(record).json
    }

    /// Refuses item file names that would leave the folders they are written to (`results/.../<port>/`)
    /// or break the index's tree lines: a CSV line, a list file or an annotation file names them.
    static func checkNames(_ files: [SourceFile], node: GraphNode) throws {
        for f in files {
            guard let problem = FileTree.nameProblem(f.name) else { continue }
            throw SegflowError.user("\(node.id): \(f.content == nil ? f.path : f.fileName) gives the item file name \(f.name.debugDescription), which \(problem)",
                                    hint: "rename the file, or fix that line, so the item's name is a plain file name")
        }
    }

    /// Digests of a source's files: files on disk through their fingerprints; content the source made
    /// by hashing it, counted as imported when the store already holds it (a run stores it now).
    func lookupSources(_ files: [SourceFile]) throws -> [Fingerprinter.Found] {
        let store = importsWhileHashing ? workspace.objects : nil
        guard files.contains(where: { $0.content != nil }) else { return try fingerprints.lookupAll(files, importingInto: store) }
        var onDisk = try fingerprints.lookupAll(files.filter { $0.content == nil }, importingInto: store).makeIterator()
        return try files.map { f in
            guard let content = f.content else { return onDisk.next()! }
            let d = Digest.of(content)
            let stored = workspace.objects.contains(d)
            if let store, !stored { _ = try store.ingest(data: content) }
            return (d, stored, false)
        }
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
        let paramsJSON = Self.paramsRecord(node, fileDigests: fileDigests)
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
            var plan = NodePlan(node: node, status: reasons.isEmpty ? .cached : .run, reasons: reasons, items: [], key: key,
                                outputs: outputs, waiting: false, inputTrees: inputTrees, paramsJSON: paramsJSON)
            plan.inputTreeDigests = Dictionary(uniqueKeysWithValues: inputs.map { ($0.port, $0.tree) })
            return plan
        }
        // Map: one key per item.
        let itemPorts = inputTrees.keys.sorted().filter { d.input($0)?.type.isItemSet == true }
        let wholePorts = inputTrees.keys.sorted().filter { d.input($0)?.type.isItemSet != true }
        let whole = wholePorts.map { (port: $0, tree: inputTrees[$0]!.digest) }
        var memoKey: Digest? = nil
        if useMemos && !forced {
            // Whole ports' roots are already in `whole`: each tree root costs a sort and a hash of the tree.
            let inputs = inputTrees.keys.sorted().map { port in (port, whole.first { $0.port == port }?.tree ?? inputTrees[port]!.digest) }
            let key = KeyBuilder.memoKey(prefix: prefix, inputs: inputs)
            if let plan = try memoPlan(node, key: key, inputTrees: inputTrees, paramsJSON: paramsJSON) { return plan }
            memoKey = key
        }
        let stemMaps = itemPorts.map { inputTrees[$0]!.byStem }
        let stems = itemStems(node, inputTrees)
        // Item keys on every core (one SHA-256 each); the dictionaries are only read here.
        let itemTrees = itemPorts.map { inputTrees[$0]! }
        var keys = [Digest](repeating: Digest.of([UInt8]()), count: stems.count)
        Self.parallelChunks(stems.count, into: &keys) { range, out in
            for k in range {
                var itemInputs: [(port: String, file: String, digest: Digest)] = []
                for (i, port) in itemPorts.enumerated() {
                    guard let file = stemMaps[i][stems[k]], let dg = itemTrees[i].files[file] else { continue }
                    itemInputs.append((port, file, dg))
                }
                out[k] = KeyBuilder.itemKey(prefix: prefix, wholeInputs: whole, itemInputs: itemInputs, stem: stems[k])
            }
        }
        var items: [ItemPlan] = []
        items.reserveCapacity(stems.count)
        for (k, stem) in stems.enumerated() {
            items.append(ItemPlan(stem: stem, key: keys[k], status: .run, reasons: [], outputs: [:]))
        }
        let hits = try aheadRows.removeValue(forKey: node.id).map { try workspace.index.outputs(keys: keys, from: $0.value()) }
            ?? workspace.index.outputs(node: node.id, keys: keys)
        var merged: [String: FileTree] = Dictionary(uniqueKeysWithValues: d.outputs.map { port in
            var t = FileTree(); if port.type.isItemSet { t.files.reserveCapacity(stems.count) }; return (port.name, t)
        })
        // Whether each hit's objects are all still in the store: one stat per object, on every core.
        let objects = workspace.objects
        var intact = [Bool](repeating: false, count: items.count)
        if !forced {
            Self.parallelChunks(items.count, into: &intact) { range, out in
                for k in range {
                    guard let hit = hits[keys[k]] else { continue }
                    out[k] = hit.values.allSatisfy { $0.files.values.allSatisfy(objects.contains) }
                }
            }
        }
        var allCached = true
        for i in items.indices {
            let key = items[i].key!
            if intact[i], let hit = hits[key] {
                items[i].status = .cached
                items[i].outputs = hit
                for (port, t) in hit {
                    for (name, d) in t.files { merged[port, default: FileTree()].files[name] = d }
                }
                continue
            }
            allCached = false
            // What the item reads (port -> file -> digest), for the call and for `why`; cached items need none.
            for (j, port) in itemPorts.enumerated() {
                guard let file = stemMaps[j][items[i].stem], let dg = itemTrees[j].files[file] else { continue }
                items[i].inputs[port] = [file: dg]
            }
            if forced {
                items[i].reasons = ["forced"]
            } else if hits[key] != nil {
                items[i].reasons = ["output missing"]
            } else if explain {
                var inputs = whole.map { ($0.port, $0.tree.hex) }
                for (port, files) in items[i].inputs { inputs.append((port, files.values.first!.hex)) }
                items[i].reasons = try explainMiss(node: node.id, item: items[i].stem, paramsJSON: paramsJSON, inputs: inputs)
            } else {
                items[i].reasons = ["not cached"]
            }
        }
        let outputs: [String: PortValue] = allCached
            ? merged.mapValues { .known($0) }
            : Dictionary(uniqueKeysWithValues: d.outputs.map { ($0.name, PortValue.pending(stems: $0.type.isItemSet ? stems : nil)) })
        var plan = NodePlan(node: node, status: allCached ? .cached : .run, reasons: forced ? ["forced"] : [], items: items, key: nil,
                            outputs: outputs, waiting: false, inputTrees: inputTrees, paramsJSON: paramsJSON)
        plan.memoKey = memoKey
        plan.inputTreeDigests = Dictionary(uniqueKeysWithValues: whole.map { ($0.port, $0.tree) })
        return plan
    }

    /// The whole map node from its memo: every item cached, the outputs from the memo's tree manifests.
    /// Nil when there is no memo or a manifest cannot be read (then the node is planned item by item).
    func memoPlan(_ node: GraphNode, key: Digest, inputTrees: [String: FileTree], paramsJSON: String) throws -> NodePlan? {
        guard let memo = try workspace.index.nodeMemo(key) else { return nil }
        var outputs: [String: PortValue] = [:]
        for port in node.descriptor.outputs {
            // A manifest is small next to its files (~80 bytes per file): re-hashing it is cheap insurance.
            guard let tree = memo.outputs[port.name], let data = try? workspace.objects.read(tree),
                  Digest.of(data) == tree else { return nil }
            outputs[port.name] = .known(TreeCodec.parseManifest(data))
        }
        let stems = itemStems(node, inputTrees)
        guard stems.count == memo.items else { return nil }
        let items = stems.map { ItemPlan(stem: $0, key: nil, status: .cached, reasons: [], outputs: [:]) }
        var plan = NodePlan(node: node, status: .cached, reasons: [], items: items, key: nil, outputs: outputs,
                            waiting: false, inputTrees: inputTrees, paramsJSON: paramsJSON)
        plan.memoKey = key
        plan.fromMemo = true
        return plan
    }

    /// Fills `out` by running `body` on disjoint index ranges on every core (each range writes only its own slots).
    static func parallelChunks<T>(_ count: Int, into out: inout [T], _ body: (Range<Int>, UnsafeMutableBufferPointer<T>) -> Void) {
        guard count > 0 else { return }
        // Small inputs are not worth a thread hop.
        let chunks = count < 256 ? 1 : min(count, 4 * ProcessInfo.processInfo.activeProcessorCount)
        out.withUnsafeMutableBufferPointer { buf in
            let buf = buf
            if chunks == 1 { body(0..<count, buf); return }
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                body((count * c / chunks)..<(count * (c + 1) / chunks), buf)
            }
        }
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
