import Foundation
import SegflowCore

/// A remote cache: a place holding objects by digest and result rows by key (Bazel's CAS and action
/// cache), reached through plain storage operations, so it needs no server of ours.
///
/// Layout under the remote's root (the same for every implementation):
///     objects/ab/cdef...   an object's bytes, named by their SHA-256 (as in the local store)
///     packs/<sha256>       result rows (`RemoteRowPack`, layout 2), written after their objects
///     results/<key hex>    a single result row (`RemoteResultRow`, layout 1: still read, no longer written)
public protocol RemoteStore: Sendable {
    /// The remote as the user named it (never with credentials).
    var displayURL: String { get }
    /// Whether a stored thing exists (a HEAD). Many are asked about at once by listing (`RemoteInventory`).
    func exists(_ path: String) async throws -> Bool
    /// Stores a file's bytes; `sha256` is the hex SHA-256 of those bytes.
    func upload(_ path: String, file: String, size: Int64, sha256: String) async throws
    /// Stores bytes.
    func upload(_ path: String, data: Data) async throws
    /// The stored bytes, nil when absent.
    func download(_ path: String) async throws -> Data?
    /// Every stored path under a prefix (e.g. `objects/`), relative to the remote's root.
    func list(_ prefix: String) async throws -> [String]
}

extension RemoteStore {
    public static func objectPath(_ d: Digest) -> String { "objects/\(d.hex.prefix(2))/\(d.hex.dropFirst(2))" }
    public static func resultPath(_ key: Digest) -> String { "results/\(key.hex)" }
    public static func packPath(_ d: Digest) -> String { "packs/\(d.hex)" }
    public func packPath(_ d: Digest) -> String { Self.packPath(d) }
    public func objectPath(_ d: Digest) -> String { Self.objectPath(d) }
    public func resultPath(_ key: Digest) -> String { Self.resultPath(key) }
}

/// Parses a remote URL (`s3://BUCKET/PREFIX` or `file:///PATH`) and opens it.
public enum RemoteURL {
    /// `endpoint` is `--endpoint`; `environment` supplies the AWS settings.
    public static func open(_ url: String, endpoint: String? = nil,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> any RemoteStore {
        if url.hasPrefix("file://") {
            let path = String(url.dropFirst("file://".count))
            guard path.hasPrefix("/") else {
                throw SegflowError.user("remote \(url): a folder remote needs an absolute path", hint: "write file:///shared/segflow-cache (three slashes)")
            }
            return try FolderRemote(root: path.removingPercentEncoding ?? path, displayURL: url)
        }
        if url.hasPrefix("s3://") {
            let rest = url.dropFirst("s3://".count)
            let bucket = String(rest.prefix { $0 != "/" })
            let prefix = rest.dropFirst(bucket.count).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            guard isBucketName(bucket) else {
                throw SegflowError.user("remote \(url): '\(bucket)' is not an S3 bucket name",
                                        hint: "bucket names are 3-63 characters of a-z, 0-9, '.' and '-', e.g. s3://lab-cache/segflow")
            }
            let config = try AWSConfig.resolve(remote: url, endpoint: endpoint, environment: environment)
            return S3Remote(client: try S3Client(config: config, bucket: bucket, displayURL: url), prefix: prefix)
        }
        throw SegflowError.user("'\(url)' is not a remote URL", hint: "use s3://BUCKET/PREFIX or file:///PATH (or set SEGFLOW_REMOTE)")
    }

    static func isBucketName(_ s: String) -> Bool {
        (3...63).contains(s.count) && s.allSatisfy { $0.isLowercase && $0.isASCII || $0.isNumber && $0.isASCII || $0 == "." || $0 == "-" }
    }
}
