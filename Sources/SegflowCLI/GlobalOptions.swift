import ArgumentParser
import Foundation
import SegflowCore
import SegflowEngine

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

/// Runs a command body and turns segflow errors into messages and exit codes (user 2, internal 70).
func guarded(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let e as SegflowError {
        FileHandle.standardError.write(Data((e.description + "\n").utf8))
        throw ExitCode(e.exitCode)
    }
}

/// Installs a Ctrl-C handler: the first stops after the current chunk, the second exits at once.
func installInterruptHandler(_ cancellation: Cancellation) {
    signal(SIGINT, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
    var count = 0
    source.setEventHandler {
        count += 1
        if count > 1 { _exit(130) }
        FileHandle.standardError.write(Data("\ninterrupting: finishing the current chunk (Ctrl-C again to stop now)\n".utf8))
        cancellation.cancel()
    }
    source.resume()
    interruptSource = source
}
nonisolated(unsafe) var interruptSource: DispatchSourceSignal?
