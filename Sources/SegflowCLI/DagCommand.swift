import ArgumentParser
import Foundation
import SegflowEngine

extension PipelineDrawing.Format: ExpressibleByArgument {}

struct DagCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dag", abstract: "Print the pipeline's DAG: Graphviz DOT, SVG (through `dot`) or Mermaid.",
        discussion: "Matrix variants are grouped as clusters. Draw it with e.g. `segflow dag p.yaml | dot -Tpng -o dag.png`.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The pipeline YAML file.") var pipeline: String
    @Option(help: "dot, svg or mermaid.") var format: PipelineDrawing.Format = .dot
    @Option(name: [.customShort("p"), .customLong("param")], help: "Override a pipeline param: NAME=VALUE.") var params: [String] = []

    func run() async throws {
        try await guarded {
            let overrides = Dictionary(try parsePairs(params, flag: "--param").map { ($0.key, $0.value) }, uniquingKeysWith: { _, b in b })
            let (_, graph) = try Session.loadGraph(path: pipeline, params: overrides, cache: global.cacheRoot)
            print(try PipelineDrawing.render(graph, format: format), terminator: "")
        }
    }
}
