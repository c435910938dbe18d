import ArgumentParser
import Foundation
import SegflowEngine

struct ExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec", abstract: "Run one stage type on folders of per-item files, through the cache.",
        discussion: "Example: segflow exec crf --input images=imgs --input cams=cams --param unary=probabilities --out masks")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The stage type.") var type: String
    @Option(name: .long, help: "PORT=DIR (repeatable).") var input: [String] = []
    @Option(name: .long, help: "KEY=VALUE (repeatable).") var param: [String] = []
    @Option(name: .long, help: "A classes.yaml.") var classes: String?
    @Option(name: .long, help: "Output folder.") var out: String
    @Option(name: .short, help: "Threads.") var j: Int = ProcessInfo.processInfo.activeProcessorCount

    func run() async throws {
        try await guarded {
            let session = try Session(cache: global.cacheRoot, near: FileManager.default.currentDirectoryPath)
            let req = ExecRequest(stageType: type, inputs: try parsePairs(input, flag: "--input").map { ($0.key, $0.value) },
                                  params: try parsePairs(param, flag: "--param"), classes: classes, output: out)
            let cancellation = Cancellation()
            installInterruptHandler(cancellation)
            let s = try await session.engine.exec(req, options: RunOptions(command: CommandLine.arguments.joined(separator: " "),
                                                                           threads: j, cancellation: cancellation),
                                                  reporter: ConsoleReporter())
            let n = s.node(type)
            print("\(type): \(n?.ran ?? 0) ran, \(n?.cached ?? 0) cached -> \(out)")
        }
    }
}
