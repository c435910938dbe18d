import ArgumentParser
import Foundation
import SegflowCore
import SegflowEngine

struct LineageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lineage", abstract: "Show what produced a file: stage, params, inputs, run.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "A results path or an object digest (hex).") var target: String

    func run() async throws {
        try await guarded {
            let ws = try Workspace(root: global.cacheRoot)
            var digest = Digest(hex: target)
            if digest == nil {
                let resolved = URL(fileURLWithPath: target).resolvingSymlinksInPath().path
                let parts = resolved.split(separator: "/")
                if parts.count >= 2 { digest = Digest(hex: String(parts[parts.count - 2]) + String(parts[parts.count - 1])) }
                if digest == nil, FileManager.default.fileExists(atPath: target) { digest = try Digest.ofFile(at: target) }
            }
            guard let d = digest else {
                throw SegflowError.user("\(target) is neither a digest nor a file", hint: "pass a path under results/ or a 64-character digest")
            }
            let records = try ws.index.results(producing: d)
            guard !records.isEmpty else {
                throw SegflowError.user("no recorded result produced \(d.short)", hint: "it may come from an older cache, or was collected by gc")
            }
            for r in records {
                print("\(d.short) produced by \(r.node)\(r.item.map { "/" + $0 } ?? "") (\(r.stage)) in run \(r.runID)")
                print("  key     \(r.key.hex)")
                print("  params  \(r.params)")
                print("  inputs  \(r.inputs)")
                if let run = try ws.index.runs(limit: 100_000).first(where: { $0.id == r.runID }) {
                    print("  run     \(run.id): \(run.command)")
                }
            }
        }
    }
}
