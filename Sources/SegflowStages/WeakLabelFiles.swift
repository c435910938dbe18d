import Foundation
import SegflowCore
import SegflowImaging
import SegflowSpec
import SegflowVision

// MARK: - Points, Boxes and Scribbles files (docs/FORMATS.md)

/// One click: a class channel at a pixel.
struct PointLabel: Equatable {
    var channel: Int
    var x: Int
    var y: Int
}

/// Reads and validates the weak-label files of an item against its image and the pipeline's classes.
/// Every problem is an `ItemError` naming the file, the entry and the fix: annotation files come from
/// people and models, and one bad entry must fail its item, not the run.
struct WeakLabelReader {
    var classes: ClassList
    var width: Int
    var height: Int

    /// `{"points": [{"class": "Car", "x": 120, "y": 88}, ...]}`
    func points(_ data: Data, file: String) throws -> [PointLabel] {
        try entries(data, file: file, key: "points").enumerated().map { n, e in
            let what = "\(file): points[\(n)]"
            let channel = try channel(e, what)
            let x = try coordinate(e, "x", what), y = try coordinate(e, "y", what)
            guard (0..<width).contains(x), (0..<height).contains(y) else {
                throw ItemError("\(what) at (\(x), \(y)) is outside the \(width)x\(height) image; "
                                + "fix: pixel coordinates of the image, origin top-left, 0 <= x < \(width), 0 <= y < \(height)")
            }
            return PointLabel(channel: channel, x: x, y: y)
        }
    }

    /// `{"boxes": [{"class": "Car", "x0": 10, "y0": 20, "x1": 110, "y1": 90, "score": 0.9}, ...]}`; a score is
    /// checked but not kept (no stage weighs boxes by it yet).
    func boxes(_ data: Data, file: String) throws -> [ChannelBox] {
        try entries(data, file: file, key: "boxes").enumerated().map { n, e in
            let what = "\(file): boxes[\(n)]"
            let channel = try channel(e, what)
            let x0 = try coordinate(e, "x0", what), y0 = try coordinate(e, "y0", what)
            let x1 = try coordinate(e, "x1", what), y1 = try coordinate(e, "y1", what)
            guard x0 >= 0, y0 >= 0, x1 <= width, y1 <= height else {
                throw ItemError("\(what) (\(x0), \(y0))-(\(x1), \(y1)) reaches outside the \(width)x\(height) image; "
                                + "fix: pixels of the image, 0 <= x0 < x1 <= \(width), 0 <= y0 < y1 <= \(height) (x1, y1 exclusive)")
            }
            guard x0 < x1, y0 < y1 else {
                throw ItemError("\(what) (\(x0), \(y0))-(\(x1), \(y1)) is empty; fix: x0 < x1 and y0 < y1 (x1, y1 exclusive)")
            }
            if let s = e["score"], !(s is NSNull), (s as? NSNumber)?.doubleValue.isFinite != true {
                throw ItemError("\(what): score must be a number; fix: a confidence such as 0.9, or leave it out")
            }
            return ChannelBox(channel: channel, x0: x0, y0: y0, x1: x1, y1: y1)
        }
    }

    /// A sparse label PNG of the image's size: class ids where labelled, 255 (or the dataset's
    /// ignore id) elsewhere. Returns channel per pixel, 255 where unlabelled.
    func scribbles(path: String, file: String) throws -> [UInt8] {
        let mask = try ImageIO.readMask(path: path)
        guard mask.width == width, mask.height == height else {
            throw ItemError("\(file) is \(mask.width)x\(mask.height) but its image is \(width)x\(height); "
                            + "fix: a scribble PNG has the image's size (class id on labelled pixels, 255 elsewhere)")
        }
        let lookup = classes.channelLookup
        let ignore = classes.ignore
        var out = [UInt8](repeating: 255, count: mask.pixels.count)
        for (i, v) in mask.pixels.enumerated() where v != 255 {
            let ch = lookup[Int(v)]
            if ch >= 0 { out[i] = UInt8(ch); continue }
            if Int(v) == ignore { continue }
            throw ItemError("\(file) holds value \(v) at (\(i % width), \(i / width)), which is not a class id of \(classes.source); "
                            + "fix: class ids on labelled pixels, 255 elsewhere")
        }
        return out
    }

    // MARK: - Parts

    private func entries(_ data: Data, file: String, key: String) throws -> [[String: Any]] {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw ItemError("\(file) is not valid JSON (\(Self.jsonProblem(error))); fix: {\"\(key)\": [...]} as in docs/FORMATS.md")
        }
        guard let top = object as? [String: Any], let list = top[key] else {
            throw ItemError("\(file) has no \"\(key)\" list; fix: {\"\(key)\": [...]} as in docs/FORMATS.md")
        }
        guard let items = list as? [Any] else { throw ItemError("\(file): \"\(key)\" must be a list") }
        return try items.enumerated().map { n, e in
            guard let d = e as? [String: Any] else { throw ItemError("\(file): \(key)[\(n)] must be an object") }
            return d
        }
    }

    private func channel(_ e: [String: Any], _ what: String) throws -> Int {
        guard let name = e["class"] as? String else {
            throw ItemError("\(what) has no \"class\" name; fix: one of the names in \(classes.source)")
        }
        if let ch = classes.classes.firstIndex(where: { $0.name == name }) { return ch }
        let lower = name.lowercased()
        if let ch = classes.classes.firstIndex(where: { $0.name.lowercased() == lower }) { return ch }
        let hint = Suggest.closest(to: name, in: classes.names).map { "did you mean '\($0)'?" }
            ?? "classes: \(classes.names.joined(separator: ", "))"
        throw ItemError("\(what): class '\(name)' is not in \(classes.source); fix: \(hint)")
    }

    /// A pixel coordinate: a whole number (a float from a model is floored, as pixel (x, y) covers x..<x+1).
    private func coordinate(_ e: [String: Any], _ key: String, _ what: String) throws -> Int {
        guard let n = e[key] as? NSNumber, n.doubleValue.isFinite,
              abs(n.doubleValue) < 1e9 else {
            throw ItemError("\(what) needs a number \"\(key)\"; fix: pixel coordinates of the image, origin top-left")
        }
        return Int(n.doubleValue.rounded(.down))
    }

    private static func jsonProblem(_ error: Error) -> String {
        let ns = error as NSError
        return (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? ns.localizedDescription
    }
}

// MARK: - Writing

/// The JSON the simulated annotators write: compact, keys in a fixed order, so equal labels are equal bytes.
enum WeakLabelJSON {
    static func points(_ points: [(name: String, x: Int, y: Int)]) -> Data {
        let rows = points.map { "{\"class\":\(JSONText.quote($0.name)),\"x\":\($0.x),\"y\":\($0.y)}" }
        return Data(("{\"points\":[" + rows.joined(separator: ",") + "]}\n").utf8)
    }

    static func boxes(_ boxes: [(name: String, x0: Int, y0: Int, x1: Int, y1: Int)]) -> Data {
        let rows = boxes.map { "{\"class\":\(JSONText.quote($0.name)),\"x0\":\($0.x0),\"y0\":\($0.y0),\"x1\":\($0.x1),\"y1\":\($0.y1)}" }
        return Data(("{\"boxes\":[" + rows.joined(separator: ",") + "]}\n").utf8)
    }
}
