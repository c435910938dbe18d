import Foundation
import SegflowCore

/// A prompt with `{{placeholder}}`s, filled in one pass (a description that happens to
/// contain `{{classes}}` is inserted as written, never expanded again).
///
/// Placeholders (spaces inside the braces are allowed):
/// - `{{classes}}`: the vocabulary as a bulleted list, one `- name` per line, in vocabulary order.
/// - `{{definitions}}`: one `name: definition` line per class that has a definition, in vocabulary order.
/// - `{{description}}`: the answer of the describe call; only in `pickPrompt`.
public struct PromptTemplate: Sendable {
    public static let placeholders = ["classes", "definitions", "description"]

    enum Piece: Sendable { case text(String), slot(String) }
    let pieces: [Piece]
    /// Placeholder names used, in order of first use.
    public let slots: [String]

    /// Splits `text`; throws naming every unknown or unclosed placeholder.
    /// `allowed` limits the names (e.g. no `{{description}}` outside `pickPrompt`); `field` names the template in errors.
    public init(_ text: String, field: String, allowed: [String] = PromptTemplate.placeholders) throws {
        var pieces: [Piece] = [], slots: [String] = []
        var bag = DiagnosticBag()
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            pieces.append(.text(String(rest[..<open.lowerBound])))
            let after = rest[open.upperBound...]
            guard let close = after.range(of: "}}") else {
                bag.error("\(field): '{{' without a closing '}}'", at: nil, hint: "write a placeholder as {{classes}}")
                rest = after; pieces.append(.text("{{")); break
            }
            let name = after[..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            if allowed.contains(name) {
                pieces.append(.slot(name)); if !slots.contains(name) { slots.append(name) }
            } else if Self.placeholders.contains(name) {
                bag.error("\(field): placeholder {{\(name)}} is not available here", at: nil,
                          hint: "{{description}} is only filled in pickPrompt, with the describe call's answer")
            } else {
                let guess = Suggest.closest(to: name, in: allowed).map { "did you mean {{\($0)}}? " } ?? ""
                bag.error("\(field): unknown placeholder {{\(name)}}", at: nil,
                          hint: "\(guess)known: " + allowed.map { "{{\($0)}}" }.joined(separator: ", "))
            }
            rest = after[close.upperBound...]
        }
        pieces.append(.text(String(rest)))
        try bag.throwIfErrors()
        self.pieces = pieces; self.slots = slots
    }

    /// Fills the placeholders; a missing value renders as empty text.
    public func render(_ values: [String: String]) -> String {
        pieces.map { piece -> String in
            switch piece {
            case .text(let t): return t
            case .slot(let name): return values[name] ?? ""
            }
        }.joined()
    }

    /// `- name` lines.
    public static func classesText(_ vocabulary: [String]) -> String {
        vocabulary.map { "- \($0)" }.joined(separator: "\n")
    }

    /// `name: definition` lines in vocabulary order (definition keys compared without case).
    public static func definitionsText(_ vocabulary: [String], _ definitions: [String: String]) -> String {
        let byKey = Dictionary(definitions.map { (LabelNormalizer.key($0.key), $0.value) }, uniquingKeysWith: { a, _ in a })
        return vocabulary.compactMap { name in byKey[LabelNormalizer.key(name)].map { "\(name): \($0)" } }
            .joined(separator: "\n")
    }
}

// MARK: - Validation

extension CoTConfig {
    /// The compiled templates of a valid config.
    struct Templates: Sendable {
        var direct: PromptTemplate?
        var describe: PromptTemplate?
        var pick: PromptTemplate?
    }

    /// Checks everything that can be checked without a server, reporting every problem at once.
    /// `label` calls it before sending anything; the stage can call it at plan time.
    public func validate() throws {
        _ = try compiledTemplates()
    }

    func compiledTemplates() throws -> Templates {
        var bag = DiagnosticBag()
        var t = Templates()
        func compile(_ text: String?, _ field: String, allowed: [String]) -> PromptTemplate? {
            guard let text, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                bag.error("strategy \(strategy.rawValue) needs '\(field)'", at: nil, hint: "give the prompt template text (a prompts/*.md file)")
                return nil
            }
            do { return try PromptTemplate(text, field: field, allowed: allowed) } catch let SegflowError.diagnostics(ds) {
                bag.append(contentsOf: ds); return nil
            } catch { bag.error("\(field): \(error)", at: nil); return nil }
        }
        let noDescription = PromptTemplate.placeholders.filter { $0 != "description" }
        switch strategy {
        case .direct:
            t.direct = compile(prompt, "prompt", allowed: noDescription)
        case .describeThenPick:
            t.describe = compile(describePrompt, "describePrompt", allowed: noDescription)
            t.pick = compile(pickPrompt, "pickPrompt", allowed: PromptTemplate.placeholders)
            if let pick = t.pick, !pick.slots.contains("description") {
                // The bug this library exists to prevent: a pick call that never sees the description.
                bag.error("pickPrompt never uses {{description}}", at: nil,
                          hint: "put {{description}} where the describe call's answer belongs")
            }
        }
        checkConnection(&bag)
        try bag.throwIfErrors()
        return t
    }

    /// Every check of the server, model, vocabulary and sampling settings (what `cotLabel` and
    /// `vlmGround` share), added to `bag`.
    func checkConnection(_ bag: inout DiagnosticBag) {
        if model.trimmingCharacters(in: .whitespaces).isEmpty { bag.error("'model' is empty", at: nil, hint: "e.g. model: llava:13b") }
        if let pickModel, pickModel.trimmingCharacters(in: .whitespaces).isEmpty {
            bag.error("'pickModel' is empty", at: nil, hint: "leave it out to pick with 'model'")
        }
        if pickModel != nil, strategy == .direct { bag.error("'pickModel' needs strategy describeThenPick", at: nil) }
        if vocabulary.isEmpty { bag.error("the vocabulary is empty", at: nil, hint: "the pipeline's classes are the vocabulary") }
        let vocabKeys = Set(vocabulary.map(LabelNormalizer.key))
        for (from, to) in synonyms.sorted(by: { $0.key < $1.key }) where !vocabKeys.contains(LabelNormalizer.key(to)) {
            let guess = Suggest.closest(to: to, in: vocabulary).map { "did you mean '\($0)'? " } ?? ""
            bag.error("synonym '\(from)' maps to '\(to)', which is not a class", at: nil,
                      hint: guess + "classes: " + vocabulary.joined(separator: ", "))
        }
        for name in definitions.keys.sorted() where !vocabKeys.contains(LabelNormalizer.key(name)) {
            bag.error("definition for '\(name)', which is not a class", at: nil, hint: "classes: " + vocabulary.joined(separator: ", "))
        }
        if let t = temperature, !(t.isFinite && t >= 0) { bag.error("'temperature' must be 0 or more, found \(t)", at: nil) }
        if let n = maxTokens, n < 1 { bag.error("'maxTokens' must be at least 1, found \(n)", at: nil) }
        if samples < 1 { bag.error("'samples' must be at least 1, found \(samples)", at: nil) }
        if concurrency < 1 { bag.error("'concurrency' must be at least 1, found \(concurrency)", at: nil) }
        if retries < 0 { bag.error("'retries' must be 0 or more, found \(retries)", at: nil) }
        if !(timeout > 0) { bag.error("'timeout' must be more than 0 seconds, found \(timeout)", at: nil) }
        if let u = URL(string: baseURL), let scheme = u.scheme?.lowercased(), ["http", "https"].contains(scheme), u.host != nil {} else {
            bag.error("'url' must be an http:// or https:// address, found \(redact(baseURL))", at: nil,
                      hint: backend == .ollama ? "e.g. http://127.0.0.1:11434" : "e.g. http://127.0.0.1:8000/v1")
        }
    }
}
