import Foundation
import SegflowCore
import SegflowSpec

/// One shard as a file: everything `segflow worker` needs to compute it without the pipeline file or the
/// index (the pipeline may be edited while jobs wait in the queue; the spec is what was planned).
public struct ShardSpec: Codable, Sendable {
    public static let formatVersion = 1
    public var format = ShardSpec.formatVersion
    /// The digest of node, stage, implementation and item keys: the same work gets the same id in every run.
    public var id: String
    public var node: String
    public var stage: String
    public var stageVersion: Int
    /// Plugin stages: the fingerprint planned with; the worker refuses to run other sources.
    public var fingerprint: String?
    public var params: TaggedValue
    public var classes: TaggedValue
    public var classesSource: String
    /// Map: the items to compute. Reduce: every item.
    public var items: [String]
    /// Map: one key per item (as `items`). Reduce: the node's key.
    public var keys: [String]
    /// port -> file name -> object digest.
    public var inputs: [String: [String: String]]
    /// The cache root on the shared filesystem.
    public var cache: String
    public var pluginRoots: [String]
    public var threads: Int

    /// Writes the spec (temp, fsync, rename).
    public func write(to path: String) throws {
        try DurableFile.write(try JSONEncoder.sorted.encode(self), to: path)
    }

    public static func read(_ path: String) throws -> ShardSpec {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SegflowError.user("no shard spec at \(path)", hint: "segflow worker takes the spec.json the coordinator wrote under CACHE/slurm/")
        }
        do { return try JSONDecoder().decode(ShardSpec.self, from: data) } catch {
            throw SegflowError.user("\(path) is not a shard spec: \(error)", hint: "it was written by another segflow version, or damaged")
        }
    }
}

/// What a worker reports for its shard: the objects it placed, or the stage's error.
public struct ShardManifest: Codable, Sendable {
    public var shard: String
    /// port -> file name -> object digest.
    public var outputs: [String: [String: String]]
    public var itemFailures: [String: String]
    public var metrics: TaggedValue
    /// A failure of the stage itself (not of the job): deterministic, so not retried.
    public var error: String?
    public var seconds: Double
    public var host: String

    public func write(to path: String) throws {
        try DurableFile.write(try JSONEncoder.sorted.encode(self), to: path)
    }

    public static func read(_ path: String) throws -> ShardManifest? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try JSONDecoder().decode(ShardManifest.self, from: data)
    }
}

/// A `CanonicalValue` as JSON that keeps its types (an integer stays an integer, a float a float).
public struct TaggedValue: Codable, Sendable {
    public var value: CanonicalValue
    public init(_ value: CanonicalValue) { self.value = value }

    private enum Keys: String, CodingKey { case t, v }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        switch value {
        case .null: try c.encode("null", forKey: .t)
        case .bool(let b): try c.encode("bool", forKey: .t); try c.encode(b, forKey: .v)
        case .int(let i): try c.encode("int", forKey: .t); try c.encode(i, forKey: .v)
        // Bit patterns: JSON text would round some doubles, and a param must reach the worker exactly.
        case .double(let d): try c.encode("double", forKey: .t); try c.encode(d.bitPattern, forKey: .v)
        case .string(let s): try c.encode("string", forKey: .t); try c.encode(s, forKey: .v)
        case .digest(let d): try c.encode("digest", forKey: .t); try c.encode(d.hex, forKey: .v)
        case .list(let l): try c.encode("list", forKey: .t); try c.encode(l.map(TaggedValue.init), forKey: .v)
        case .map(let m): try c.encode("map", forKey: .t); try c.encode(m.mapValues(TaggedValue.init), forKey: .v)
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        switch try c.decode(String.self, forKey: .t) {
        case "null": value = .null
        case "bool": value = .bool(try c.decode(Bool.self, forKey: .v))
        case "int": value = .int(try c.decode(Int64.self, forKey: .v))
        case "double": value = .double(Double(bitPattern: try c.decode(UInt64.self, forKey: .v)))
        case "string": value = .string(try c.decode(String.self, forKey: .v))
        case "digest":
            let hex = try c.decode(String.self, forKey: .v)
            guard let d = Digest(hex: hex) else { throw DecodingError.dataCorruptedError(forKey: .v, in: c, debugDescription: "bad digest \(hex)") }
            value = .digest(d)
        case "list": value = .list(try c.decode([TaggedValue].self, forKey: .v).map(\.value))
        case "map": value = .map(try c.decode([String: TaggedValue].self, forKey: .v).mapValues(\.value))
        case let t: throw DecodingError.dataCorruptedError(forKey: .t, in: c, debugDescription: "unknown value type \(t)")
        }
    }
}

extension ClassList {
    /// Rebuilds a class list from its canonical value (what keys hash, so nothing that matters is lost).
    init(canonical: CanonicalValue, source: String) throws {
        guard case .map(let m) = canonical, case .list(let list)? = m["classes"] else {
            throw SegflowError.internal("a shard spec's classes are not a class list")
        }
        let classes = list.compactMap { v -> ClassList.Class? in
            guard case .map(let c) = v, let id = c["id"]?.intValue, let name = c["name"]?.stringValue,
                  case .list(let color)? = c["color"] else { return nil }
            return ClassList.Class(id: id, name: name, color: color.compactMap(\.intValue))
        }
        self.init(classes: classes, ignore: m["ignore"]?.intValue, background: m["background"]?.intValue, source: source)
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }
}

/// Small files that must be whole or absent, also on a filesystem other machines write to.
enum DurableFile {
    /// Temp file beside the target, fsync, rename, fsync of the folder: a reader sees the old file or the new one.
    static func write(_ data: Data, to path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let tmp = dir + "/.tmp-\(UUID().uuidString.prefix(8))-" + (path as NSString).lastPathComponent
        let fd = open(tmp, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SegflowError.user("cannot write \(tmp): \(String(cString: strerror(errno)))", hint: "check the cache folder is writable") }
        let ok = data.withUnsafeBytes { buf -> Bool in
            var off = 0
            while off < buf.count {
                let n = Foundation.write(fd, buf.baseAddress! + off, buf.count - off)
                if n <= 0 { return false }
                off += n
            }
            return fsync(fd) == 0
        }
        close(fd)
        guard ok, rename(tmp, path) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(tmp)
            throw SegflowError.user("cannot write \(path): \(why)", hint: "check the cache folder is writable and its disk has room")
        }
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }
}
