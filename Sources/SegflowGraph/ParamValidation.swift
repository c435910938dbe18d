import Foundation
import SegflowCore
import SegflowSpec

/// Checks written params against a stage's schema and fills defaults.
enum ParamValidation {
    /// Returns the complete, typed params. Substitutes `${params.NAME}` from the pipeline params.
    static func resolve(stage: StageSpec, descriptor: StageDescriptor, pipeline: PipelineSpec,
                        bag: inout DiagnosticBag) -> [String: CanonicalValue] {
        var out: [String: CanonicalValue] = [:]
        var written: [String: YAMLNode] = [:]
        for (k, v) in stage.params {
            guard descriptor.param(k) != nil else {
                let names = descriptor.params.map(\.name)
                bag.error("unknown param '\(k)' for stage type \(descriptor.name)", at: v.location,
                          hint: Suggest.closest(to: k, in: names).map { "did you mean '\($0)'?" }
                            ?? (names.isEmpty ? "\(descriptor.name) takes no params" : "params: \(names.joined(separator: ", "))"))
                continue
            }
            written[k] = v
        }
        for spec in descriptor.params {
            guard let node = written[spec.name] else {
                if let d = spec.defaultValue { out[spec.name] = d }
                else {
                    bag.error("stage '\(stage.name)' is missing required param '\(spec.name)' (\(spec.type.rawValue))",
                              at: stage.nameLocation, hint: spec.doc.isEmpty ? "add it under 'params:'" : spec.doc)
                }
                continue
            }
            if let v = check(node, spec: spec, stage: stage, pipeline: pipeline, bag: &bag) { out[spec.name] = v }
        }
        return out
    }

    /// Expands `${params.NAME}` in a scalar; a whole-string reference keeps the param's type.
    static func substitute(_ node: YAMLNode, pipeline: PipelineSpec, bag: inout DiagnosticBag) -> YAMLNode? {
        guard let s = node.scalar, s.contains("${") else { return node }
        var result = ""
        var rest = Substring(s)
        while let open = rest.range(of: "${") {
            result += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                bag.error("unterminated '${' in \"\(s)\"", at: node.location, hint: "write ${params.NAME}"); return nil
            }
            let ref = String(rest[open.upperBound..<close])
            if ref.hasPrefix("params.") {
                let name = String(ref.dropFirst("params.".count))
                if s == "${\(ref)}", let value = pipeline.params[name] { var copy = value; copy.location = node.location; return copy }
                if let value = pipeline.params[name], value.scalar == nil {
                    bag.error("pipeline param '\(name)' is \(value.kindDescription) and cannot stand inside text \"\(s)\"", at: node.location,
                              hint: "use it as the whole value: \"${params.\(name)}\"")
                    return nil
                }
                guard let value = pipeline.params[name], let text = value.scalar else {
                    bag.error("unknown pipeline param '\(name)' in \"\(s)\"", at: node.location,
                              hint: Suggest.closest(to: name, in: Array(pipeline.params.keys)).map { "did you mean '${params.\($0)}'?" }
                                ?? "declare it under the top-level 'params:'")
                    return nil
                }
                result += text
            } else if ref.hasPrefix("matrix.") {
                bag.error("'${\(ref)}' names no matrix axis", at: node.location, hint: "declare the axis under 'matrix:'")
                return nil
            } else {
                bag.error("unknown reference '${\(ref)}'", at: node.location, hint: "write ${params.NAME}")
                return nil
            }
            rest = rest[rest.index(after: close)...]
        }
        result += rest
        return YAMLNode(.scalar(result, plain: false), at: node.location)
    }

    static func check(_ raw: YAMLNode, spec: ParamSpec, stage: StageSpec, pipeline: PipelineSpec,
                      bag: inout DiagnosticBag) -> CanonicalValue? {
        guard let node = substitute(raw, pipeline: pipeline, bag: &bag) else { return nil }
        let value = node.resolved
        let what = "param '\(spec.name)' of stage '\(stage.name)'"
        func wrong(_ expected: String) -> CanonicalValue? {
            bag.error("\(what) must be \(expected), found \(node.kindDescription)", at: node.location,
                      hint: spec.doc.isEmpty ? nil : spec.doc)
            return nil
        }
        switch spec.type {
        case .string, .file, .directory:
            guard let s = node.scalar, value != .null else { return wrong("a string") }
            if let choices = spec.choices, !choices.contains(s) {
                bag.error("\(what) must be one of \(choices.joined(separator: ", ")), found \"\(s)\"", at: node.location,
                          hint: Suggest.closest(to: s, in: choices).map { "did you mean '\($0)'?" })
                return nil
            }
            if spec.type == .file || spec.type == .directory {
                let path = s.hasPrefix("/") ? s : URL(fileURLWithPath: pipeline.baseDirectory).appendingPathComponent(s).standardized.path
                var isDir: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
                    bag.error("\(what): no such \(spec.type == .file ? "file" : "folder") \(path)", at: node.location,
                              hint: "paths are relative to the pipeline file's folder (\(pipeline.baseDirectory))")
                    return nil
                }
                if isDir.boolValue != (spec.type == .directory) {
                    bag.error("\(what): \(path) is \(isDir.boolValue ? "a folder" : "a file"), expected \(spec.type == .file ? "a file" : "a folder")", at: node.location)
                    return nil
                }
                return .string(path)
            }
            return .string(s)
        case .int:
            guard let i = value.intValue, case .int = value else { return wrong("an integer") }
            return range(Double(i), value: .int(Int64(i)), spec: spec, what: what, at: node.location, bag: &bag)
        case .float:
            guard let d = value.doubleValue else { return wrong("a number") }
            return range(d, value: .double(d), spec: spec, what: what, at: node.location, bag: &bag)
        case .bool:
            guard case .bool = value else { return wrong("true or false") }
            return value
        case .stringList:
            if let s = node.scalar, value != .null { return .list([.string(s)]) }
            guard let items = node.sequence else { return wrong("a list of strings") }
            var out: [CanonicalValue] = []
            for item in items {
                guard let s = item.scalar else { bag.error("\(what): list items must be strings", at: item.location); return nil }
                out.append(.string(s))
            }
            return .list(out)
        case .stringMap:
            guard let m = node.mapping else { return wrong("a mapping of strings") }
            var out: [String: CanonicalValue] = [:]
            for (k, v) in m {
                guard let s = v.scalar else { bag.error("\(what): values must be strings", at: v.location); return nil }
                out[k.scalar ?? ""] = .string(s)
            }
            return .map(out)
        }
    }

    static func range(_ d: Double, value: CanonicalValue, spec: ParamSpec, what: String, at loc: SourceLocation,
                      bag: inout DiagnosticBag) -> CanonicalValue? {
        if let lo = spec.min, d < lo {
            bag.error("\(what) must be >= \(CanonicalValue.double(lo)), found \(value)", at: loc, hint: spec.doc.isEmpty ? nil : spec.doc); return nil
        }
        if let hi = spec.max, d > hi {
            bag.error("\(what) must be <= \(CanonicalValue.double(hi)), found \(value)", at: loc, hint: spec.doc.isEmpty ? nil : spec.doc); return nil
        }
        // Floats written as integers are the same value, so `sxy: 3` and `sxy: 3.0` share a key.
        return value
    }
}
