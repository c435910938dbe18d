import Foundation

/// Finds the labels in a model's answer.
///
/// Models wrap JSON in reasoning, in ```json fences, or write several objects while they
/// think; the last complete object with an `annotations` (or `labels`) list is the answer.
/// Objects are found by a balanced-brace scan that skips braces inside JSON strings.
public enum AnswerParser {
    /// The label strings, or nil when no usable JSON object is in `text`. `[]` is a valid answer.
    public static func labels(in text: String) -> [String]? {
        for object in objects(in: text).reversed() {
            if let labels = labelList(object) { return labels }
        }
        return nil
    }

    /// Every top-level JSON object in `text` that parses, in order of appearance.
    public static func objects(in text: String) -> [[String: Any]] {
        let bytes = Array(text.utf8)
        var out: [[String: Any]] = []
        var i = 0
        while i < bytes.count {
            guard bytes[i] == UInt8(ascii: "{"), let end = balancedEnd(bytes, from: i) else { i += 1; continue }
            let slice = Array(bytes[i...end])
            if let object = parseObject(slice) { out.append(object); i = end + 1 } else { i += 1 }
        }
        return out
    }

    /// Index of the `}` closing the `{` at `start`, skipping braces inside double-quoted strings.
    static func balancedEnd(_ b: [UInt8], from start: Int) -> Int? {
        var depth = 0, inString = false, escaped = false
        var j = start
        while j < b.count {
            let c = b[j]
            if inString {
                if escaped { escaped = false } else if c == UInt8(ascii: "\\") { escaped = true } else if c == UInt8(ascii: "\"") { inString = false }
            } else if c == UInt8(ascii: "\"") {
                inString = true
            } else if c == UInt8(ascii: "{") {
                depth += 1
            } else if c == UInt8(ascii: "}") {
                depth -= 1
                if depth == 0 { return j }
            }
            j += 1
        }
        return nil
    }

    /// Strict JSON first; then two repairs models often need: trailing commas and
    /// single-quoted strings (when the object has no double quotes at all).
    static func parseObject(_ bytes: [UInt8]) -> [String: Any]? {
        func parse(_ d: Data) -> [String: Any]? { (try? JSONSerialization.jsonObject(with: d)) as? [String: Any] }
        if let o = parse(Data(bytes)) { return o }
        var text = String(decoding: bytes, as: UTF8.self)
        if !text.contains("\"") { text = text.replacingOccurrences(of: "'", with: "\"") }
        text = text.replacingOccurrences(of: #",\s*([\]}])"#, with: "$1", options: .regularExpression)
        return parse(Data(text.utf8))
    }

    /// `annotations` or `labels`: a list of strings (objects with a `label`/`name` also count),
    /// or one comma-separated string; also one level down (`{"result": {"annotations": [...]}}`).
    static func labelList(_ object: [String: Any], depth: Int = 0) -> [String]? {
        let keyed = Dictionary(object.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
        guard let value = keyed["annotations"] ?? keyed["labels"] else {
            guard depth == 0 else { return nil }
            for key in object.keys.sorted() {
                if let inner = object[key] as? [String: Any], let found = labelList(inner, depth: 1) { return found }
            }
            return nil
        }
        if let s = value as? String {
            return s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        guard let list = value as? [Any] else { return nil }
        return list.compactMap { element -> String? in
            if let s = element as? String { return s }
            if let o = element as? [String: Any] { return (o["label"] ?? o["name"]) as? String }
            return nil
        }
    }
}
