import Foundation
import SegflowCore
import SegflowGraph

/// A compact text form for port outputs in the index: `port\tfile\tdigest` lines.
/// Parsed thousands of times per plan, so it avoids JSON.
public enum TreeCodec {
    public static func encode(_ outputs: [String: FileTree]) -> String {
        var bytes: [UInt8] = []
        for port in outputs.keys.sorted() {
            let tree = outputs[port]!
            if tree.files.isEmpty { bytes += port.utf8; bytes += [0x09, 0x09, 0x0A]; continue }
            appendLines(tree, prefix: port, to: &bytes)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `[prefix\t]name\tdigest\n` per file in name order, written as bytes: a 10k-file tree is written
    /// on every import, and a `String` per line (and per hex digest) cost more than the sort.
    static func appendLines(_ tree: FileTree, prefix: String?, to bytes: inout [UInt8]) {
        // The entries sorted with their digests: sorting the names alone meant a lookup of each name afterwards.
        let entries = tree.files.sorted { $0.key < $1.key }
        bytes.reserveCapacity(bytes.count + entries.count * (66 + (prefix?.utf8.count ?? -1) + 1 + 24))
        for (name, d) in entries {
            if let prefix { bytes += prefix.utf8; bytes.append(0x09) }
            bytes += name.utf8
            bytes.append(0x09)
            withUnsafeTemporaryAllocation(byteCount: 64, alignment: 8) { buf in
                d.writeHex(into: buf)
                bytes += UnsafeRawBufferPointer(buf)
            }
            bytes.append(0x0A)
        }
    }

    public static func decode(_ text: String) -> [String: FileTree] {
        var text = text
        return text.withUTF8 { decode($0) }
    }

    /// Decodes the UTF-8 bytes of the text form (as SQLite hands them out, without a `String`).
    public static func decode(_ buf: UnsafeBufferPointer<UInt8>) -> [String: FileTree] {
        var out: [String: FileTree] = [:]
        var lineStart = 0
        while lineStart < buf.count {
            var end = lineStart
            while end < buf.count && buf[end] != 0x0A { end += 1 }
            // port \t file \t digest
            var tab1 = lineStart
            while tab1 < end && buf[tab1] != 0x09 { tab1 += 1 }
            var tab2 = tab1 + 1
            while tab2 < end && buf[tab2] != 0x09 { tab2 += 1 }
            if tab2 < end {
                let port = String(decoding: UnsafeBufferPointer(rebasing: buf[lineStart..<tab1]), as: UTF8.self)
                if tab2 == tab1 + 1 {
                    if out[port] == nil { out[port] = FileTree() }
                } else if let d = Digest(hexBytes: UnsafeBufferPointer(rebasing: buf[(tab2 + 1)..<end])) {
                    let file = String(decoding: UnsafeBufferPointer(rebasing: buf[(tab1 + 1)..<tab2]), as: UTF8.self)
                    out[port, default: FileTree()].files[file] = d
                }
            }
            lineStart = end + 1
        }
        return out
    }

    /// A tree as an object in the store: the same lines for one port.
    public static func manifest(_ tree: FileTree) -> Data {
        var bytes: [UInt8] = []
        appendLines(tree, prefix: nil, to: &bytes)
        return Data(bytes)
    }

    /// Parses `manifest(_:)` bytes (`name\tdigest` lines) in one pass; a plan that takes a 10k-item
    /// node from its memo reads one of these instead of 10k result rows.
    public static func parseManifest(_ data: Data) -> FileTree {
        var tree = FileTree()
        data.withUnsafeBytes { raw in
            let buf = raw.bindMemory(to: UInt8.self)
            var lines = 0
            for b in buf where b == 0x0A { lines += 1 }
            tree.files.reserveCapacity(lines)
            var lineStart = 0
            while lineStart < buf.count {
                var end = lineStart
                while end < buf.count && buf[end] != 0x0A { end += 1 }
                var tab = end
                while tab > lineStart && buf[tab - 1] != 0x09 { tab -= 1 }
                if tab > lineStart, let d = Digest(hexBytes: UnsafeBufferPointer(rebasing: buf[tab..<end])) {
                    tree.files[String(decoding: UnsafeBufferPointer(rebasing: buf[lineStart..<(tab - 1)]), as: UTF8.self)] = d
                }
                lineStart = end + 1
            }
        }
        return tree
    }
}
