import Foundation

/// One box or point as a grounding model wrote it: coordinates in the model's convention, label as written.
public struct GroundingEntry: Sendable, Equatable {
    public enum Shape: Sendable, Equatable {
        /// Two corners, in the order written (possibly swapped).
        case box(x0: Double, y0: Double, x1: Double, y1: Double)
        case point(x: Double, y: Double)
    }
    public var shape: Shape
    public var label: String

    public init(_ shape: Shape, label: String) { self.shape = shape; self.label = label }
}

/// What a grounding answer held.
public struct GroundingAnswer: Sendable, Equatable {
    public var entries: [GroundingEntry]
    /// Objects that parsed but were no usable entry (no label, a box without four numbers...).
    public var malformed: Int
    /// The answer ends inside an unfinished object (a list cut off by the token limit):
    /// the complete entries before it are kept.
    public var truncated: Bool
}

/// Finds boxes and points in what grounding VLMs emit.
///
/// Qwen2.5-VL answers `[{"bbox_2d": [x0, y0, x1, y1], "label": "car"}, {"point_2d": [x, y], "label": "pole"}]`,
/// often in a ```json fence or after prose, and a long list may be cut off mid-object. Every complete
/// top-level JSON object in the text is read (the balanced-brace scan of `AnswerParser`, so a cut-off
/// tail simply fails to close); objects that wrap a list (`{"objects": [...]}`) are read one level down.
/// Also accepted: `bbox`/`box` and `point` keys, `name`/`class`/`category` for the label.
public enum GroundingParser {
    /// nil when the answer holds no JSON at all (neither an entry nor an empty list `[]`).
    public static func parse(_ text: String) -> GroundingAnswer? {
        let bytes = Array(text.utf8)
        var answer = GroundingAnswer(entries: [], malformed: 0, truncated: false)
        var sawJSON = false
        // Each brace that does not close or parse costs a scan to its end; a real answer has a few,
        // a hostile one thousands: past this many the rest is left unread (linear time, not quadratic).
        var misses = 0
        var i = 0
        while i < bytes.count && misses < maxMisses {
            guard bytes[i] == UInt8(ascii: "{") else { i += 1; continue }
            guard let end = AnswerParser.balancedEnd(bytes, from: i) else {
                // An object that never closes: the answer was cut off here (or is not JSON at all).
                // Scanning on finds the complete entries inside a cut-off wrapper object.
                if looksLikeEntryStart(bytes, from: i) { answer.truncated = true }
                misses += 1
                i += 1
                continue
            }
            if let object = AnswerParser.parseObject(Array(bytes[i...end])) {
                sawJSON = true
                collect(object, into: &answer, depth: 0)
                i = end + 1
            } else {
                misses += 1
                i += 1
            }
        }
        if !sawJSON && text.range(of: #"\[\s*\]"#, options: .regularExpression) != nil { sawJSON = true }
        return sawJSON || answer.truncated ? answer : nil
    }

    static let maxMisses = 32
    static let boxKeys = ["bbox_2d", "bbox", "box", "box_2d"]
    static let pointKeys = ["point_2d", "point", "points_2d"]
    static let labelKeys = ["label", "name", "class", "category"]

    private static func collect(_ object: [String: Any], into answer: inout GroundingAnswer, depth: Int) {
        let keyed = Dictionary(object.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
        let box = boxKeys.lazy.compactMap { keyed[$0] }.first
        let point = pointKeys.lazy.compactMap { keyed[$0] }.first
        if box != nil || point != nil {
            guard let label = labelKeys.lazy.compactMap({ keyed[$0] as? String }).first,
                  !label.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { answer.malformed += 1; return }
            // An object may carry both (`ask: both`): each shape is an entry of its own.
            if let box {
                if let c = numbers(box), c.count == 4 {
                    answer.entries.append(GroundingEntry(.box(x0: c[0], y0: c[1], x1: c[2], y1: c[3]), label: label))
                } else { answer.malformed += 1 }
            }
            if let point {
                if let c = numbers(point), c.count == 2 {
                    answer.entries.append(GroundingEntry(.point(x: c[0], y: c[1]), label: label))
                } else { answer.malformed += 1 }
            }
            return
        }
        guard depth == 0 else { return }
        // `{"objects": [{...}, ...]}` and the like.
        for key in object.keys.sorted() {
            if let list = object[key] as? [Any] {
                for case let inner as [String: Any] in list { collect(inner, into: &answer, depth: 1) }
            }
        }
    }

    /// Finite numbers (numeric strings too: some models quote them).
    private static func numbers(_ value: Any) -> [Double]? {
        guard let list = value as? [Any] else { return nil }
        var out: [Double] = []
        for v in list {
            // No `is Bool` test: on Linux every NSNumber of 0 or 1 passes it, and a stray `true` costs nothing.
            if let n = v as? NSNumber, n.doubleValue.isFinite { out.append(n.doubleValue); continue }
            if let s = v as? String, let d = Double(s.trimmingCharacters(in: .whitespaces)), d.isFinite { out.append(d); continue }
            return nil
        }
        return out
    }

    /// An unclosed `{` that begins like an entry (`{"bbox_2d"...`, `{"label"...`) marks a truncated list.
    private static func looksLikeEntryStart(_ b: [UInt8], from start: Int) -> Bool {
        let tail = String(decoding: b[start...].prefix(40), as: UTF8.self).lowercased()
        return tail.range(of: #"^\{\s*["']"#, options: .regularExpression) != nil
    }
}
