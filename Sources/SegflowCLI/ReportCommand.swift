import ArgumentParser
import Foundation
import SegflowEngine

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "Write a static HTML report of the latest run (opens from file://).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The pipeline YAML file.") var pipeline: String
    @Option(name: .shortAndLong, help: "Output folder.") var output: String
    @Option(name: [.customShort("p"), .customLong("param")], help: "Override a pipeline param: NAME=VALUE.") var params: [String] = []

    func run() async throws {
        try await guarded {
            let overrides = Dictionary(try parsePairs(params, flag: "--param").map { ($0.key, $0.value) }, uniquingKeysWith: { _, b in b })
            let (session, graph) = try Session.loadGraph(path: pipeline, params: overrides, cache: global.cacheRoot)
            print(try HTMLReport.write(graph: graph, workspace: session.workspace, to: output))
        }
    }
}
