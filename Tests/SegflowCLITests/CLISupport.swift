import Foundation
import XCTest

/// Runs the `segflow` executable built beside the tests, as a user would.
enum CLI {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The debug `segflow` next to the test bundle (`swift build --build-tests` builds it).
    static var binary: String {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("segflow").path
        return FileManager.default.isExecutableFile(atPath: beside) ? beside : repo + "/.build/debug/segflow"
    }

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    /// Runs `argv` in `cwd` with `environment` (default: this process's), both outputs captured.
    static func run(_ argv: [String], cwd: String? = nil, environment: [String: String]? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0].hasPrefix("/") ? argv[0] : "/usr/bin/env")
        p.arguments = argv[0].hasPrefix("/") ? Array(argv.dropFirst()) : argv
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        if let environment { p.environment = environment }
        let dir = NSTemporaryDirectory() + "segflow-cli-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Files, not pipes: a chatty command cannot block on a full pipe.
        _ = FileManager.default.createFile(atPath: dir + "/out", contents: nil)
        _ = FileManager.default.createFile(atPath: dir + "/err", contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: dir + "/out")
        p.standardError = FileHandle(forWritingAtPath: dir + "/err")
        p.standardInput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return Result(status: p.terminationStatus,
                      stdout: (try? String(contentsOfFile: dir + "/out", encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOfFile: dir + "/err", encoding: .utf8)) ?? "")
    }

    static func tempDir(_ label: String) throws -> String {
        let dir = NSTemporaryDirectory() + "segflow-\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return URL(fileURLWithPath: dir).resolvingSymlinksInPath().path
    }

    /// This process's environment without the variables a test must not inherit.
    static func environment(without names: [String] = ["SEGFLOW_PLUGIN_PATH", "SEGFLOW_CACHE"], setting extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        for n in names { env[n] = nil }
        env.merge(extra) { _, b in b }
        return env
    }
}
