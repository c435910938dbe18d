import ArgumentParser
import Foundation
import SegflowCore
import SegflowEngine

struct LineageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lineage",
        abstract: "Show what produced a file, back to the dataset files: each stage, its params, inputs, run.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "A results path or an object digest (hex).") var target: String
    @Option(help: "Stop after N steps back (1: only the stage that wrote the file).") var depth: Int?
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        if let depth, depth < 1 { throw ValidationError("--depth must be at least 1") }
    }

    func run() async throws {
        try await guarded {
            let digest = try Lineage.digest(of: target)
            let session = try Session(cache: global.cacheRoot, near: FileManager.default.currentDirectoryPath)
            let lineage = try Lineage.walk(from: digest, target: target, workspace: session.workspace,
                                           registry: session.catalog.registry, depth: depth)
            print(json ? lineage.json : lineage.text)
        }
    }
}
