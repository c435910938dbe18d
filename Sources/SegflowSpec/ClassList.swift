import Foundation
import SegflowCore

/// The classes of a pipeline, in channel order (the order of classes.yaml).
public struct ClassList: Sendable, Hashable {
    public struct Class: Sendable, Hashable {
        public var id: Int
        public var name: String
        public var color: [Int]
        public init(id: Int, name: String, color: [Int]) { self.id = id; self.name = name; self.color = color }
    }
    public var classes: [Class]
    /// A dataset id meaning "not labelled" (CamVid: 11). 255 is always ignored too.
    public var ignore: Int?
    /// The id of the background class, when the dataset has one.
    public var background: Int?
    /// Where the list came from (a path or "inline"), for messages.
    public var source: String

    public init(classes: [Class], ignore: Int?, background: Int?, source: String) {
        self.classes = classes; self.ignore = ignore; self.background = background; self.source = source
    }

    public var names: [String] { classes.map(\.name) }

    /// The channel of a class id, or nil.
    public func channel(ofID id: Int) -> Int? { classes.firstIndex { $0.id == id } }

    /// The canonical value hashed into keys.
    public var canonical: CanonicalValue {
        .map([
            "classes": .list(classes.map { .map(["id": .int(Int64($0.id)), "name": .string($0.name),
                                                 "color": .list($0.color.map { .int(Int64($0)) })]) }),
            "ignore": ignore.map { .int(Int64($0)) } ?? .null,
            "background": background.map { .int(Int64($0)) } ?? .null,
        ])
    }

    /// A fixed palette for inline lists (Pascal VOC's bit-interleaved colours), so ids give stable colours.
    public static func vocColor(_ i: Int) -> [Int] {
        var r = 0, g = 0, b = 0, c = i
        for j in 0..<8 {
            r |= ((c >> 0) & 1) << (7 - j); g |= ((c >> 1) & 1) << (7 - j); b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        }
        return [r, g, b]
    }

    /// `classes:` is a path to a classes.yaml (relative to the pipeline) or an inline list of names.
    public static func load(node: YAMLNode, baseDirectory: String) throws -> ClassList {
        var bag = DiagnosticBag()
        if let items = node.sequence {
            var out: [Class] = []
            for (i, item) in items.enumerated() {
                if let s = item.scalar { out.append(Class(id: i, name: s, color: vocColor(i))) }
                else { bag.error("a class must be a name, found \(item.kindDescription)", at: item.location) }
            }
            try check(out, at: node.location, bag: &bag)
            try bag.throwIfErrors()
            let bg = out.first { $0.name.lowercased() == "background" }?.id
            return ClassList(classes: out, ignore: nil, background: bg, source: "inline")
        }
        guard let rel = node.scalar else {
            throw SegflowError.user("'classes' must be a path to a classes.yaml or a list of names, found \(node.kindDescription)", at: node.location)
        }
        let path = rel.hasPrefix("/") ? rel : URL(fileURLWithPath: baseDirectory).appendingPathComponent(rel).standardized.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw SegflowError.user("classes file not found: \(path)", at: node.location,
                                    hint: "paths are relative to the pipeline file's folder")
        }
        return try loadFile(path: path)
    }

    /// Reads a classes.yaml: `{ignore: 11, background: 0, classes: [{id, name, color}]}`.
    public static func loadFile(path: String) throws -> ClassList {
        let root = try YAMLParser.parse(file: path)
        var bag = DiagnosticBag()
        var out: [Class] = []
        guard let list = root["classes"]?.sequence else {
            throw SegflowError.user("\(path) needs a 'classes:' list of {id, name, color}", at: root.location)
        }
        for (i, item) in list.enumerated() {
            if let name = item.scalar { out.append(Class(id: i, name: name, color: vocColor(i))); continue }
            guard let nameNode = item["name"], let name = nameNode.scalar else {
                bag.error("a class needs a 'name'", at: item.location, hint: "write {id: 0, name: Sky, color: [128, 128, 128]}"); continue
            }
            var id = i
            if let idNode = item["id"] {
                if let v = idNode.resolved.intValue, (0...254).contains(v) { id = v }
                else { bag.error("class id must be an integer 0-254, found \(idNode.kindDescription)", at: idNode.location) }
            }
            var color = vocColor(id)
            if let c = item["color"] {
                let comps = c.sequence?.compactMap { $0.resolved.intValue } ?? []
                if comps.count == 3, comps.allSatisfy({ (0...255).contains($0) }) { color = comps }
                else { bag.error("color must be [r, g, b] with 0-255 values", at: c.location) }
            }
            out.append(Class(id: id, name: name, color: color))
        }
        try check(out, at: root.location, bag: &bag)
        var ignore: Int?, background: Int?
        if let n = root["ignore"] {
            if let v = n.resolved.intValue { ignore = v } else { bag.error("'ignore' must be a class id", at: n.location) }
        }
        if let n = root["background"] {
            if let v = n.resolved.intValue, out.contains(where: { $0.id == v }) { background = v }
            else { bag.error("'background' must be the id of a listed class", at: n.location) }
        } else {
            background = out.first { $0.name.lowercased() == "background" }?.id
        }
        try bag.throwIfErrors()
        return ClassList(classes: out, ignore: ignore, background: background, source: path)
    }

    static func check(_ classes: [Class], at location: SourceLocation, bag: inout DiagnosticBag) throws {
        if classes.isEmpty { bag.error("the class list is empty", at: location) }
        var seenNames = Set<String>(), seenIDs = Set<Int>()
        for c in classes {
            if !seenNames.insert(c.name).inserted { bag.error("class '\(c.name)' is listed twice", at: location) }
            if !seenIDs.insert(c.id).inserted { bag.error("class id \(c.id) is used twice", at: location) }
        }
    }
}
