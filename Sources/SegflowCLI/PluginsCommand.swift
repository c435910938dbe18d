import ArgumentParser
import Foundation
import SegflowCore
import SegflowEngine
import SegflowStages

struct PluginsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins", abstract: "List plugins, install their environments, check them.",
        subcommands: [List.self, Install.self, Doctor.self], defaultSubcommand: List.self)

    static func plugins() throws -> [Plugin] {
        try Plugin.discover(roots: StageCatalog.defaultPluginRoots(near: FileManager.default.currentDirectoryPath)).map(Plugin.load(directory:))
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list")
        func run() async throws {
            try await guarded {
                for p in try PluginsCommand.plugins() {
                    let env = PluginEnvironment(plugin: p)
                    print("\(p.name)  \(p.directory)  fingerprint \(p.fingerprint.short)")
                    print("  env: \(env.path ?? "system python3") \(env.isReady ? "(ready)" : "(not installed: segflow plugins install)")")
                    print("  stages: \(p.stages.map(\.name).joined(separator: ", "))")
                }
            }
        }
    }

    struct Install: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "install")
        @Argument var name: String?
        func run() async throws {
            try await guarded {
                for p in try PluginsCommand.plugins() where name == nil || p.name == name {
                    try PluginEnvironment(plugin: p).ensure()
                    print("\(p.name): ready at \(PluginEnvironment(plugin: p).path ?? "system python3")")
                }
            }
        }
    }

    struct Doctor: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "doctor")
        func run() async throws {
            try await guarded {
                for p in try PluginsCommand.plugins() {
                    let env = PluginEnvironment(plugin: p)
                    guard env.isReady else { print("\(p.name): environment missing; run `segflow plugins install \(p.name)`"); continue }
                    let proc = Process()
                    proc.executableURL = URL(fileURLWithPath: env.path != nil ? env.python : "/usr/bin/env")
                    proc.arguments = (env.path != nil ? [] : ["python3"]) + [p.entry, "--doctor"]
                    proc.currentDirectoryURL = URL(fileURLWithPath: p.directory)
                    try proc.run(); proc.waitUntilExit()
                    print("\(p.name): \(proc.terminationStatus == 0 ? "ok" : "FAILED (status \(proc.terminationStatus))")")
                }
            }
        }
    }
}
