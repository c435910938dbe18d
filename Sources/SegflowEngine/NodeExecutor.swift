import Foundation
import SegflowCore
import SegflowGraph
import SegflowSpec
import SegflowStages
import SegflowStore

/// Runs one planned node: imports, stage calls in chunks, ingest, one commit per chunk.
final class NodeExecutor: @unchecked Sendable {
    /// Runs calls on this machine; its workspace, run and reporter are the node executor's too.
    let local: LocalExecutor
    /// The executor for nodes that do not run here (a cluster), or nil for this machine.
    let cluster: @Sendable (GraphNode) -> (any CallExecutor)?
    var workspace: Workspace { local.workspace }
    var runID: Int64 { local.runID }
    var cancellation: Cancellation { local.cancellation }
    var reporter: RunReporter { local.reporter }
    var catalog: StageCatalog { local.catalog }

    init(local: LocalExecutor, cluster: @escaping @Sendable (GraphNode) -> (any CallExecutor)? = { _ in nil }) {
        self.local = local; self.cluster = cluster
    }

    /// Items per local native call.
    static var nativeChunk: Int { LocalExecutor.nativeChunk }

    func executor(_ node: GraphNode) -> any CallExecutor { cluster(node) ?? local }

    func execute(_ plan: NodePlan) async throws -> NodeSummary {
        let start = Date()
        let node = plan.node
        reporter.nodeStarted(node.id, stage: node.descriptor.name, toRun: plan.runCount, cached: plan.cachedCount)
        var summary: NodeSummary
        do {
            switch node.descriptor.granularity {
            case .source: summary = try importSource(plan)
            case .map: summary = try await runMap(plan)
            case .reduce: summary = try await runReduce(plan)
            }
        } catch let c as CorruptObject {
            throw c
        } catch SegflowError.cancelled {
            throw SegflowError.cancelled
        } catch where DiskFull.matches(error) {
            // Every node after this one would fail the same way: stop the run with the one clear error.
            throw DiskFull.isExplained(error) ? error : DiskFull.error(cache: workspace.root, while: "running \(node.id)")
        } catch {
            let message = (error as? SegflowError)?.description ?? "\(error)"
            try? workspace.index.commit(results: [], executions: [ExecutionRecord(node: node.id, item: nil, key: plan.key, status: "failed",
                                                                                   reason: "error", duration: Date().timeIntervalSince(start), error: message)], runID: runID)
            summary = NodeSummary(node: node.id, stage: node.descriptor.name, status: "failed", ran: 0, cached: plan.cachedCount,
                                  failed: max(1, plan.runCount), seconds: 0, outputs: [:], error: message)
            reporter.note(message)
        }
        summary.seconds = Date().timeIntervalSince(start)
        let trees = try recordNode(plan, summary)
        // A map node with every item done gets a memo: the next plan with the same inputs reads one row.
        if let key = plan.memoKey, !plan.fromMemo, node.descriptor.granularity == .map, summary.failed == 0,
           summary.status == "ran" || summary.status == "cached", !cancellation.isCancelled,
           node.descriptor.outputs.allSatisfy({ trees[$0.name] != nil }) {
            try workspace.index.recordNodeMemo(key, node: node.id, memo: NodeMemo(outputs: trees, items: plan.items.count))
        }
        reporter.nodeFinished(node.id, status: summary.status, ran: summary.ran, cached: summary.cached,
                              failed: summary.failed, seconds: summary.seconds)
        return summary
    }

    // MARK: - Sources

    func importSource(_ plan: NodePlan) throws -> NodeSummary {
        if let expanding = catalog.sources[plan.node.descriptor.name] as? any ExpandingSource {
            return try expandSource(plan, expanding)
        }
        var records: [ResultRecord] = []
        var executions: [ExecutionRecord] = []
        // A source's plan knows every file's digest already (cached items carry no per-item trees).
        var outputs: [String: FileTree] = plan.outputs.compactMapValues(\.tree)
        for p in plan.node.descriptor.outputs where outputs[p.name] == nil { outputs[p.name] = FileTree() }
        var ran = 0
        // Every file into the store first, on every core; the first failure in file order is the error. Files this
        // run's planner copied in while hashing them (`copiedIn`: a run's first import) are there already, made
        // durable by the index write that saved their fingerprints: checking them again was a pass over every
        // file. A `segflow plan` before the run, an adopted object or content the source made is checked here.
        // (Loops, not filter/flatMap: those copied every item plan, a dozen retains each.)
        var toRun = 0
        var files: [(file: SourceFile, expected: Digest)] = []
        let items = plan.items
        for i in items.indices where items[i].status == .run {
            toRun += 1
            for (j, f) in items[i].sourceFiles.enumerated() {
                if f.content == nil && items[i].copiedIn { CrashPoint.reached("import"); continue }
                files.append((f, items[i].sourceDigests[j]))
            }
        }
        let objects = workspace.objects, cancellation = self.cancellation
        let stored = parallelResults(files.count) { k -> Digest? in
            if cancellation.isCancelled { return nil }
            let (f, expected) = files[k]
            let d = try f.content.map { try objects.ingest(data: $0) } ?? objects.ingest(copyingFile: f.path, knownDigest: expected)
            CrashPoint.reached("import")
            return d
        }
        Timeline.mark("\(plan.node.id): objects checked")
        for (k, r) in stored.enumerated() {
            guard let actual = try r.get() else { throw SegflowError.cancelled }
            if actual != files[k].expected {
                throw SegflowError.user("\(files[k].file.path) changed while segflow was reading it", hint: "run again once the file is stable")
            }
        }
        // Per item an execution record (what this run imported: `log`, the crash tests). A result row only for
        // items with content the source made (a converted annotation): a dataset file is named by its
        // fingerprint, and `lineage` finds its item in the node's recorded trees (see Lineage.swift).
        let started = Date()
        let node = plan.node.id, stage = plan.node.descriptor.name
        let keyPrefix = Self.sourceKeyPrefix(node: node)
        var runItems: [Int] = []
        runItems.reserveCapacity(toRun)
        for i in items.indices where items[i].status == .run { runItems.append(i) }
        if cancellation.isCancelled { throw SegflowError.cancelled }
        // Keys and records on every core (a SHA-256 and a few strings an item; each slot written by one thread).
        executions = [ExecutionRecord](repeating: ExecutionRecord(node: node, item: nil, key: nil, status: "ran", reason: "", duration: 0),
                                       count: runItems.count)
        Planner.parallelChunks(runItems.count, into: &executions) { range, out in
            for k in range {
                let item = items[runItems[k]]
                let key = Self.sourceKey(prefix: keyPrefix, stem: item.stem, files: Self.entries(of: item))
                out[k] = ExecutionRecord(node: node, item: item.stem, key: key, status: "ran", reason: item.reasonLine, duration: 0)
            }
        }
        for (k, i) in runItems.enumerated() where items[i].sourceFiles.contains(where: { $0.content != nil }) {
            var itemOutputs: [String: FileTree] = [:]
            for e in Self.entries(of: items[i]) { itemOutputs[e.port, default: FileTree()].files[e.name] = e.digest }
            let paths = CanonicalValue.map(Dictionary(items[i].sourceFiles.map { ($0.port, CanonicalValue.string($0.path)) }) { a, _ in a })
            records.append(ResultRecord(key: executions[k].key!, node: node, stage: stage, item: items[i].stem, outputs: itemOutputs,
                                        runID: runID, duration: 0, params: plan.paramsJSON, inputs: paths.json))
        }
        ran = runItems.count
        // The bookkeeping's time shared out (what an item took is the copy above, done in bulk).
        let perItem = Date().timeIntervalSince(started) / Double(max(1, ran))
        for i in records.indices { records[i].duration = perItem }
        for i in executions.indices { executions[i].duration = perItem }
        // One transaction for the whole import: its objects are made durable once (one syncfs) and the rows
        // are a small part of it (committing every 512 items was a quarter of a 20k-file import).
        Timeline.mark("\(plan.node.id): records made")
        // The node's tree manifests (a sort, a hash and a write of ~800 KB per 10k-file tree) are stored on other
        // cores while the records commit (SQLite on this one), and made durable there too: the run_nodes write
        // that names them would otherwise wait for their fsyncs (9-28 ms for two manifests on journaled ext4).
        let trees = outputs
        let manifests = ReadAhead {
            let stored = try Self.storeManifests(trees, ports: trees.keys.sorted(), in: objects)
            try objects.durability.makeFilesDurable()
            return stored
        }
        try workspace.index.commit(results: records, executions: executions, runID: runID)
        Timeline.mark("\(plan.node.id): records committed")
        if toRun > 0 { reporter.progress(plan.node.id, done: ran, total: toRun, message: nil) }
        // Files this run's planner copied in were saved as imported with their fingerprints; the rest now.
        try workspace.index.markImported(paths: plan.unmarkedImports)
        var summary = NodeSummary(node: plan.node.id, stage: plan.node.descriptor.name, status: ran > 0 ? "ran" : "cached",
                                  ran: ran, cached: plan.items.count - ran, failed: 0, seconds: 0, outputs: outputs)
        summary.linked = plan.madeFiles
        summary.manifests = try manifests.value()
        return summary
    }

    /// A plain source item's key: its node, stem and files (it is never looked up: sources are planned by
    /// fingerprint; executions record it, and `lineage` gives the same key for a step it rebuilds).
    /// H("segflow.source.v2", node, stem, count, (port, name, digest) in (port, name) order): one hash of the
    /// entries (v1 hashed a tree per port first: three SHA-256 runs and a dictionary per port for an item).
    static func sourceKey(node: String, stem: String, files: [(port: String, name: String, digest: Digest)]) -> Digest {
        sourceKey(prefix: sourceKeyPrefix(node: node), stem: stem, files: files)
    }

    /// A plain source item's files as `sourceKey` takes them.
    static func entries(of item: ItemPlan) -> [(port: String, name: String, digest: Digest)] {
        var entries: [(port: String, name: String, digest: Digest)] = []
        entries.reserveCapacity(item.sourceFiles.count)
        for (j, f) in item.sourceFiles.enumerated() { entries.append((f.port, f.name, item.sourceDigests[j])) }
        return entries
    }

    /// The part of `sourceKey` shared by a node's items.
    static func sourceKeyPrefix(node: String) -> HashEncoder {
        var e = HashEncoder(domain: "segflow.source.v2")
        e.append(string: node)
        return e
    }

    static func sourceKey(prefix: HashEncoder, stem: String, files: [(port: String, name: String, digest: Digest)]) -> Digest {
        func before(_ a: (port: String, name: String, digest: Digest), _ b: (port: String, name: String, digest: Digest)) -> Bool {
            a.port != b.port ? a.port < b.port : a.name < b.name
        }
        // Sources list an item's files port by port, usually in order already: sorted only when not.
        var ordered = true
        for k in files.indices.dropFirst() where !before(files[k - 1], files[k]) { ordered = false; break }
        var e = prefix
        e.append(string: stem)
        e.append(int: Int64(files.count))
        for f in ordered ? files : files.sorted(by: before) {
            e.append(string: f.port); e.append(string: f.name); e.append(digest: f.digest)
        }
        return e.finalize()
    }

    // MARK: - Map

    func runMap(_ plan: NodePlan) async throws -> NodeSummary {
        let node = plan.node
        if plan.fromMemo {
            return NodeSummary(node: node.id, stage: node.descriptor.name, status: "cached", ran: 0, cached: plan.items.count,
                               failed: 0, seconds: 0, outputs: plan.outputs.compactMapValues(\.tree))
        }
        var outputs: [String: FileTree] = Dictionary(uniqueKeysWithValues: node.descriptor.outputs.map { ($0.name, FileTree()) })
        for item in plan.items where item.status == .cached {
            for (port, tree) in item.outputs { outputs[port, default: FileTree()].files.merge(tree.files) { a, _ in a } }
        }
        let toRun = plan.items.filter { $0.status == .run }
        let byStem = Dictionary(toRun.map { ($0.stem, $0) }, uniquingKeysWith: { a, _ in a })
        let wholePorts = plan.inputTrees.keys.filter { node.descriptor.input($0)?.type.isItemSet != true }
        let work = NodeWork(plan: plan, units: toRun.map { ShardWork(items: [$0.stem], keys: [$0.key!], inputs: $0.inputs) },
                            whole: Dictionary(uniqueKeysWithValues: wholePorts.map { ($0, plan.inputTrees[$0]!.files) }))
        var ran = 0, failed = 0
        var failures: [String] = []
        let wholeRecord = wholePorts.map { ($0, plan.treeDigest($0).hex) }
        try await executor(node).run(work) { shard, result in
            let chunk = shard.items.compactMap { byStem[$0] }
            let perItem = result.seconds / Double(max(1, chunk.count))
            // port -> stem -> files, once per chunk (a plugin call may return thousands of items).
            var produced: [String: [String: [String: Digest]]] = [:]
            for (port, files) in result.produced { for (name, d) in files { produced[port, default: [:]][FileTree.stem(of: name), default: [:]][name] = d } }
            var records: [ResultRecord] = []
            var executions: [ExecutionRecord] = []
            if result.outcome.itemFailures.values.contains(where: DiskFull.mentions) {
                throw DiskFull.error(cache: workspace.root, while: "writing the outputs of \(node.id)")
            }
            for item in chunk {
                if var why = result.outcome.itemFailures[item.stem] {
                    why += origins(of: item)
                    executions.append(ExecutionRecord(node: node.id, item: item.stem, key: item.key, status: "failed",
                                                      reason: item.reasonLine, duration: perItem, error: why))
                    failed += 1; failures.append("\(item.stem): \(why)")
                    continue
                }
                var itemOutputs: [String: FileTree] = [:]
                // Interrupted stages stop between items: what they did not reach is simply not recorded.
                if cancellation.isCancelled, node.descriptor.outputs.contains(where: { produced[$0.name]?[item.stem] == nil }) {
                    continue
                }
                for port in node.descriptor.outputs {
                    let files = produced[port.name]?[item.stem] ?? [:]
                    guard !files.isEmpty else {
                        throw SegflowError.stageFailed(node: node.id, item: item.stem,
                                                       message: "the stage wrote no '\(port.name)' output for this item")
                    }
                    itemOutputs[port.name] = FileTree(files)
                    outputs[port.name, default: FileTree()].files.merge(files) { _, b in b }
                }
                var inputsRecord: [String: String] = Dictionary(uniqueKeysWithValues: wholeRecord)
                for (port, files) in item.inputs { inputsRecord[port] = files.values.first!.hex }
                records.append(ResultRecord(key: item.key!, node: node.id, stage: node.descriptor.name, item: item.stem,
                                            outputs: itemOutputs, runID: runID, duration: perItem, params: plan.paramsJSON,
                                            inputs: CanonicalValue.map(inputsRecord.mapValues { .string($0) }).json))
                executions.append(ExecutionRecord(node: node.id, item: item.stem, key: item.key, status: "ran",
                                                  reason: item.reasonLine, duration: perItem))
                ran += 1
            }
            try workspace.index.commit(results: records, executions: executions, runID: runID)
        }
        if cancellation.isCancelled && ran + failed < toRun.count { throw SegflowError.cancelled }
        if failed > 0 {
            reporter.note("\(node.id): \(failed) item(s) failed:\n  " + failures.prefix(10).joined(separator: "\n  ")
                          + (failures.count > 10 ? "\n  ..." : ""))
        }
        return NodeSummary(node: node.id, stage: node.descriptor.name, status: failed > 0 ? "partial" : ran > 0 ? "ran" : "cached",
                           ran: ran, cached: plan.items.count - toRun.count, failed: failed, seconds: 0, outputs: outputs)
    }

    // MARK: - Reduce

    func runReduce(_ plan: NodePlan) async throws -> NodeSummary {
        let node = plan.node
        if plan.status == .cached {
            return NodeSummary(node: node.id, stage: node.descriptor.name, status: "cached", ran: 0, cached: 1, failed: 0,
                               seconds: 0, outputs: plan.outputs.compactMapValues(\.tree))
        }
        let items = Set(plan.inputTrees.flatMap { port, tree in
            node.descriptor.input(port)?.type.isItemSet == true ? tree.files.keys.map(FileTree.stem(of:)) : []
        }).sorted()
        let work = NodeWork(plan: plan, units: [ShardWork(items: items, keys: [plan.key!], inputs: plan.inputTrees.mapValues(\.files))],
                            whole: [:])
        var outputs: [String: FileTree] = [:]
        try await executor(node).run(work) { _, result in
            for port in node.descriptor.outputs {
                guard let files = result.produced[port.name], !files.isEmpty else {
                    throw SegflowError.stageFailed(node: node.id, item: nil, message: "the stage wrote no '\(port.name)' output")
                }
                outputs[port.name] = FileTree(files)
            }
            let inputsRecord = CanonicalValue.map(Dictionary(uniqueKeysWithValues: plan.inputTrees.keys.map {
                ($0, CanonicalValue.string(plan.treeDigest($0).hex))
            })).json
            try workspace.index.commit(
                results: [ResultRecord(key: plan.key!, node: node.id, stage: node.descriptor.name, item: nil, outputs: outputs,
                                       runID: runID, duration: result.seconds, params: plan.paramsJSON, inputs: inputsRecord)],
                executions: [ExecutionRecord(node: node.id, item: nil, key: plan.key, status: "ran",
                                             reason: plan.reasons.joined(separator: "; "), duration: result.seconds)],
                runID: runID)
        }
        guard !outputs.isEmpty || node.descriptor.outputs.isEmpty else { throw SegflowError.cancelled }
        return NodeSummary(node: node.id, stage: node.descriptor.name, status: "ran", ran: 1, cached: 0, failed: 0,
                           seconds: 0, outputs: outputs)
    }

    /// Where an item's input files came from, when they are dataset files: a stage names the item and port,
    /// but the user has to find and fix the file in their dataset (` [masks/a.png is /data/masks/a.png]`).
    func origins(of item: ItemPlan) -> String {
        var parts: [String] = []
        for port in item.inputs.keys.sorted() {
            for (file, d) in item.inputs[port]!.sorted(by: { $0.key < $1.key }) {
                if let path = (try? workspace.index.sourcePaths(of: d))?.first { parts.append("\(port)/\(file) is \(path)") }
            }
        }
        return parts.isEmpty ? "" : " [" + parts.joined(separator: ", ") + "]"
    }

    // MARK: - Run record

    /// Stores the manifests of `trees`' `ports` (a 10k-file tree's is ~800 KB: a sort, a hash and a write),
    /// the ports side by side on every core (a dataset's images and masks are two such trees).
    static func storeManifests(_ trees: [String: FileTree], ports: [String], in objects: ObjectStore) throws -> [String: Digest] {
        let stored = parallelResults(ports.count) { k in try trees[ports[k]].map { try objects.ingest(data: TreeCodec.manifest($0)) } }
        var out: [String: Digest] = [:]
        for (k, port) in ports.enumerated() { if let d = try stored[k].get() { out[port] = d } }
        return out
    }

    /// Stores each output tree as an object (for gc, diff, links) and records the node in the run;
    /// returns the manifests' digests by port.
    @discardableResult
    func recordNode(_ plan: NodePlan, _ s: NodeSummary) throws -> [String: Digest] {
        var trees: [String: Digest] = [:]
        let ports = s.outputs.isEmpty ? plan.node.descriptor.outputs.map(\.name) : s.outputs.keys.sorted()
        // A node's metrics file, looked up by name in each port (not a list of every file of every port).
        let metrics = try ports.lazy.compactMap { s.outputs[$0]?.files["metrics.json"] }.first
            .map { String(decoding: try workspace.objects.read($0), as: UTF8.self) }
        // Each tree's manifest is built once: by the source that stored it already, or here.
        var stored = s.manifests
        let missing = ports.filter { s.outputs[$0] != nil && stored[$0] == nil }
        stored.merge(try Self.storeManifests(s.outputs, ports: missing, in: workspace.objects)) { a, _ in a }
        var records: [RunNodeRecord] = []
        for port in ports {
            let treeDigest = stored[port]
            if let treeDigest { trees[port] = treeDigest }
            records.append(RunNodeRecord(
                node: s.node, stage: s.stage, port: port, tree: treeDigest, status: s.status, ran: s.ran, cached: s.cached,
                failed: s.failed, duration: s.seconds, params: plan.paramsJSON, metrics: metrics))
        }
        // One index write for every port: one barrier makes all the manifests durable.
        try workspace.index.recordRunNodes(runID, records)
        return trees
    }
}
