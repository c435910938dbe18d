import SegflowCore

/// Pipeline params may use other params (`train: "${params.data}/train"`). They are expanded here, once,
/// so a stage param's `${params.NAME}` reads a finished value; a param that needs itself, directly or
/// through others, is an error naming the chain instead of a value left half expanded.
enum ParamReferences {
    /// How long a chain of params using params may be: the expansion recurses once per link.
    static let maxChain = 64

    /// The names a scalar refers to with `${params.NAME}`, in order.
    static func names(in text: String) -> [String] { TemplateReference.names(after: "${params.", in: text) }

    /// Expands references between params. A whole-value reference (`b: "${params.a}"`) takes the other
    /// param's node, so numbers stay numbers; references inside text take its text.
    static func expand(_ params: [String: YAMLNode], bag: inout DiagnosticBag) -> [String: YAMLNode] {
        var done: [String: YAMLNode] = [:]
        var failed = Set<String>()
        var reportedDepth = false
        // Depth-first with the chain in progress: a name met again on its own chain is a cycle.
        func resolve(_ name: String, chain: [String]) -> YAMLNode? {
            if let d = done[name] { return d }
            if failed.contains(name) { return nil }
            guard let node = params[name] else { return nil }
            guard let text = node.scalar, text.contains("${params.") else { done[name] = node; return node }
            let refs = names(in: text)
            if chain.count >= maxChain {
                failed.insert(name)
                // Once: every other start in a long chain would run into the same limit.
                if reportedDepth { return nil }
                reportedDepth = true
                bag.error("params use params more than \(maxChain) deep ('\(chain[0])' -> '\(chain[1])' -> ... -> '\(name)')", at: node.location,
                          hint: "write the value out in one of the params of this chain")
                return nil
            }
            var values: [String: YAMLNode] = [:]
            for r in refs where values[r] == nil {
                if r == name || chain.contains(r) {
                    let loop = (chain.drop { $0 != r } + [name, r]).map { "'\($0)'" }.joined(separator: " -> ")
                    bag.error("param '\(name)' refers to itself through \(loop)", at: node.location,
                              hint: "a param may use other params (${params.NAME}), but not itself, directly or through others")
                    failed.insert(name); return nil
                }
                guard params[r] != nil else {
                    bag.error("param '\(name)' uses unknown pipeline param '\(r)'", at: node.location,
                              hint: Suggest.closest(to: r, in: Array(params.keys)).map { "did you mean '${params.\($0)}'?" }
                                ?? "declare it under the top-level 'params:'")
                    failed.insert(name); return nil
                }
                guard let v = resolve(r, chain: chain + [name]) else { failed.insert(name); return nil }
                values[r] = v
            }
            if refs.count == 1, text == "${params.\(refs[0])}", let v = values[refs[0]] {
                var copy = v; copy.location = node.location
                done[name] = copy; return copy
            }
            var result = text
            for (r, v) in values {
                guard let s = v.scalar else {
                    bag.error("param '\(name)' puts param '\(r)', \(v.kindDescription), inside text", at: node.location,
                              hint: "only a param that is a single value can stand inside text; write \"${params.\(r)}\" alone")
                    failed.insert(name); return nil
                }
                result = result.replacingOccurrences(of: "${params.\(r)}", with: s)
            }
            let expanded = YAMLNode(.scalar(result, plain: false), at: node.location)
            done[name] = expanded
            return expanded
        }
        // Only params that use params change; sorted, so the errors come in the same order every time.
        let using = params.compactMap { $0.value.scalar?.contains("${params.") == true ? $0.key : nil }
        guard !using.isEmpty else { return params }
        var out = params
        for name in using.sorted() {
            if let v = resolve(name, chain: []) { out[name] = v }
        }
        return out
    }
}

/// `${scope.NAME}` references in a scalar (`${params.data}`, `${matrix.cam}`).
public enum TemplateReference {
    /// The NAMEs after `opening` (e.g. `${matrix.`) up to the next `}`, in order.
    public static func names(after opening: String, in text: String) -> [String] {
        var out: [String] = []
        var rest = Substring(text)
        while let open = rest.range(of: opening) {
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else { break }
            out.append(String(rest[open.upperBound..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return out
    }
}
