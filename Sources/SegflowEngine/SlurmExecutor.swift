import Foundation
import SegflowCore
import SegflowGraph
import SegflowSpec
import SegflowStages
import SegflowStore

/// Runs a node's calls as Slurm jobs: a map node's missing items as shards of ONE `sbatch --array`, a reduce
/// node as one job. Each shard lives in `CACHE/slurm/<node>/<shard id>/` (spec.json, submit, job, log,
/// result.json), so a coordinator that dies loses nothing: the next run adopts finished manifests,
/// re-attaches to jobs still queued or running, and submits only the rest.
final class SlurmExecutor: CallExecutor, @unchecked Sendable {
    let workspace: Workspace
    let classes: ClassList
    let pluginRoots: [String]
    let cancellation: Cancellation
    let reporter: RunReporter
    let options: SlurmOptions
    let client: SlurmClient

    init(workspace: Workspace, catalog: StageCatalog, classes: ClassList, cancellation: Cancellation, reporter: RunReporter,
         options: SlurmOptions, client: SlurmClient) {
        self.workspace = workspace; self.classes = classes; self.cancellation = cancellation; self.reporter = reporter
        self.options = options; self.client = client
        // Each plugin's own folder is a root the worker's catalog finds it in.
        pluginRoots = Set(catalog.implementations.values.compactMap { ($0 as? PluginStage)?.plugin.directory }).sorted()
    }

    var root: String { workspace.root + "/slurm" }

    /// A shard being followed.
    final class Shard {
        let work: ShardWork
        let id: String
        let dir: String
        /// `123_4` (array task) or `123` (a job of its own); nil until submitted.
        var task: String?
        var failures = 0
        /// Polls it has been out of the queue with no manifest (a shared filesystem may show a file late).
        var missing = 0
        init(work: ShardWork, id: String, dir: String) { self.work = work; self.id = id; self.dir = dir }
        var specPath: String { dir + "/spec.json" }
        var resultPath: String { dir + "/result.json" }
    }

    // MARK: - Run a node

    func run(_ work: NodeWork, finished: (ShardWork, ShardOutput) throws -> Void) async throws {
        let node = work.node
        let nodeDir = root + "/" + Self.folderName(node.id)
        try FileManager.default.createDirectory(atPath: nodeDir, withIntermediateDirectories: true)
        let retries = node.executor.retries ?? options.defaultRetries
        var queue = try client.queue()
        var (active, pending) = try adopt(work, nodeDir: nodeDir, queue: queue)
        let adopted = active.count
        // What was not adopted, in shards of `shardSize` items (reduce: the one shard).
        let claimed = Set(active.flatMap(\.work.keys) + pending.flatMap(\.work.keys))
        let left = work.units.filter { !claimed.contains($0.keys[0]) }
        let size = node.descriptor.granularity == .reduce ? max(1, left.count)
            : node.executor.shardSize ?? max(16, (work.units.count + 199) / 200)
        for start in stride(from: 0, to: left.count, by: size) {
            let shard = try makeShard(work.shard(left[start..<min(left.count, start + size)]), node: node, nodeDir: nodeDir)
            pending.append(shard)
        }
        if adopted > 0 { reporter.note("\(node.id): re-attached to \(adopted) shard(s) a previous run submitted") }
        let total = active.count + pending.count
        var done = 0, itemsDone = 0
        var failures: [String] = []
        var interval = options.pollMin
        // The coordinator's own cost, for SEGFLOW_TIMING (bench/slurm): what it adds per shard beside the jobs.
        var cost = (submit: 0.0, poll: 0.0, polls: 0, verify: 0.0, commit: 0.0)
        func timed<T>(_ slot: inout Double, _ body: () throws -> T) rethrows -> T {
            let t0 = Date(); defer { slot += Date().timeIntervalSince(t0) }
            return try body()
        }
        while !active.isEmpty || !pending.isEmpty {
            if cancellation.isCancelled {
                client.cancel(active.compactMap(\.task))
                throw SegflowError.cancelled
            }
            if !pending.isEmpty {
                try timed(&cost.submit) { try submit(pending, node: node, nodeDir: nodeDir) }
                active += pending; pending = []
            }
            var changed = false
            var stillActive: [Shard] = []
            var gone: [Shard] = []
            if active.contains(where: { !FileManager.default.fileExists(atPath: $0.resultPath) }) {
                queue = try timed(&cost.poll) { try client.queue() }
                cost.polls += 1
            }
            for shard in active {
                if FileManager.default.fileExists(atPath: shard.resultPath) {
                    changed = true
                    switch try timed(&cost.verify, { try collect(shard, node: node) }) {
                    case .output(let output):
                        try timed(&cost.commit) { try finished(shard.work, output) }
                        try? FileManager.default.removeItem(atPath: shard.dir)
                        done += 1; itemsDone += shard.work.items.count
                    case .stageError(let message):
                        // Not adopted by the next run: whatever made the stage fail may be fixed by then.
                        try? FileManager.default.removeItem(atPath: shard.resultPath)
                        failures.append(message)
                    case .damaged(let why):
                        shard.missing = 2
                        try? FileManager.default.removeItem(atPath: shard.resultPath)
                        reporter.note("\(node.id): \(why)")
                        gone.append(shard)
                    }
                    continue
                }
                let state = shard.task.flatMap { queue[$0]?.state }
                if let state, Self.waiting.contains(state) { shard.missing = 0; stillActive.append(shard); continue }
                shard.missing += 1
                if shard.missing < 3 { stillActive.append(shard) } else { gone.append(shard) }
            }
            active = stillActive
            if !gone.isEmpty {
                changed = true
                let states = client.finalStates(jobs: Set(gone.compactMap { $0.task?.split(separator: "_").first.map(String.init) }))
                for shard in gone {
                    let state = shard.task.flatMap { queue[$0]?.state ?? states[$0] } ?? "no longer known to Slurm"
                    // Preemption and node failures are the cluster's doing, not the shard's: they do not use up retries.
                    if !Self.notCounted.contains(state) { shard.failures += 1 }
                    if shard.failures > retries {
                        failures.append(failure(shard, node: node, state: state, attempts: shard.failures))
                        continue
                    }
                    reporter.note("\(node.id): shard \(shard.id.prefix(12)) (Slurm job \(shard.task ?? "?")) ended \(state) without a result; "
                                  + "submitting it again (retry \(shard.failures) of \(retries))")
                    shard.missing = 0
                    pending.append(shard)
                }
            }
            let running = active.filter { $0.task.flatMap { queue[$0]?.state } == "RUNNING" }.count
            reporter.progress(node.id, done: itemsDone, total: max(1, work.units.count),
                              message: "slurm: \(done)/\(total) shards done, \(running) running, \(active.count - running + pending.count) queued")
            if active.isEmpty && pending.isEmpty { break }
            interval = changed ? options.pollMin : min(options.pollMax, interval * 1.5)
            if !pending.isEmpty { continue }
            try await sleep(interval)
        }
        cleanUp(nodeDir)
        if ProcessInfo.processInfo.environment["SEGFLOW_TIMING"] != nil {
            FileHandle.standardError.write(Data(String(format: "slurm %@: %d shards; coordinator: submit %.3f s, %d polls %.3f s, verify %.3f s, commit %.3f s\n",
                                                       node.id, total, cost.submit, cost.polls, cost.poll, cost.verify, cost.commit).utf8))
        }
        if !failures.isEmpty {
            throw SegflowError.stageFailed(node: node.id, item: nil, message: failures.joined(separator: "\n"))
        }
    }

    /// Job states in which a shard is still on its way.
    static let waiting: Set<String> = ["PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_HOLD",
                                       "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED", "RESV_DEL_HOLD"]
    static let notCounted: Set<String> = ["PREEMPTED", "NODE_FAIL", "BOOT_FAIL"]

    /// Sleeps in short steps so that Ctrl-C cancels within a tenth of a second.
    func sleep(_ seconds: Double) async throws {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end, !cancellation.isCancelled { try await Task.sleep(nanoseconds: 100_000_000) }
    }

    // MARK: - Shards

    /// A node's folder under `slurm/`: readable, and unique even where two ids differ only in odd characters.
    static func folderName(_ id: String) -> String {
        let safe = String(id.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }.prefix(60))
        var e = HashEncoder(domain: "segflow.slurm.node.v1"); e.append(string: id)
        return safe + "-" + e.finalize().hex.prefix(8)
    }

    func shardID(_ work: ShardWork, node: GraphNode) -> String {
        var e = HashEncoder(domain: "segflow.shard.v1")
        e.append(string: node.id); e.append(string: node.descriptor.name); e.append(int: Int64(node.descriptor.version))
        if let f = node.descriptor.implementationFingerprint { e.append(digest: f) } else { e.appendNull() }
        e.append(int: Int64(work.keys.count))
        for k in work.keys { e.append(digest: k) }
        return e.finalize().hex
    }

    func makeShard(_ work: ShardWork, node: GraphNode, nodeDir: String) throws -> Shard {
        let id = shardID(work, node: node)
        let shard = Shard(work: work, id: id, dir: nodeDir + "/" + String(id.prefix(24)))
        let cpus = SlurmRequest(node: node).cpus
        // The worker reads its inputs by path from the shared cache and opens no index: inline objects are
        // written out as files here, before it is submitted.
        for files in work.inputs.values {
            for d in files.values {
                guard workspace.objects.isIntact(d) else { throw CorruptObject(digest: d, path: workspace.objects.path(of: d)) }
                try workspace.objects.file(of: d)
            }
        }
        try ShardSpec(id: id, node: node.id, stage: node.descriptor.name, stageVersion: node.descriptor.version,
                      fingerprint: node.descriptor.implementationFingerprint?.hex, params: TaggedValue(.map(node.params)),
                      classes: TaggedValue(classes.canonical), classesSource: classes.source, items: work.items,
                      keys: work.keys.map(\.hex), inputs: work.inputs.mapValues { $0.mapValues(\.hex) },
                      cache: workspace.root, pluginRoots: pluginRoots, threads: cpus).write(to: shard.specPath)
        return shard
    }

    /// Shards an earlier run left for this node whose items all still need computing: finished ones and ones
    /// still in the queue are followed again (active); ones whose job is gone without a result are resubmitted.
    func adopt(_ work: NodeWork, nodeDir: String, queue: [String: (state: String, name: String)]) throws -> (active: [Shard], pending: [Shard]) {
        let byKey = Dictionary(work.units.enumerated().flatMap { i, u in u.keys.map { ($0, i) } }, uniquingKeysWith: { a, _ in a })
        var taken = Set<Digest>()
        var active: [Shard] = [], pending: [Shard] = []
        let fm = FileManager.default
        for name in ((try? fm.contentsOfDirectory(atPath: nodeDir)) ?? []).sorted() {
            let dir = nodeDir + "/" + name
            guard fm.fileExists(atPath: dir + "/spec.json") else { continue }
            let task = Self.recordedTask(dir: dir, queue: queue)
            let alive = task.flatMap { queue[$0] }.map { Self.waiting.contains($0.state) } ?? false
            let spec = try? ShardSpec.read(dir + "/spec.json")
            let keys = spec?.keys.compactMap(Digest.init(hex:)) ?? []
            guard let spec, !keys.isEmpty, keys.count == spec.keys.count,
                  keys.allSatisfy({ byKey[$0] != nil && !taken.contains($0) }) else {
                // Work nobody needs any more (its items got done, or the pipeline changed): drop it unless it still runs.
                if !alive { try? fm.removeItem(atPath: dir) }
                continue
            }
            taken.formUnion(keys)
            let units = work.units.filter { keys.contains($0.keys[0]) }
            let shardWork = work.node.descriptor.granularity == .reduce ? work.units[0] : work.shard(units[...])
            let shard = Shard(work: shardWork, id: spec.id, dir: dir)
            shard.task = task
            if fm.fileExists(atPath: shard.resultPath) || alive { active.append(shard) } else { pending.append(shard) }
        }
        return (active, pending)
    }

    /// The task a shard was submitted as: its `job` file, or, when the coordinator died between sbatch and
    /// writing that file, the job named in its `submit` file as the queue lists it.
    static func recordedTask(dir: String, queue: [String: (state: String, name: String)]) -> String? {
        if let job = try? String(contentsOfFile: dir + "/job", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !job.isEmpty {
            return job
        }
        guard let submit = try? String(contentsOfFile: dir + "/submit", encoding: .utf8) else { return nil }
        let parts = submit.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard parts.count == 3 else { return nil }
        return queue.first { task, v in
            v.name == parts[0] && (parts[2] == "array" ? task.hasSuffix("_" + parts[1]) : !task.contains("_"))
        }?.key
    }

    /// Submits shards as one array (map) or one job (reduce), recording each shard's job before and after.
    func submit(_ shards: [Shard], node: GraphNode, nodeDir: String) throws {
        let token = String(UUID().uuidString.lowercased().prefix(8))
        let name = "segflow-" + String(Self.folderName(node.id).prefix(40)) + "-" + token
        let array = node.descriptor.granularity != .reduce
        for (i, s) in shards.enumerated() {
            try DurableFile.write(Data("\(name) \(i) \(array ? "array" : "job")\n".utf8), to: s.dir + "/submit")
            unlink(s.dir + "/job")
        }
        let script = nodeDir + "/submit-\(token).sh"
        try SlurmBatchScript.render(jobName: name, shardDirectories: shards.map(\.dir), array: array, request: SlurmRequest(node: node),
                                    worker: options.resolvedWorkerBinary, outputPattern: nodeDir + "/submit-\(token)-%a.out")
            .write(toFile: script, atomically: true, encoding: .utf8)
        let job = try client.submit(script: script)
        for (i, s) in shards.enumerated() {
            s.task = array ? "\(job)_\(i)" : job
            try DurableFile.write(Data((s.task! + "\n").utf8), to: s.dir + "/job")
        }
        reporter.note("\(node.id): submitted \(shards.count) shard(s) as Slurm job \(job)" + (array ? " (array 0-\(shards.count - 1))" : ""))
    }

    enum Collected { case output(ShardOutput), stageError(String), damaged(String) }

    /// Reads a shard's manifest and re-verifies every object it names before anything is committed.
    func collect(_ shard: Shard, node: GraphNode) throws -> Collected {
        guard let m = try? ShardManifest.read(shard.resultPath), m.shard == shard.id else {
            return .damaged("shard \(shard.id.prefix(12)): its result.json is unreadable; running it again")
        }
        if let e = m.error {
            return .stageError("shard \(shard.id.prefix(12)) (\(Self.describe(shard.work.items)), Slurm job \(shard.task ?? "?")): \(e)\n  log: \(shard.dir)/log")
        }
        var produced: [String: [String: Digest]] = [:]
        for (port, files) in m.outputs {
            for (file, hex) in files {
                guard let d = Digest(hex: hex), workspace.objects.isIntact(d) else {
                    return .damaged("shard \(shard.id.prefix(12)): object \(hex.prefix(12)) for \(port)/\(file) is missing or damaged; running the shard again")
                }
                produced[port, default: [:]][file] = d
            }
        }
        guard case .map(let metrics) = m.metrics.value else { return .damaged("shard \(shard.id.prefix(12)): bad metrics in result.json") }
        return .output(ShardOutput(produced: produced, outcome: StageOutcome(metrics: metrics, itemFailures: m.itemFailures), seconds: m.seconds))
    }

    func failure(_ shard: Shard, node: GraphNode, state: String, attempts: Int) -> String {
        let log = (try? String(contentsOfFile: shard.dir + "/log", encoding: .utf8)) ?? ""
        let tail = log.split(separator: "\n", omittingEmptySubsequences: false).suffix(12).map { "    " + $0 }.joined(separator: "\n")
        return "shard \(shard.id.prefix(12)) (\(Self.describe(shard.work.items))) ended \(state) in Slurm job \(shard.task ?? "?") "
            + "after \(attempts) attempt(s) (executor retries: \(attempts - 1))\n  log: \(shard.dir)/log"
            + (tail.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? " (empty)" : "\n" + tail)
    }

    static func describe(_ items: [String]) -> String {
        items.count <= 3 ? "items " + items.joined(separator: ", ") : "items " + items.prefix(3).joined(separator: ", ") + " and \(items.count - 3) more"
    }

    /// Once a node has no shard left, its scripts and Slurm's own output files go too.
    func cleanUp(_ nodeDir: String) {
        let fm = FileManager.default
        let entries = (try? fm.contentsOfDirectory(atPath: nodeDir)) ?? []
        guard !entries.contains(where: { fm.fileExists(atPath: nodeDir + "/" + $0 + "/spec.json") }) else { return }
        try? fm.removeItem(atPath: nodeDir)
    }
}
