import Foundation
import SegflowCore
import SegflowSpec

/// Where plugin folders are looked for, in order (the first plugin of a name wins):
/// 1. `plugins/` beside the pipeline, or up to three folders above it (else in the current folder);
/// 2. the installed plugins, `../share/segflow/plugins` from the running executable (`make install`);
/// 3. every folder in `$SEGFLOW_PLUGIN_PATH` (colon-separated).
public struct PluginSearch: Sendable {
    /// One place looked at, and why it is on the list.
    public struct Location: Sendable {
        public var path: String
        public var origin: String
        public var exists: Bool
    }

    /// Every place looked at, in order, present or not (for messages).
    public var locations: [Location]

    /// The folders that exist, in search order: what `Plugin.discover` walks.
    public var roots: [String] { locations.filter(\.exists).map(\.path) }

    public init(near directory: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                executable: String? = PluginSearch.runningExecutable()) {
        let fm = FileManager.default
        var locations: [Location] = []
        var candidates: [String] = []
        if let d = directory {
            var u = URL(fileURLWithPath: d).standardized
            for _ in 0..<4 { candidates.append(u.path + "/plugins"); u.deleteLastPathComponent() }
        }
        candidates.append(fm.currentDirectoryPath + "/plugins")
        if let found = candidates.first(where: { fm.fileExists(atPath: $0) }) {
            locations.append(Location(path: found, origin: "beside the pipeline", exists: true))
        } else {
            locations.append(Location(path: candidates[0], origin: "beside the pipeline", exists: false))
        }
        if let installed = executable.map(Self.installedPlugins(executable:)) {
            locations.append(Location(path: installed, origin: "installed", exists: fm.fileExists(atPath: installed)))
        }
        for extra in (environment["SEGFLOW_PLUGIN_PATH"] ?? "").split(separator: ":").map(String.init) where !extra.isEmpty {
            locations.append(Location(path: extra, origin: "SEGFLOW_PLUGIN_PATH", exists: fm.fileExists(atPath: extra)))
        }
        self.locations = locations
    }

    /// `<prefix>/share/segflow/plugins` for an executable at `<prefix>/bin/segflow`.
    public static func installedPlugins(executable: String) -> String {
        URL(fileURLWithPath: executable).deletingLastPathComponent().deletingLastPathComponent().path + "/share/segflow/plugins"
    }

    /// The running executable with symlinks resolved (`/proc/self/exe` on Linux), so a `bin/segflow`
    /// linked from elsewhere still finds the plugins installed beside its real file.
    public static func runningExecutable() -> String? {
        if let p = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return p }
        return Bundle.main.executablePath.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path }
    }

    /// "plugins searched: A (beside the pipeline), B (installed, absent), ...", for messages.
    public var searchedDescription: String {
        var parts = locations.map { "\($0.path) (\($0.origin)\($0.exists ? "" : ", absent"))" }
        if !locations.contains(where: { $0.origin == "SEGFLOW_PLUGIN_PATH" }) { parts.append("SEGFLOW_PLUGIN_PATH unset") }
        return "plugins searched: " + parts.joined(separator: ", ")
    }

    // MARK: - Plugins installed elsewhere

    /// Install locations a segflow elsewhere would use, and the plugin folders that created an environment
    /// (`PluginEnvironment` records them): where a stage type missing from here may live.
    static func knownElsewhere(environment: [String: String]) -> [String] {
        var out: [String] = []
        let home = environment["HOME"] ?? NSHomeDirectory()
        for prefix in ["/usr/local", "/usr", "/opt/segflow", home + "/.local"] { out.append(prefix + "/share/segflow/plugins") }
        let envRoot = PluginEnvironment.root(environment: environment)
        for env in ((try? FileManager.default.contentsOfDirectory(atPath: envRoot)) ?? []).sorted() {
            let record = envRoot + "/" + env + "/" + PluginEnvironment.usersFile
            guard let text = try? String(contentsOfFile: record, encoding: .utf8) else { continue }
            out += text.split(separator: "\n").map(String.init)
        }
        return out
    }

    /// The plugin that declares stage `type` somewhere this search does not look, with its folder.
    public func pluginElsewhere(declaring type: String,
                                environment: [String: String] = ProcessInfo.processInfo.environment) -> (name: String, directory: String)? {
        let searched = Set(roots.map { URL(fileURLWithPath: $0).standardized.path })
        for dir in Plugin.discover(roots: Self.knownElsewhere(environment: environment).filter { FileManager.default.fileExists(atPath: $0) }) {
            let parent = URL(fileURLWithPath: dir).deletingLastPathComponent().standardized.path
            guard !searched.contains(parent), !searched.contains(URL(fileURLWithPath: dir).standardized.path),
                  let manifest = try? YAMLParser.parse(file: dir + "/plugin.yaml"),
                  (manifest["stages"]?.mapping ?? []).contains(where: { $0.key.scalar == type }) else { continue }
            return (manifest["name"]?.scalar ?? URL(fileURLWithPath: dir).lastPathComponent, dir)
        }
        return nil
    }

    /// The fix for an unknown stage type: the plugin that has it elsewhere and how to reach it, else
    /// where plugins were searched.
    public func unknownTypeHint(_ type: String) -> String {
        if let (name, dir) = pluginElsewhere(declaring: type) {
            let folder = URL(fileURLWithPath: dir).deletingLastPathComponent().path
            return "'\(type)' is a stage of the plugin '\(name)' at \(dir), which this segflow does not search: "
                + "set SEGFLOW_PLUGIN_PATH=\(folder), or install segflow with its plugins (`make install` in its checkout); \(searchedDescription)"
        }
        return "`segflow stages` lists the types; \(searchedDescription)"
    }
}
