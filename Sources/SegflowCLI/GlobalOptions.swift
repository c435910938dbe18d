import ArgumentParser
import Foundation
import SegflowCore
import SegflowEngine
import SegflowGraph

/// Options every subcommand shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Cache root (default: $SEGFLOW_CACHE or ./cache).")
    var cache: String?

    var cacheRoot: String { cache ?? Workspace.defaultRoot() }
}

/// `--param NAME=VALUE` pairs.
func parsePairs(_ raw: [String], flag: String) throws -> [(key: String, value: String)] {
    try raw.map { s in
        guard let eq = s.firstIndex(of: "="), eq != s.startIndex else {
            throw SegflowError.user("\(flag) \(s): expected NAME=VALUE", hint: "e.g. \(flag) iterations=5")
        }
        return (String(s[..<eq]), String(s[s.index(after: eq)...]))
    }
}

/// A pipeline as `run` and `plan` take it: `-p` overrides applied, restricted to `targets` (with what
/// they read from), every `--force` name checked against it. `full` is the whole pipeline.
func loadPipeline(_ path: String, params: [String], targets: [String], force: [String],
                  global: GlobalOptions) throws -> (session: Session, full: PipelineGraph, graph: PipelineGraph) {
    let overrides = Dictionary(try parsePairs(params, flag: "--param").map { ($0.key, $0.value) }, uniquingKeysWith: { _, b in b })
    let (session, full) = try Session.loadGraph(path: path, params: overrides, cache: global.cacheRoot)
    let graph = try full.restricted(to: targets)
    for f in force where graph.node(f) == nil {
        throw SegflowError.user("--force \(f): no stage named '\(f)' in \(path)",
                                hint: "stages: \(graph.nodes.map(\.id).joined(separator: ", "))")
    }
    return (session, full, graph)
}

/// Runs a command body and turns segflow errors into messages and exit codes (user 2, internal 70).
func guarded(cache: String? = nil, _ body: () async throws -> Void) async throws {
    Timeline.mark("command starts")
    defer { Timeline.mark("command ends") }
    do {
        do { try await body() } catch { throw cache.map { explainingDiskFull(error, cache: $0) } ?? error }
    } catch let e as SegflowError {
        FileHandle.standardError.write(Data((e.description + "\n").utf8))
        throw ExitCode(e.exitCode)
    }
}

/// Installs Ctrl-C (and SIGTERM) handling: the first stops after the current chunk, the second exits at once.
/// Either way the cache stays consistent: objects are renamed into place before the index commits them.
func installInterruptHandler(_ cancellation: Cancellation) {
    var count = 0
    for sig in [SIGINT, SIGTERM] {
        signal(sig, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        source.setEventHandler {
            count += 1
            if count > 1 { _exit(130) }
            FileHandle.standardError.write(Data("\ninterrupting: finishing the current chunk (Ctrl-C again to stop now)\n".utf8))
            cancellation.cancel()
        }
        source.resume()
        interruptSources.append(source)
    }
}
nonisolated(unsafe) var interruptSources: [DispatchSourceSignal] = []
