import Foundation
import SegflowCore

/// One virtual environment per plugin, keyed by the digest of its pinned requirements, in a folder
/// shared by every checkout and cache: `$SEGFLOW_ENV_DIR` or `~/.cache/segflow/envs/<name>-<digest>`.
public struct PluginEnvironment: Sendable {
    public let plugin: Plugin

    public init(plugin: Plugin) { self.plugin = plugin }

    public static var root: String { root(environment: ProcessInfo.processInfo.environment) }

    static func root(environment env: [String: String]) -> String {
        if let d = env["SEGFLOW_ENV_DIR"], !d.isEmpty { return d }
        return (env["HOME"] ?? NSHomeDirectory()) + "/.cache/segflow/envs"
    }

    /// A file in the venv listing the plugin folders that use it, one a line: an unknown stage type can
    /// then be traced to a plugin that is installed but not searched from where segflow runs.
    static let usersFile = ".segflow-plugin-folders"

    /// Adds this plugin's folder to the venv's users file, dropping folders that are gone (test copies,
    /// removed checkouts) so the file stays small; written atomically. A failure only loses a hint.
    func recordUser() {
        guard let p = path else { return }
        let file = p + "/" + Self.usersFile
        let dir = URL(fileURLWithPath: plugin.directory).standardized.path
        let known = ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        let kept = known.filter { $0 != dir && FileManager.default.fileExists(atPath: $0 + "/plugin.yaml") } + [dir]
        guard kept != known else { return }
        try? (kept.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
    }

    /// The venv folder, or nil when the plugin runs on the system python.
    public var path: String? {
        plugin.requirementsDigest.map { "\(Self.root)/\(plugin.name)-\($0.hex.prefix(16))" }
    }

    public var python: String {
        if let p = path { return p + "/bin/python" }
        return ProcessInfo.processInfo.environment["SEGFLOW_PYTHON"] ?? "/usr/bin/env"
    }

    public var isReady: Bool {
        guard let p = path else { return true }
        return FileManager.default.fileExists(atPath: p + "/.segflow-complete")
    }

    /// Creates the venv if missing, printing pip's progress to stderr. Safe against a concurrent creator:
    /// it builds in a temporary folder, then renames.
    public func ensure(log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) throws {
        defer { if isReady { recordUser() } }
        guard let target = path, !isReady, let req = plugin.requirements else { return }
        let fm = FileManager.default
        try fm.createDirectory(atPath: Self.root, withIntermediateDirectories: true)
        let lockPath = target + ".lock"
        let fd = open(lockPath, O_CREAT | O_RDWR, 0o644)
        defer { if fd >= 0 { flock(fd, LOCK_UN); close(fd) } }
        if fd >= 0 { flock(fd, LOCK_EX) }
        if isReady { return }
        try? fm.removeItem(atPath: target)
        let python = ProcessInfo.processInfo.environment["SEGFLOW_PYTHON"] ?? "python3"
        log("creating the \(plugin.name) plugin environment in \(target) (one time; PyTorch is about 3 GB)")
        try Self.shell([python, "-m", "venv", target], log: log)
        try Self.shell([target + "/bin/pip", "install", "--disable-pip-version-check", "--progress-bar", "off",
                        "-r", plugin.directory + "/" + req], log: log)
        _ = fm.createFile(atPath: target + "/.segflow-complete", contents: Data())
        log("plugin environment ready: \(target)")
    }

    static func shell(_ argv: [String], log: (String) -> Void) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = argv
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch {
            throw SegflowError.user("cannot run \(argv[0]): \(error.localizedDescription)", hint: "install python3 and python3-venv")
        }
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw SegflowError.user("\(argv.joined(separator: " ")) failed with status \(p.terminationStatus)",
                                    hint: "see the output above; check network access to PyPI")
        }
    }
}
