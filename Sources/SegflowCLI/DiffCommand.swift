import ArgumentParser
import Foundation
import SegflowEngine

struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "diff", abstract: "What changed between two runs: params, outputs, metrics.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "A run id (`segflow log`).") var runA: Int64
    @Argument(help: "Another run id.") var runB: Int64

    func run() async throws {
        try await guarded { print(try RunDiff.render(runA, runB, workspace: try Workspace(root: global.cacheRoot))) }
    }
}
