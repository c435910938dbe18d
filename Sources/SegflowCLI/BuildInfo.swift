import CBuildInfo

/// What `segflow --version` prints: the package version and the commit the binary was built from.
enum BuildInfo {
    /// The package version (bump on a release).
    static let version = "0.1.0"

    /// The git commit (12 hex digits, `-dirty` when tracked files had changes), or "unknown".
    static var commit: String { String(cString: segflow_build_commit()) }

    static var versionLine: String { "segflow \(version) (commit \(commit))" }
}
