import Foundation
import SegflowCore
import SegflowStore

/// A cache root: objects, index, results links, logs, scratch.
public final class Workspace: @unchecked Sendable {
    public let root: String
    public let objects: ObjectStore
    public let index: Index

    /// Opens (creating) the cache at `root`. Keys never depend on this path.
    public init(root: String) throws {
        let abs = root.hasPrefix("/") ? root : FileManager.default.currentDirectoryPath + "/" + root
        self.root = URL(fileURLWithPath: abs).standardized.path
        do {
            try FileManager.default.createDirectory(atPath: self.root, withIntermediateDirectories: true)
        } catch {
            throw SegflowError.user("cannot create the cache folder \(self.root): \(error.localizedDescription)",
                                    hint: "pass --cache DIR or set SEGFLOW_CACHE to a writable folder")
        }
        try? FileManager.default.createDirectory(atPath: self.root + "/locks", withIntermediateDirectories: true)
        objects = try ObjectStore(root: self.root)
        index = try Index(path: self.root + "/index.sqlite", durability: objects.durability)
    }

    /// The default cache: $SEGFLOW_CACHE, else ./cache.
    public static func defaultRoot(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        environment["SEGFLOW_CACHE"].flatMap { $0.isEmpty ? nil : $0 } ?? "cache"
    }

    public var resultsDirectory: String { root + "/results" }
    public var logsDirectory: String { root + "/logs" }
    /// Lock files (flock): held by live runs, never in the way of a dead one's successor.
    public var locksDirectory: String { root + "/locks" }

    /// A fresh scratch folder under the cache (same filesystem, so outputs move into objects/).
    public func scratch(_ label: String) throws -> String {
        let dir = objects.tmpDirectory + "/\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}

/// A full disk met anywhere (a write outside a run's own error handling: planning, the index) as the
/// one clear error naming the cache; any other error unchanged.
public func explainingDiskFull(_ error: Error, cache: String) -> Error {
    guard DiskFull.matches(error), !DiskFull.isExplained(error) else { return error }
    let root = URL(fileURLWithPath: cache.hasPrefix("/") ? cache : FileManager.default.currentDirectoryPath + "/" + cache).standardized.path
    return DiskFull.error(cache: root, while: "writing the cache")
}
