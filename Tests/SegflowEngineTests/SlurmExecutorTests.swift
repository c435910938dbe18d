import Foundation
import XCTest
import SegflowCore
import SegflowGraph
import SegflowSpec
import SegflowStages
@testable import SegflowEngine

/// Keeps a run's notes (submissions, retries, re-attachments) for assertions.
final class NoteRecorder: RunReporter, @unchecked Sendable {
    private let lock = NSLock()
    private var kept: [String] = []
    var notes: [String] { lock.lock(); defer { lock.unlock() }; return kept }
    func nodeStarted(_ node: String, stage: String, toRun: Int, cached: Int) {}
    func progress(_ node: String, done: Int, total: Int, message: String?) {}
    func nodeFinished(_ node: String, status: String, ran: Int, cached: Int, failed: Int, seconds: Double) {}
    func note(_ text: String) { lock.lock(); kept.append(text); lock.unlock() }

    /// Job ids of the node's submissions, in order ("seed: submitted 2 shard(s) as Slurm job 41 (array 0-1)").
    func jobs(of node: String) -> [String] {
        notes.compactMap { n -> String? in
            guard n.hasPrefix(node + ": submitted"), let r = n.range(of: "Slurm job ") else { return nil }
            return String(n[r.upperBound...].prefix { $0.isNumber })
        }
    }
}

/// The slurm executor against a real one-node cluster: same digests as local, array tasks, retries after
/// scancel, a node that fails clearly, and a coordinator killed mid-run whose successor adopts its jobs.
final class SlurmExecutorTests: XCTestCase {
    static let data = SlurmTestCluster.repo + "/pipelines/data/camvid-tiny"

    /// Simulated scribbles densified by seedCRF: native map stages, a second or so per item in a debug
    /// build, so that a shard can be cancelled while it runs.
    func scribblePipeline(_ dir: String, items: Int, shardSize: Int, retries: Int, iterations: Int = 1) throws -> PipelineGraph {
        let yaml = """
        version: 1
        name: slurm-scribbles
        classes: \(Self.data)/classes.yaml
        executor: {shardSize: \(shardSize), retries: \(retries)}
        stages:
          train: {type: imageFolder, params: {images: \(Self.data)/train, masks: \(Self.data)/trainannot, limit: \(items)}}
          scribbles: {type: maskScribbles, inputs: {masks: train.masks}}
          seed: {type: seedCRF, inputs: {images: train.images, scribbles: scribbles.scribbles}, params: {iterations: \(iterations)}}
        """
        try yaml.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        let catalog = try StageCatalog.standard(pluginRoots: [])
        return try PipelineGraph(spec: try PipelineSpec.load(path: dir + "/p.yaml"), registry: catalog.registry)
    }

    func engine(_ cache: String, pluginRoots: [String] = []) throws -> Engine {
        Engine(workspace: try Workspace(root: cache), catalog: try StageCatalog.standard(pluginRoots: pluginRoots))
    }

    // MARK: - Without a cluster

    func testGPUStageBatchScriptCarriesItsRequest() throws {
        let dir = try SlurmTestCluster.tempDirectory("slurm-script")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
        version: 1
        name: gpu
        classes: \(Self.data)/classes.yaml
        executor: {kind: slurm, partition: cpu, time: "00:10:00"}
        stages:
          train: {type: imageFolder, params: {images: \(Self.data)/train, masks: \(Self.data)/trainannot}}
          labels: {type: maskLabels, inputs: {masks: train.masks}, resources: {cpu: 2, gpu: 1},
                   executor: {partition: gpu, time: "02:00:00", cpus: 4, mem: 16G}}
          other: {type: maskLabels, inputs: {masks: train.masks}}
        """.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        let graph = try PipelineGraph(spec: try PipelineSpec.load(path: dir + "/p.yaml"), registry: try StageCatalog.standard(pluginRoots: []).registry)
        let script = SlurmBatchScript.render(jobName: "segflow-labels", shardDirectories: ["/c/slurm/a", "/c/slurm/b"], array: true,
                                             request: SlurmRequest(node: graph.node("labels")!), worker: "/opt/segflow", outputPattern: "/c/%a.out")
        for line in ["#SBATCH --gres=gpu:1", "#SBATCH --cpus-per-task=4", "#SBATCH --mem=16G", "#SBATCH --time=02:00:00",
                     "#SBATCH --partition=gpu", "#SBATCH --array=0-1", "exec '/opt/segflow' worker \"$shard/spec.json\""] {
            XCTAssertTrue(script.contains(line + "\n"), "missing \(line) in\n\(script)")
        }
        // The pipeline's defaults fill what a stage does not say; no gpu asked, no gres line.
        let other = SlurmRequest(node: graph.node("other")!)
        XCTAssertEqual([other.partition, other.time, other.mem, other.account], ["cpu", "00:10:00", nil, nil])
        XCTAssertEqual([other.cpus, other.gpus], [1, 0])
        XCTAssertFalse(SlurmBatchScript.render(jobName: "x", shardDirectories: ["/a"], array: false, request: other, worker: "/w",
                                               outputPattern: "/o").contains("--gres"))
        // Where a stage runs is not part of what it computes: the same keys as without any executor.
        let plain = try PipelineGraph(spec: try PipelineSpec.load(path: dir + "/p.yaml"), registry: try StageCatalog.standard(pluginRoots: []).registry)
        XCTAssertEqual(graph.node("labels")!.params, plain.node("labels")!.params)
    }

    func testMissingSbatchIsAClearError() async throws {
        let dir = try SlurmTestCluster.tempDirectory("slurm-nosbatch")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let graph = try scribblePipeline(dir, items: 2, shardSize: 2, retries: 0)
        let path = getenv("PATH").map { String(cString: $0) } ?? ""
        setenv("PATH", "/nonexistent", 1)
        defer { setenv("PATH", path, 1) }
        do {
            _ = try await engine(dir + "/cache").run(graph, options: SlurmTestCluster.options())
            XCTFail("ran without sbatch")
        } catch let e as SegflowError {
            XCTAssertTrue(e.description.contains("sbatch"), e.description)
            XCTAssertTrue(e.description.contains("--executor local"), e.description)
        }
    }

    // MARK: - On the cluster

    func testUnknownPartitionListsThePartitions() async throws {
        try SlurmTestCluster.require()
        let dir = try SlurmTestCluster.tempDirectory("slurm-partition")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var graph = try scribblePipeline(dir, items: 2, shardSize: 2, retries: 0)
        graph.nodes[1].executor.partition = "gpu-nope"
        do {
            _ = try await engine(dir + "/cache").run(graph, options: SlurmTestCluster.options())
            XCTFail("submitted to a partition that does not exist")
        } catch let e as SegflowError {
            XCTAssertTrue(e.description.contains("no Slurm partition 'gpu-nope'"), e.description)
            XCTAssertTrue(e.description.contains("debug"), "names the partitions there are: \(e.description)")
        }
    }

    func testNativeAndTorchStagesGiveLocalDigestsAsArrayTasks() async throws {
        try SlurmTestCluster.require()
        let plugins = SlurmTestCluster.repo + "/plugins"
        guard PluginEnvironment(plugin: try Plugin.load(directory: plugins + "/torch")).isReady else {
            throw XCTSkip("the torch plugin environment is not installed: run `segflow plugins install` (make test does)")
        }
        let dir = try SlurmTestCluster.tempDirectory("slurm-digests")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
        version: 1
        name: slurm-torch
        classes: \(Self.data)/classes.yaml
        # The plugin's stages ask for a GPU; the CI cluster has none.
        executor: {shardSize: 2, gpus: 0}
        stages:
          train: {type: imageFolder, params: {images: \(Self.data)/train, masks: \(Self.data)/trainannot, limit: 4}}
          labels: {type: maskLabels, inputs: {masks: train.masks}, params: {minFraction: 0.02}}
          classifier: {type: classifierTrain, inputs: {images: train.images, labels: labels.labels}, params: {epochs: 1, batch: 4, imageSize: 64, valFraction: 0}}
          cams: {type: cam, inputs: {images: train.images, model: classifier.model, labels: labels.labels}, params: {imageSize: 64}}
          pseudo: {type: pseudoLabel, inputs: {cams: cams.cams, labels: labels.labels}}
        """.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        let catalog = try StageCatalog.standard(pluginRoots: [plugins])
        let graph = try PipelineGraph(spec: try PipelineSpec.load(path: dir + "/p.yaml"), registry: catalog.registry)
        let local = try await engine(dir + "/local", pluginRoots: [plugins]).run(graph)
        let notes = NoteRecorder()
        let slurm = try await engine(dir + "/slurm", pluginRoots: [plugins]).run(graph, options: SlurmTestCluster.options(), reporter: notes)
        for n in slurm.nodes where n.status == "failed" { XCTFail("\(n.node): \(n.error ?? "")") }
        XCTAssertEqual(outputDigests(slurm), outputDigests(local), "the same pipeline gives the same outputs on Slurm")
        XCTAssertEqual(slurm.node("cams")?.ran, 4)
        XCTAssertEqual(slurm.node("classifier")?.ran, 1)
        // Map nodes went as one array of two shards each; the reduce node as one job, not an array.
        let ids = ["labels", "cams", "pseudo", "classifier"].flatMap { notes.jobs(of: $0) }
        let completions = try await SlurmTestCluster.completions { lines in
            ids.allSatisfy { id in lines.filter { $0["ArrayJobId"] == id || $0["JobId"] == id }.count >= (notes.jobs(of: "classifier").contains(id) ? 1 : 2) }
        }
        for node in ["labels", "cams", "pseudo"] {
            let jobs = notes.jobs(of: node)
            XCTAssertEqual(jobs.count, 1, "\(node): one submission: \(notes.notes)")
            let tasks = completions.filter { $0["ArrayJobId"] == jobs.first }
            XCTAssertEqual(tasks.compactMap { $0["ArrayTaskId"] }.sorted(), ["0", "1"], "\(node): two array tasks in the jobcomp file")
            XCTAssertTrue(tasks.allSatisfy { $0["JobState"] == "COMPLETED" }, "\(tasks)")
        }
        let classifierJob = try XCTUnwrap(notes.jobs(of: "classifier").first)
        XCTAssertEqual(completions.filter { $0["JobId"] == classifierJob }.first?["JobState"], "COMPLETED")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/slurm/slurm/" + SlurmExecutor.folderName("cams")),
                       "committed shards leave nothing behind")
        // A second run through Slurm is all cached and submits nothing.
        let again = NoteRecorder()
        let s2 = try await engine(dir + "/slurm", pluginRoots: [plugins]).run(graph, options: SlurmTestCluster.options(), reporter: again)
        XCTAssertEqual(s2.ran, 0)
        XCTAssertTrue(again.notes.filter { $0.contains("submitted") }.isEmpty, "\(again.notes)")
    }

    /// Waits for the node's first submission, then cancels its task 0 once it runs.
    func cancelFirstTaskWhenRunning(of node: String, notes: NoteRecorder) async throws -> String {
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            if let job = notes.jobs(of: node).first {
                let states = try SlurmClient().queue()
                if states[job + "_0"]?.state == "RUNNING" {
                    _ = try SlurmClient().run("scancel", [job + "_0"])
                    return job
                }
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw XCTSkip("the first shard of \(node) never ran within 120 s")
    }

    /// CRF iterations that keep a seed shard running long enough to be cancelled while it runs: with one, a
    /// shard could finish between the poll that saw it running and the `scancel` (it did once, in CI).
    static let slowIterations = 20

    func testCancelledShardIsRetriedAndWithoutRetriesTheNodeFailsClearly() async throws {
        try SlurmTestCluster.require()
        let dir = try SlurmTestCluster.tempDirectory("slurm-retry")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let local = try await engine(dir + "/local").run(try scribblePipeline(dir, items: 4, shardSize: 2, retries: 1, iterations: Self.slowIterations))

        // retries 1: the cancelled shard is submitted again and the run completes with the local digests.
        let notes = NoteRecorder()
        let graph = try scribblePipeline(dir, items: 4, shardSize: 2, retries: 1, iterations: Self.slowIterations)
        let run = Task { try await self.engine(dir + "/retry").run(graph, options: SlurmTestCluster.options(), reporter: notes) }
        let cancelled = try await cancelFirstTaskWhenRunning(of: "seed", notes: notes)
        let s = try await run.value
        XCTAssertEqual(s.node("seed")?.status, "ran", s.node("seed")?.error ?? "")
        XCTAssertEqual(outputDigests(s), outputDigests(local))
        XCTAssertTrue(notes.notes.contains { $0.contains("Slurm job \(cancelled)_0") && $0.contains("CANCELLED") && $0.contains("retry 1 of 1") },
                      "\(notes.notes)")
        XCTAssertEqual(notes.jobs(of: "seed").count, 2, "the array, then the one shard again")
        let cancelledTask = try await SlurmTestCluster.completions { $0.contains { $0["ArrayJobId"] == cancelled && $0["ArrayTaskId"] == "0" } }
            .first { $0["ArrayJobId"] == cancelled && $0["ArrayTaskId"] == "0" }
        XCTAssertEqual(cancelledTask?["JobState"], "CANCELLED")

        // retries 0: the node fails with the job id and state; the other shard's items are committed, the cache stays sound.
        let failing = NoteRecorder()
        let graph0 = try scribblePipeline(dir, items: 4, shardSize: 2, retries: 0, iterations: Self.slowIterations)
        let run0 = Task { try await self.engine(dir + "/noretry").run(graph0, options: SlurmTestCluster.options(), reporter: failing) }
        let job0 = try await cancelFirstTaskWhenRunning(of: "seed", notes: failing)
        let s0 = try await run0.value
        let seed = try XCTUnwrap(s0.node("seed"))
        XCTAssertEqual(seed.status, "failed")
        XCTAssertTrue(seed.error?.contains("Slurm job \(job0)_0") == true && seed.error?.contains("CANCELLED") == true, seed.error ?? "")
        XCTAssertTrue(seed.error?.contains("log: ") == true, seed.error ?? "")
        let ws = try Workspace(root: dir + "/noretry")
        XCTAssertEqual(Maintenance.verify(ws).corrupt, [])
        // The next run (retries allowed) computes only the cancelled shard's two items.
        let s1 = try await engine(dir + "/noretry").run(try scribblePipeline(dir, items: 4, shardSize: 2, retries: 1, iterations: Self.slowIterations),
                                                       options: SlurmTestCluster.options())
        XCTAssertEqual(s1.node("seed")?.ran, 2)
        XCTAssertEqual(outputDigests(s1), outputDigests(local))
    }

    func testKilledCoordinatorsJobsAreAdoptedNotSubmittedTwice() async throws {
        try SlurmTestCluster.require()
        let dir = try SlurmTestCluster.tempDirectory("slurm-adopt")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let graph = try scribblePipeline(dir, items: 6, shardSize: 2, retries: 0)
        let local = try await engine(dir + "/local").run(graph)

        // The coordinator as users run it: a segflow process, killed (SIGKILL) once seedCRF's array is queued.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: SlurmTestCluster.segflowBinary)
        p.arguments = ["run", "--executor", "slurm", "--cache", dir + "/cache", dir + "/p.yaml"]
        var env = ProcessInfo.processInfo.environment
        env["SEGFLOW_SLURM_POLL_MAX"] = "0.5"
        p.environment = env
        let err = Pipe()
        p.standardError = err; p.standardOutput = FileHandle.nullDevice
        try p.run()
        let seedDir = dir + "/cache/slurm/" + SlurmExecutor.folderName("seed")
        let deadline = Date().addingTimeInterval(120)
        func submitted() -> Bool {
            ((try? FileManager.default.contentsOfDirectory(atPath: seedDir)) ?? []).contains { FileManager.default.fileExists(atPath: seedDir + "/\($0)/job") }
        }
        while !submitted() && Date() < deadline && p.isRunning { usleep(50_000) }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let said = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        // The job the dead coordinator recorded for its shards (it may have died before printing it).
        let recorded = Set(((try? FileManager.default.contentsOfDirectory(atPath: seedDir)) ?? []).compactMap {
            (try? String(contentsOfFile: seedDir + "/\($0)/job", encoding: .utf8))?.split(separator: "_").first.map(String.init)
        })
        XCTAssertEqual(recorded.count, 1, "one array for seedCRF's shards: \(said)")
        let first = try XCTUnwrap(recorded.first)

        // Its jobs go on without it; the next run adopts what finished, follows what runs, submits nothing for seed.
        let notes = NoteRecorder()
        let s = try await engine(dir + "/cache").run(graph, options: SlurmTestCluster.options(), reporter: notes)
        XCTAssertEqual(s.node("seed")?.status, "ran", s.node("seed")?.error ?? "")
        XCTAssertEqual(s.node("seed")?.ran, 6)
        XCTAssertEqual(notes.jobs(of: "seed"), [], "nothing submitted twice: \(notes.notes)")
        XCTAssertTrue(notes.notes.contains("seed: re-attached to 3 shard(s) a previous run submitted"), "\(notes.notes)")
        XCTAssertEqual(outputDigests(s), outputDigests(local))
        let tasks = try await SlurmTestCluster.completions { $0.filter { $0["ArrayJobId"] == first }.count >= 3 }.filter { $0["ArrayJobId"] == first }
        XCTAssertEqual(tasks.compactMap { $0["ArrayTaskId"] }.sorted(), ["0", "1", "2"])
    }
}
