import Foundation
import SegflowCore

/// The digest of everything that determines a node's (or one item's) output.
///
/// key = H("segflow.key.v1", stageType, stageVersion, implementationFingerprint,
///         canonical(params with defaults filled), classes, inputs...)
/// `file` params enter by content digest (paths never do); `directory` params not at all.
public enum KeyBuilder {
    public static let domain = "segflow.key.v1"

    /// The part of a key shared by every item of a node: type, version, implementation, params, classes.
    /// Copy it and append the item's inputs (`HashEncoder` is a value type).
    public static func nodePrefix(descriptor: StageDescriptor, params: [String: CanonicalValue],
                                  classes: CanonicalValue, fileDigests: [String: Digest]) -> HashEncoder {
        var e = HashEncoder(domain: domain)
        e.append(string: descriptor.name)
        e.append(int: Int64(descriptor.version))
        if let fp = descriptor.implementationFingerprint { e.append(digest: fp) } else { e.appendNull() }
        e.append(value: .map(keyParams(descriptor: descriptor, params: params, fileDigests: fileDigests)))
        e.append(value: classes)
        return e
    }

    /// Params as they enter keys: file params by content; directory params and params that do not
    /// affect outputs (timeouts, retries) left out.
    public static func keyParams(descriptor: StageDescriptor, params: [String: CanonicalValue],
                                 fileDigests: [String: Digest]) -> [String: CanonicalValue] {
        var out: [String: CanonicalValue] = [:]
        for (k, v) in params {
            if descriptor.param(k)?.affectsOutput == false { continue }
            switch descriptor.param(k)?.type {
            case .directory?: continue
            case .file?: out[k] = fileDigests[k].map { .digest($0) } ?? v
            default: out[k] = v
            }
        }
        return out
    }

    /// A map item's key: prefix + whole inputs (by tree digest) + this item's input digests + its stem.
    public static func itemKey(prefix: HashEncoder, wholeInputs: [(port: String, tree: Digest)],
                               itemInputs: [(port: String, file: String, digest: Digest)], stem: String) -> Digest {
        var e = prefix
        e.append(string: "item")
        e.append(string: stem)
        for w in wholeInputs { e.append(string: w.port); e.append(digest: w.tree) }
        for i in itemInputs { e.append(string: i.port); e.append(string: i.file); e.append(digest: i.digest) }
        return e.finalize()
    }

    /// A map node's memo key: prefix + the Merkle root of every input port. It determines every item
    /// key of the node (stems and per-item files come from the trees), so it may stand for all of them.
    public static func memoKey(prefix: HashEncoder, inputs: [(port: String, tree: Digest)]) -> Digest {
        var e = prefix
        e.append(string: "memo")
        for i in inputs { e.append(string: i.port); e.append(digest: i.tree) }
        return e.finalize()
    }

    /// A reduce node's key: prefix + the Merkle root of each input port.
    public static func reduceKey(prefix: HashEncoder, inputs: [(port: String, tree: Digest)]) -> Digest {
        var e = prefix
        e.append(string: "reduce")
        for i in inputs { e.append(string: i.port); e.append(digest: i.tree) }
        return e.finalize()
    }
}

/// The files of one port value: file name -> content digest. Its digest is the Merkle root.
public struct FileTree: Sendable, Hashable {
    public var files: [String: Digest]
    public init(_ files: [String: Digest] = [:]) { self.files = files }

    /// H("segflow.tree.v1", sorted (name, digest) pairs).
    public var digest: Digest {
        var e = HashEncoder(domain: "segflow.tree.v1")
        e.append(int: Int64(files.count))
        // Sorted with their digests (no lookup of each name afterwards).
        for (name, d) in files.sorted(by: { $0.key < $1.key }) { e.append(string: name); e.append(digest: d) }
        return e.finalize()
    }

    /// Item stem of a file name: the name without its last extension.
    public static func stem(of file: String) -> String {
        let u = file.utf8
        guard let dot = u.lastIndex(of: UInt8(ascii: ".")), dot != u.startIndex else { return file }
        return String(file[..<dot])
    }

    /// The last extension of a file name, without the dot ("" if none).
    public static func `extension`(of file: String) -> String {
        let u = file.utf8
        guard let dot = u.lastIndex(of: UInt8(ascii: ".")), dot != u.startIndex else { return "" }
        return String(file[file.index(after: dot)...])
    }

    /// Why `name` cannot be a file of a tree, or nil. A name is one path component (it becomes
    /// `results/.../<port>/<name>` and a file in a stage's folder, so `/`, `.` and `..` would reach
    /// outside them), and holds no control characters (the index stores trees as tab-separated lines).
    public static func nameProblem(_ name: String) -> String? {
        // The common case, a plain name, by one pass over its bytes in place (a dataset's names are all checked
        // on every plan); a problem is then described by the checks below.
        let plain = name.utf8.withContiguousStorageIfAvailable { b -> Bool in
            guard let first = b.first else { return false }
            if first == UInt8(ascii: "."), b.count == 1 || (b.count == 2 && b[1] == UInt8(ascii: ".")) { return false }
            for c in b where c < 0x20 || c == 0x7F || c == UInt8(ascii: "/") { return false }
            return true
        }
        if plain == true { return nil }
        if name.isEmpty { return "is empty" }
        if name == "." || name == ".." { return "is '\(name)', which names a folder" }
        for b in name.utf8 {
            if b == UInt8(ascii: "/") { return "contains '/' (a file name is one path component)" }
            if b < 0x20 || b == 0x7F { return "contains a control character (\(b == 9 ? "a tab" : b == 10 ? "a line break" : String(format: "0x%02x", b)))" }
        }
        return nil
    }

    /// stem -> file name, for item sets.
    public var byStem: [String: String] {
        var m: [String: String] = [:]
        for f in files.keys { m[FileTree.stem(of: f)] = f }
        return m
    }
}
