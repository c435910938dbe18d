import ArgumentParser
import Foundation
import SegflowEngine

struct LogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log", abstract: "List runs, or the nodes of one run.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "A run id for details.") var run: Int64?
    @Option(name: .long, help: "How many runs.") var limit = 20

    func run() async throws {
        try await guarded {
            let ws = try Workspace(root: global.cacheRoot)
            // A run whose process died is shown as killed, not as running for ever.
            try ws.index.markDeadRuns(locks: ws.locksDirectory)
            let fmt = DateFormatter(); fmt.dateFormat = "yyyy-MM-dd HH:mm:ss"
            if let id = run {
                for n in try ws.index.runNodes(id) {
                    print(String(format: "%-16@ %-16@ %-8@ %-8@ %5d ran %6d cached %4d failed %8.2f s", n.node, n.stage, n.port,
                                 n.status, n.ran, n.cached, n.failed, n.duration))
                }
                for e in try ws.index.executions(run: id) where e.status == "failed" {
                    print("failed \(e.node)\(e.item.map { "/" + $0 } ?? ""): \(e.error ?? "")")
                }
                return
            }
            for r in try ws.index.runs(limit: limit) {
                let secs = r.finished.map { $0.timeIntervalSince(r.started) } ?? 0
                print(String(format: "%5lld  %@  %-20@ %-9@ %6d ran %7d cached %4d failed %8.1f s", r.id, fmt.string(from: r.started),
                             r.pipeline, r.status, r.ran, r.cached, r.failed, secs))
            }
        }
    }
}
