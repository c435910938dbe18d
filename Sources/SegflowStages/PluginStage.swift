import Foundation
import SegflowCore
import SegflowGraph

/// A stage type served by a plugin worker: one process per call, line-delimited JSON over stdin/stdout.
public struct PluginStage: StageImplementation {
    public let descriptor: StageDescriptor
    public let plugin: Plugin

    public init(descriptor: StageDescriptor, plugin: Plugin) { self.descriptor = descriptor; self.plugin = plugin }

    public func run(_ call: StageCall) async throws -> StageOutcome {
        let env = PluginEnvironment(plugin: plugin)
        try env.ensure()
        let request = makeRequest(call)
        return try await Task.detached { try WorkerProcess(stage: self, call: call, env: env).run(request: request) }.value
    }

    func makeRequest(_ call: StageCall) -> Data {
        let classes: [[String: Any]] = call.classes.classes.map { ["id": $0.id, "name": $0.name, "color": $0.color] }
        let obj: [String: Any] = [
            "protocol": 1, "stage": descriptor.name, "node": call.node,
            "params": CanonicalValue.map(call.params).foundation,
            "classes": classes, "ignore": call.classes.ignore as Any? ?? NSNull(),
            "background": call.classes.background as Any? ?? NSNull(),
            "items": call.items, "inputs": call.inputs, "outputDir": call.outputDirectory,
            "device": ProcessInfo.processInfo.environment["SEGFLOW_DEVICE"] ?? "auto",
            "seed": max(0, call.params["seed"]?.intValue ?? 0), "threads": call.threads,
        ]
        var data = (try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])) ?? Data("{}".utf8)
        data.append(0x0A)
        return data
    }
}

/// One worker process: sends the request, reads events, enforces the timeout, kills on Ctrl-C.
final class WorkerProcess: @unchecked Sendable {
    let stage: PluginStage
    let call: StageCall
    let env: PluginEnvironment
    private let lock = NSLock()
    private var lastLines: [String] = []

    init(stage: PluginStage, call: StageCall, env: PluginEnvironment) { self.stage = stage; self.call = call; self.env = env }

    func fail(_ message: String) -> SegflowError {
        .stageFailed(node: call.node, item: nil, message: message + "\n  log: \(call.logPath)")
    }

    func run(request: Data) throws -> StageOutcome {
        let executable: String, arguments: [String]
        if env.path != nil {
            executable = env.python
            arguments = [env.python, stage.plugin.entry]
        } else {
            executable = "/usr/bin/env"
            arguments = ["env", ProcessInfo.processInfo.environment["SEGFLOW_PYTHON"] ?? "python3", stage.plugin.entry]
        }
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONUNBUFFERED"] = "1"
        environment["HF_HUB_OFFLINE"] = "1"
        _ = FileManager.default.createFile(atPath: call.logPath, contents: nil)
        let log = FileHandle(forWritingAtPath: call.logPath)
        // Tied to this thread, which waits for it: a segflow killed mid-call takes its worker along.
        let p: TiedProcess
        do {
            p = try TiedProcess(executable: executable, arguments: arguments, environment: environment,
                                directory: stage.plugin.directory, stderr: log?.fileDescriptor)
        } catch {
            throw fail("cannot start the \(stage.plugin.name) worker (\(env.python)): \(error)")
        }
        p.stdin.write(request)
        try? p.stdin.close()

        let timeout = stage.descriptor.timeout ?? 24 * 3600
        let deadline = DispatchTime.now() + timeout
        let timedOut = Flag()
        let timer = DispatchSource.makeTimerSource()
        timer.schedule(deadline: deadline)
        // SIGKILL: a hung worker may ignore SIGTERM (or inherit it ignored).
        timer.setEventHandler { timedOut.set(); p.kill() }
        timer.resume()
        defer { timer.cancel() }
        let cancelWatch = DispatchSource.makeTimerSource()
        cancelWatch.schedule(deadline: .now() + 0.2, repeating: 0.2)
        cancelWatch.setEventHandler { [call] in if call.isCancelled() { p.kill() } }
        cancelWatch.resume()
        defer { cancelWatch.cancel() }

        var result: StageOutcome? = nil
        var errorEvent: (String, String)? = nil
        var garbage: String? = nil
        let stop = WorkerOutput.read(fd: p.stdout.fileDescriptor, pid: p.pid) { line in
            guard let obj = (try? JSONSerialization.jsonObject(with: line)) as? [String: Any], let event = obj["event"] as? String else {
                if garbage == nil { garbage = String(decoding: line.prefix(200), as: UTF8.self) }
                p.kill()
                return
            }
            switch event {
            case "progress":
                CrashPoint.reached("plugin")
                call.progress(obj["done"] as? Int ?? 0, obj["total"] as? Int ?? 0, obj["message"] as? String)
            case "log":
                log?.write(Data(((obj["message"] as? String ?? "") + "\n").utf8))
            case "result":
                let metrics = (obj["metrics"] as? [String: Any] ?? [:]).mapValues { CanonicalValue.from(any: $0) }
                var failures: [String: String] = [:]
                for (k, v) in obj["itemFailures"] as? [String: Any] ?? [:] { failures[k] = "\(v)" }
                result = StageOutcome(metrics: metrics, itemFailures: failures)
            case "error":
                errorEvent = (obj["message"] as? String ?? "unknown error", obj["traceback"] as? String ?? "")
            default:
                if garbage == nil { garbage = "unknown event '\(event)'" }
            }
        }
        if stop == .lineTooLong {
            garbage = "a line of more than \(WorkerOutput.maxLineBytes >> 20) MiB without a line break"
            p.kill()
        }
        let exit = p.waitForExit()
        try? log?.close()
        if call.isCancelled() { throw SegflowError.cancelled }
        if timedOut.isSet {
            throw fail("the \(stage.plugin.name) worker for \(stage.descriptor.name) did not finish within \(Int(timeout)) s and was stopped")
        }
        if let garbage {
            throw fail("the \(stage.plugin.name) worker wrote something that is not a protocol event to stdout: \(garbage)")
        }
        if let (message, traceback) = errorEvent {
            let tail = traceback.split(separator: "\n").suffix(8).map { "    " + $0 }.joined(separator: "\n")
            throw fail("\(message)\(tail.isEmpty ? "" : "\n  traceback (last lines):\n" + tail)")
        }
        guard exit == .exited(0) else {
            let tail = (try? String(contentsOfFile: call.logPath, encoding: .utf8))?.split(separator: "\n").suffix(6)
                .map { "    " + $0 }.joined(separator: "\n") ?? ""
            throw fail("the \(stage.plugin.name) worker \(exit) without a result\(tail.isEmpty ? "" : "; its last log lines:\n" + tail)")
        }
        guard let result else { throw fail("the \(stage.plugin.name) worker exited without sending a result") }
        return result
    }
}

/// A thread-safe boolean.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
