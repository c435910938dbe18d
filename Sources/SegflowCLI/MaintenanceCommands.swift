import ArgumentParser
import Foundation
import SegflowEngine

struct GCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gc", abstract: "Delete objects not used by the latest run of any pipeline.")
    @OptionGroup var global: GlobalOptions
    func run() async throws {
        try await guarded {
            let r = try Maintenance.collectGarbage(try Workspace(root: global.cacheRoot))
            print("removed \(r.objects) objects (\(ByteCountFormatter.string(fromByteCount: r.bytes, countStyle: .file))) and \(r.results) results")
        }
    }
}

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify", abstract: "Re-hash every object and evict corrupt ones.")
    @OptionGroup var global: GlobalOptions
    func run() async throws {
        try await guarded {
            let r = Maintenance.verify(try Workspace(root: global.cacheRoot))
            print("checked \(r.checked) objects, \(r.corrupt.count) corrupt\(r.corrupt.isEmpty ? "" : " (evicted; the next run recomputes them)")")
            for d in r.corrupt { print("  corrupt: \(d.hex)") }
        }
    }
}
