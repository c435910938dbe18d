import Foundation
import SegflowCore
import SegflowGraph
import SegflowImaging
import SegflowSpec

/// Runs a per-item body on `call.threads` threads; an item that throws is reported, the rest go on.
enum NativeItems {
    static func forEach(_ call: StageCall, _ body: @escaping (String) throws -> Void) -> [String: String] {
        let items = call.items
        let lock = NSLock()
        var failures: [String: String] = [:]
        var next = 0, done = 0
        let workers = max(1, min(call.threads, items.count))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                lock.lock()
                if next >= items.count || call.isCancelled() { lock.unlock(); return }
                let stem = items[next]; next += 1
                lock.unlock()
                do { try body(stem) } catch {
                    lock.lock(); failures[stem] = describe(error); lock.unlock()
                }
                lock.lock(); done += 1; let d = done; lock.unlock()
                call.progress(d, items.count, nil)
            }
        }
        return failures
    }

    /// Error text without store paths: the item and port say which file.
    static func describe(_ error: Error) -> String {
        if let e = error as? ImagingError { return "\(e.problem); \(e.hint)" }
        if let e = error as? SegflowError { return e.description }
        return "\(error)"
    }
}

/// A per-item problem, phrased for the user.
struct ItemError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

extension StageCall {
    /// The path of an item's file on a port, or a clear error.
    func requirePath(_ port: String, _ stem: String) throws -> String {
        guard let p = inputPath(port: port, stem: stem) else { throw ItemError("no '\(port)' input for this item") }
        return p
    }

    /// Reads an item's Labels file: a JSON array of class names.
    func readLabels(_ port: String, _ stem: String) throws -> [String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: try requirePath(port, stem)))
        guard let names = (try? JSONSerialization.jsonObject(with: data)) as? [String] else {
            throw ItemError("\(port)/\(stem).json is not a JSON array of class names")
        }
        return names
    }

    /// Reads an item's CAMs and checks their shape against the class list.
    func readCAMs(_ port: String, _ stem: String) throws -> NPYArray {
        let a = try NPYArray.read(path: try requirePath(port, stem))
        guard a.shape.count == 3 else { throw ItemError("\(port)/\(stem).npy has shape \(a.shape); expected (C, H, W)") }
        if !classes.classes.isEmpty && a.shape[0] != classes.classes.count {
            throw ItemError("\(port)/\(stem).npy has \(a.shape[0]) channels but the pipeline has \(classes.classes.count) classes")
        }
        return a
    }

    func writeJSON(_ obj: Any, port: String, file: String) throws {
        let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .prettyPrinted])
        try data.write(to: URL(fileURLWithPath: try outputPath(port: port, file: file)))
    }
}

extension ClassList {
    /// pixel value -> channel, -1 for 255, the ignore id and values that are not classes.
    var channelLookup: [Int] {
        var t = [Int](repeating: -1, count: 256)
        for (ch, c) in classes.enumerated() where c.id != ignore && (0..<255).contains(c.id) { t[c.id] = ch }
        return t
    }
    var ids: [UInt8] { classes.map { UInt8(clamping: $0.id) } }
    var backgroundChannel: Int? { background.flatMap { channel(ofID: $0) } }
    func channels(named names: [String]) -> [Int] {
        let lower = names.map { $0.lowercased() }
        return classes.enumerated().filter { lower.contains($0.element.name.lowercased()) }.map(\.offset)
    }
    var colorTable: [UInt8: (UInt8, UInt8, UInt8)] {
        var t: [UInt8: (UInt8, UInt8, UInt8)] = [:]
        for c in classes where (0..<255).contains(c.id) && c.id != ignore && c.color.count == 3 {
            t[UInt8(c.id)] = (UInt8(c.color[0]), UInt8(c.color[1]), UInt8(c.color[2]))
        }
        return t
    }
}
