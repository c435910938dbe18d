import Foundation
import SegflowCore
import SegflowGraph
import SegflowSpec
import SegflowStages
import SegflowStore

/// `segflow worker SPEC`: computes one shard on whatever node Slurm picked. It reads input objects and
/// places output objects in the shared store (temp, fsync, rename: several nodes may write the same
/// object at once), then writes `result.json` beside the spec. It never opens the SQLite index: only the
/// coordinator writes it, after re-verifying the objects this manifest names.
public enum ShardWorker {
    /// Runs the shard; returns the exit status (0 also when the stage failed: the manifest says so).
    public static func run(specPath: String, environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> Int32 {
        let spec = try ShardSpec.read(specPath)
        let resultPath = (specPath as NSString).deletingLastPathComponent + "/result.json"
        let t0 = Date()
        let host = ProcessInfo.processInfo.hostName
        do {
            let (produced, outcome) = try await compute(spec, specPath: specPath, environment: environment)
            try ShardManifest(shard: spec.id, outputs: produced.mapValues { $0.mapValues(\.hex) }, itemFailures: outcome.itemFailures,
                              metrics: TaggedValue(.map(outcome.metrics)), error: nil, seconds: Date().timeIntervalSince(t0), host: host)
                .write(to: resultPath)
            print("segflow worker: shard \(spec.id.prefix(12)) of \(spec.node): \(spec.items.count) item(s) in \(String(format: "%.1f", Date().timeIntervalSince(t0))) s")
            return 0
        } catch let e as WorkerJobError {
            // Not the stage's fault (a missing input object on this node): exit non-zero so the coordinator retries.
            FileHandle.standardError.write(Data("segflow worker: \(e.message)\n".utf8))
            return 75
        } catch {
            let message = (error as? SegflowError)?.description ?? "\(error)"
            FileHandle.standardError.write(Data("segflow worker: the stage failed: \(message)\n".utf8))
            try ShardManifest(shard: spec.id, outputs: [:], itemFailures: [:], metrics: TaggedValue(.map([:])), error: message,
                              seconds: Date().timeIntervalSince(t0), host: host).write(to: resultPath)
            return 0
        }
    }

    struct WorkerJobError: Error { let message: String }

    static func compute(_ spec: ShardSpec, specPath: String, environment: [String: String]) async throws
        -> ([String: [String: Digest]], StageOutcome) {
        guard spec.format == ShardSpec.formatVersion else {
            throw SegflowError.user("\(specPath) has shard format \(spec.format); this segflow reads \(ShardSpec.formatVersion)",
                                    hint: "run the coordinator and the workers with the same segflow binary")
        }
        let objects = try ObjectStore(root: spec.cache)
        let catalog = try StageCatalog.standard(pluginRoots: spec.pluginRoots)
        guard let impl = catalog.implementations[spec.stage] else {
            throw SegflowError.user("this segflow has no stage type \(spec.stage) (shard of \(spec.node))",
                                    hint: "the workers must run the coordinator's binary with the same plugins (plugin roots: \(spec.pluginRoots.joined(separator: ", ")))")
        }
        let d = impl.descriptor
        guard d.version == spec.stageVersion, d.implementationFingerprint?.hex == spec.fingerprint else {
            throw SegflowError.user("stage \(spec.stage) here (version \(d.version), fingerprint \(d.implementationFingerprint?.short ?? "none")) is not the one planned (version \(spec.stageVersion), fingerprint \(spec.fingerprint.map { String($0.prefix(12)) } ?? "none"))",
                                    hint: "the plugin or binary changed after submission; run segflow again to plan with what is there now")
        }
        guard case .map(let params) = spec.params.value else { throw SegflowError.internal("a shard spec's params are not a map") }
        let classes = try ClassList(canonical: spec.classes.value, source: spec.classesSource)
        var paths: [String: [String: String]] = [:]
        for (port, files) in spec.inputs {
            for (name, hex) in files {
                guard let digest = Digest(hex: hex) else { throw SegflowError.internal("bad digest \(hex) in \(specPath)") }
                // Re-verify: an object half-copied to this node's view of the filesystem must not reach the stage.
                // Inputs are files: this store opens no index, and the coordinator wrote inline ones out before
                // submitting (SlurmExecutor.makeShard).
                guard objects.isIntact(digest) else {
                    throw WorkerJobError(message: "input \(port)/\(name) (object \(digest.short)) is missing or damaged at \(objects.path(of: digest)) on \(ProcessInfo.processInfo.hostName)")
                }
                paths[port, default: [:]][name] = objects.path(of: digest)
            }
        }
        let scratch = objects.tmpDirectory + "/worker-\(spec.id.prefix(12))-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: scratch + "/out", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let threads = environment["SLURM_CPUS_PER_TASK"].flatMap(Int.init) ?? spec.threads
        let call = StageCall(node: spec.node, descriptor: d, params: params, classes: classes, items: spec.items, inputs: paths,
                             outputDirectory: scratch + "/out", threads: max(1, threads),
                             logPath: (specPath as NSString).deletingLastPathComponent + "/stage.log",
                             progress: { done, total, _ in print("progress \(done)/\(total)") })
        let outcome = try await impl.run(call)
        return (try LocalExecutor.ingestOutputs(of: d, node: spec.node, in: call.outputDirectory, into: objects), outcome)
    }
}
