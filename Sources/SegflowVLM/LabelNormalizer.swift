import Foundation

/// Maps what a model wrote to vocabulary names.
///
/// In order: exact match without case (spaces collapsed, `_` read as a space, surrounding
/// quotes and punctuation trimmed); then the synonyms; then a singular of a simple plural of
/// the last word (`lawns` -> `lawn`, `cement roads` -> `cement road`), kept only when that
/// singular is a class or a synonym, so `grass` never becomes `gras`; likewise a singular
/// whose plural is the class (`other` -> `others`). Anything else is dropped.
public struct LabelNormalizer: Sendable {
    public let vocabulary: [String]
    private let index: [String: Int]
    private let synonymIndex: [String: Int]

    public init(vocabulary: [String], synonyms: [String: String] = [:]) {
        self.vocabulary = vocabulary
        var index: [String: Int] = [:]
        for (i, name) in vocabulary.enumerated() where index[Self.key(name)] == nil { index[Self.key(name)] = i }
        var syn: [String: Int] = [:]
        for (from, to) in synonyms { if let i = index[Self.key(to)] { syn[Self.key(from)] = i } }
        self.index = index; self.synonymIndex = syn
    }

    /// The comparison form: lowercase, `_` as a space, whitespace collapsed, edges trimmed.
    public static func key(_ s: String) -> String {
        let trim = CharacterSet.whitespacesAndNewlines.union(CharacterSet(charactersIn: "\"'`*.,;:!?()[]"))
        let lowered = s.lowercased().replacingOccurrences(of: "_", with: " ")
        return lowered.components(separatedBy: .whitespacesAndNewlines).filter { !$0.isEmpty }
            .joined(separator: " ").trimmingCharacters(in: trim)
    }

    /// The vocabulary index of one label, or nil.
    public func match(_ label: String) -> Int? {
        let k = Self.key(label)
        if k.isEmpty { return nil }
        if let i = index[k] ?? synonymIndex[k] { return i }
        for candidate in Self.singulars(of: k) {
            if let i = index[candidate] ?? synonymIndex[candidate] { return i }
        }
        return index[k + "s"] ?? index[k + "es"]
    }

    /// Canonical names in vocabulary order without duplicates, and the labels dropped
    /// (as written, trimmed, each once).
    public func normalize(_ labels: [String]) -> (labels: [String], dropped: [String]) {
        var hit = Set<Int>(), dropped: [String] = []
        for label in labels {
            if let i = match(label) { hit.insert(i); continue }
            let shown = label.trimmingCharacters(in: .whitespacesAndNewlines)
            if !dropped.contains(shown) { dropped.append(shown) }
        }
        return (hit.sorted().map { vocabulary[$0] }, dropped)
    }

    /// Candidate singulars of the last word: `-ies` -> `-y`, `-es` -> ``, `-s` -> ``.
    static func singulars(of key: String) -> [String] {
        var words = key.split(separator: " ").map(String.init)
        guard let last = words.popLast(), last.count > 2, last.hasSuffix("s"), !last.hasSuffix("ss") else { return [] }
        let head = words.isEmpty ? "" : words.joined(separator: " ") + " "
        var out: [String] = []
        if last.hasSuffix("ies") { out.append(String(last.dropLast(3)) + "y") }
        if last.hasSuffix("es") { out.append(String(last.dropLast(2))) }
        out.append(String(last.dropLast()))
        return out.map { head + $0 }
    }
}
