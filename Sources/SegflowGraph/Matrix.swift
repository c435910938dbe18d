import Foundation
import SegflowCore
import SegflowSpec

/// One variant of a matrix: an assignment of every axis.
public struct Variant: Sendable, Hashable {
    /// axis -> value, in axis order.
    public var values: [(axis: String, value: String)]
    /// `cam=gradcampp,refine=crf` (empty for a pipeline without a matrix).
    public var name: String { values.map { "\($0.axis)=\($0.value)" }.joined(separator: ",") }
    public func value(_ axis: String) -> String? { values.first { $0.axis == axis }?.value }

    public static func == (a: Variant, b: Variant) -> Bool { a.name == b.name }
    public func hash(into h: inout Hasher) { h.combine(name) }
}

/// `matrix:` expansion: cartesian product of the axes, minus `exclude:`, plus `include:`, as in CI matrices.
public enum MatrixExpansion {
    public static func variants(_ node: YAMLNode?, bag: inout DiagnosticBag) -> (axes: [String], variants: [Variant]) {
        guard let node else { return ([], [Variant(values: [])]) }
        guard let m = node.mapping else {
            bag.error("'matrix' must be a mapping of axes to lists of values", at: node.location,
                      hint: "e.g. matrix: {cam: [cam, gradcampp], refine: [none, crf]}")
            return ([], [Variant(values: [])])
        }
        var axes: [(String, [String])] = []
        var excludes: [[String: String]] = [], includes: [[String: String]] = []
        func assignments(_ n: YAMLNode, _ what: String) -> [[String: String]] {
            guard let list = n.sequence else { bag.error("'\(what)' must be a list of {axis: value} mappings", at: n.location); return [] }
            return list.compactMap { item in
                guard let pairs = item.mapping else { bag.error("each '\(what)' entry must be a mapping {axis: value}", at: item.location); return nil }
                var a: [String: String] = [:]
                for (k, v) in pairs { a[k.scalar ?? ""] = v.scalar ?? "" }
                return a
            }
        }
        for (k, v) in m {
            let axis = k.scalar ?? ""
            switch axis {
            case "exclude": excludes = assignments(v, "exclude")
            case "include": includes = assignments(v, "include")
            default:
                guard let values = v.sequence?.compactMap(\.scalar), !values.isEmpty else {
                    bag.error("matrix axis '\(axis)' must be a non-empty list of values", at: v.location); continue
                }
                if Set(values).count != values.count { bag.error("matrix axis '\(axis)' lists a value twice", at: v.location) }
                // Axis names and values name the variant's folders (results/<pipeline>/<axis>=<value>/...).
                if !PipelineSpec.isIdentifier(axis) {
                    bag.error("matrix axis '\(axis)' must start with a letter and use letters, digits, '_' or '-'", at: k.location,
                              hint: "axis names go into folder names (results/<pipeline>/<axis>=<value>/)")
                }
                for item in v.sequence ?? [] {
                    if let value = item.scalar, let problem = Self.folderProblem(value) {
                        bag.error("matrix value '\(value)' of axis '\(axis)' \(problem)", at: item.location,
                                  hint: "values name the variant's results folder (results/<pipeline>/\(axis)=<value>/), which must stay inside results/")
                    }
                }
                axes.append((axis, values))
            }
        }
        let names = axes.map(\.0)
        for e in excludes + includes { for k in e.keys where !names.contains(k) {
            bag.error("unknown matrix axis '\(k)' in exclude/include", at: node.location,
                      hint: Suggest.closest(to: k, in: names).map { "did you mean '\($0)'?" } ?? "axes: \(names.joined(separator: ", "))")
        } }
        var product: [[(String, String)]] = [[]]
        for (axis, values) in axes { product = product.flatMap { p in values.map { p + [(axis, $0)] } } }
        var out = product.filter { combo in
            !excludes.contains { ex in ex.allSatisfy { k, v in combo.contains { $0.0 == k && $0.1 == v } } }
        }.map { Variant(values: $0.map { (axis: $0.0, value: $0.1) }) }
        for inc in includes {
            // A full assignment not already there is a new variant; partial ones are ignored (no extra axes here).
            let combo = names.compactMap { a in inc[a].map { (axis: a, value: $0) } }
            if combo.count == names.count, !out.contains(Variant(values: combo)) { out.append(Variant(values: combo)) }
            else if combo.count != names.count {
                bag.error("an 'include' entry must give a value for every axis (\(names.joined(separator: ", ")))", at: node.location)
            }
        }
        if out.isEmpty { bag.error("the matrix has no variants left after 'exclude'", at: node.location) }
        return (names, out)
    }

    /// Why a matrix value cannot be part of a folder path, or nil: a `.` or `..` component would climb
    /// out of results/, and control characters break the index's line format.
    static func folderProblem(_ value: String) -> String? {
        if value.isEmpty { return "is empty" }
        if value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) { return "contains a control character" }
        let parts = value.split(separator: "/", omittingEmptySubsequences: false)
        if parts.dropFirst().contains(where: { $0 == ".." || $0 == "." || $0.isEmpty }) {
            return "has a '.', '..' or empty path component"
        }
        return nil
    }

    /// Axes a scalar refers to with `${matrix.NAME}`.
    static func axesUsed(in text: String) -> [String] { TemplateReference.names(after: "${matrix.", in: text) }

    static func substitute(_ text: String, _ v: Variant) -> String {
        var s = text
        for (axis, value) in v.values { s = s.replacingOccurrences(of: "${matrix.\(axis)}", with: value) }
        return s
    }

    static func substitute(_ node: YAMLNode, _ v: Variant) -> YAMLNode {
        switch node.kind {
        case .scalar(let s, let plain):
            guard s.contains("${matrix.") else { return node }
            let new = substitute(s, v)
            // A whole-value reference keeps YAML typing (numbers stay numbers).
            return YAMLNode(.scalar(new, plain: plain || s.hasPrefix("${matrix.") && s.hasSuffix("}")), at: node.location)
        case .sequence(let items): return YAMLNode(.sequence(items.map { substitute($0, v) }), at: node.location)
        case .mapping(let pairs): return YAMLNode(.mapping(pairs.map { (key: $0.key, value: substitute($0.value, v)) }), at: node.location)
        }
    }

    static func scalars(_ node: YAMLNode) -> [String] {
        switch node.kind {
        case .scalar(let s, _): return [s]
        case .sequence(let items): return items.flatMap(scalars)
        case .mapping(let pairs): return pairs.flatMap { scalars($0.value) }
        }
    }

    /// Expands stages into one deduplicated list: a stage's id carries only the axes it depends on
    /// (directly or through its inputs), so a node identical across variants exists once and runs once.
    /// Returns the stages and, per variant, stage name -> node id.
    public static func expand(_ spec: PipelineSpec, variants: [Variant], axes: [String],
                              bag: inout DiagnosticBag) -> (stages: [StageSpec], ids: [Variant: [String: String]]) {
        if axes.isEmpty { return (spec.stages, [variants[0]: Dictionary(uniqueKeysWithValues: spec.stages.map { ($0.name, $0.name) })]) }
        var direct: [String: Set<String>] = [:]
        for st in spec.stages {
            var used = Set(axesUsed(in: st.type))
            for i in st.inputs { used.formUnion(axesUsed(in: "\(i.stage).\(i.output)")) }
            for p in st.params { used.formUnion(scalars(p.value).flatMap(axesUsed)) }
            for u in used where !axes.contains(u) {
                bag.error("stage '\(st.name)' uses '${matrix.\(u)}', which is not a matrix axis", at: st.nameLocation,
                          hint: Suggest.closest(to: u, in: axes).map { "did you mean '${matrix.\($0)}'?" } ?? "axes: \(axes.joined(separator: ", "))")
            }
            direct[st.name] = used.intersection(axes)
        }
        var out: [StageSpec] = []
        var added = Set<String>()
        var ids: [Variant: [String: String]] = [:]
        for v in variants {
            // Substitute, then resolve dependencies in written order until stable (inputs may come later in the file).
            var subst: [String: StageSpec] = [:]
            for st in spec.stages {
                var s = st
                s.type = substitute(st.type, v)
                s.inputs = st.inputs.map { i in
                    var j = i
                    let ref = substitute("\(i.stage).\(i.output)", v)
                    if let dot = ref.firstIndex(of: ".") { j.stage = String(ref[..<dot]); j.output = String(ref[ref.index(after: dot)...]) }
                    return j
                }
                s.params = st.params.map { (key: $0.key, value: substitute($0.value, v)) }
                subst[st.name] = s
            }
            var deps = direct
            var changed = true, rounds = 0
            while changed && rounds < spec.stages.count + 1 {
                changed = false; rounds += 1
                for st in spec.stages {
                    var d = deps[st.name] ?? []
                    for i in subst[st.name]!.inputs { d.formUnion(deps[i.stage] ?? []) }
                    if d != deps[st.name] { deps[st.name] = d; changed = true }
                }
            }
            var map: [String: String] = [:]
            for st in spec.stages {
                let used = v.values.filter { deps[st.name]?.contains($0.axis) == true }
                map[st.name] = used.isEmpty ? st.name : Variant(values: used).name + "/" + st.name
            }
            ids[v] = map
            for st in spec.stages {
                let id = map[st.name]!
                guard added.insert(id).inserted else { continue }
                var s = subst[st.name]!
                s.name = id
                s.inputs = s.inputs.map { var j = $0; j.stage = map[$0.stage] ?? $0.stage; return j }
                out.append(s)
            }
        }
        return (out, ids)
    }
}
