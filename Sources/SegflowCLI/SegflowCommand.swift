import ArgumentParser

/// The `segflow` command.
@available(macOS 10.15, *)
public struct SegflowCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "segflow",
        abstract: "Weakly-supervised segmentation experiments as cached, incremental pipelines.",
        version: BuildInfo.versionLine,
        subcommands: [RunCommand.self, PlanCommand.self, CompareCommand.self, DiffCommand.self, ReportCommand.self, DagCommand.self, WhyCommand.self, LogCommand.self, LineageCommand.self,
                      ExecCommand.self, StagesCommand.self, PluginsCommand.self, GCCommand.self, VerifyCommand.self,
                      PushCommand.self, PullCommand.self, WorkerCommand.self])
    public init() {}
}
