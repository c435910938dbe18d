import ArgumentParser

/// The `segflow` command.
public struct SegflowCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "segflow")
    public init() {}
    public func run() async throws {}
}
