import ArgumentParser
import Foundation
import SegflowCore
import SegflowEngine
import SegflowStages

struct PluginsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins", abstract: "List plugins, install their environments, check them.",
        subcommands: [List.self, Install.self, Doctor.self, Env.self], defaultSubcommand: List.self)

    static func plugins() throws -> [Plugin] {
        try Plugin.loadAll(roots: StageCatalog.defaultPluginRoots(near: FileManager.default.currentDirectoryPath))
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

    /// Prints a plugin's environment folder (for scripts: `$(segflow plugins env torch)/bin/python`).
    struct Env: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "env")
        @Argument var name: String
        func run() async throws {
            try await guarded {
                guard let p = try PluginsCommand.plugins().first(where: { $0.name == name }) else {
                    throw SegflowError.user("no plugin named '\(name)'", hint: "`segflow plugins list` shows them")
                }
                print(PluginEnvironment(plugin: p).path ?? "")
            }
        }
    }

    struct Doctor: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "doctor", abstract: "Check each plugin's environment: packages consistent, imports work.")
        func run() async throws {
            try await guarded {
                var failed = false
                for p in try PluginsCommand.plugins() {
                    let env = PluginEnvironment(plugin: p)
                    guard env.isReady else { print("\(p.name): environment missing; run `segflow plugins install \(p.name)`"); failed = true; continue }
                    let python = env.path != nil ? [env.python] : ["/usr/bin/env", "python3"]
                    var checks = [python + ["-m", "pip", "check", "--disable-pip-version-check"]]
                    if let d = p.doctor { checks.append(python + [d]) }
                    for argv in checks {
                        let proc = Process()
                        proc.executableURL = URL(fileURLWithPath: argv[0])
                        proc.arguments = Array(argv.dropFirst())
                        proc.currentDirectoryURL = URL(fileURLWithPath: p.directory)
                        try proc.run(); proc.waitUntilExit()
                        if proc.terminationStatus != 0 { failed = true; print("\(p.name): FAILED: \(argv.dropFirst().joined(separator: " "))") }
                    }
                    print("\(p.name): \(failed ? "problems above" : "ok") (\(env.path ?? "system python3"))")
                }
                if failed { throw SegflowError.user("a plugin environment has problems", hint: "reinstall it: rm -rf the folder shown, then `segflow plugins install`") }
            }
        }
    }
}
