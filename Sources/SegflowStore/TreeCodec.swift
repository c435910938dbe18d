import Foundation
import SegflowCore
import SegflowGraph

/// A compact text form for port outputs in the index: `port\tfile\tdigest` lines.
/// Parsed thousands of times per plan, so it avoids JSON.
public enum TreeCodec {
    public static func encode(_ outputs: [String: FileTree]) -> String {
        var s = ""
        for port in outputs.keys.sorted() {
            let tree = outputs[port]!
            if tree.files.isEmpty { s += "\(port)\t\t\n"; continue }
            for name in tree.files.keys.sorted() { s += "\(port)\t\(name)\t\(tree.files[name]!.hex)\n" }
        }
        return s
    }

    public static func decode(_ text: String) -> [String: FileTree] {
        var out: [String: FileTree] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let parts = line.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let port = String(parts[0])
            if parts[1].isEmpty { out[port, default: FileTree()] = out[port] ?? FileTree(); continue }
            if let d = Digest(hex: String(parts[2])) { out[port, default: FileTree()].files[String(parts[1])] = d }
        }
        return out
    }

    /// A tree as an object in the store: the same lines for one port.
    public static func manifest(_ tree: FileTree) -> Data {
        Data(tree.files.keys.sorted().map { "\($0)\t\(tree.files[$0]!.hex)\n" }.joined().utf8)
    }

    public static func parseManifest(_ data: Data) -> FileTree {
        decode(String(decoding: data, as: UTF8.self).split(separator: "\n").map { "p\t\($0)\n" }.joined())["p"] ?? FileTree()
    }
}
