import ArgumentParser
import Foundation
import SegflowEngine

struct CompareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "compare", abstract: "One row per matrix variant: metrics, differing params, time.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The pipeline YAML file.") var pipeline: String
    @Option(help: "Metric to sort by (miou, macroF1, microF1, pixelAccuracy), or one column (scoreVal.miou).") var metric: String?
    @Option(help: "table, markdown, csv or json.") var format = "table"
    @Option(name: [.customShort("p"), .customLong("param")], help: "Override a pipeline param: NAME=VALUE.") var params: [String] = []

    func validate() throws {
        guard ["table", "markdown", "csv", "json"].contains(format) else {
            throw ValidationError("--format must be table, markdown, csv or json")
        }
    }

    func run() async throws {
        try await guarded {
            let overrides = Dictionary(try parsePairs(params, flag: "--param").map { ($0.key, $0.value) }, uniquingKeysWith: { _, b in b })
            let (session, graph) = try Session.loadGraph(path: pipeline, params: overrides, cache: global.cacheRoot)
            print(try Comparison.make(graph: graph, index: session.workspace.index, metric: metric).render(format: format))
        }
    }
}
