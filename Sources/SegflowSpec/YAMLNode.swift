import SegflowCore

/// A YAML node with the place it was written, so every error can point at it.
public struct YAMLNode: Sendable {
    public enum Kind: Sendable {
        /// A scalar and whether it was plain (unquoted): only plain scalars resolve to numbers, booleans, null.
        case scalar(String, plain: Bool)
        case sequence([YAMLNode])
        /// A mapping in document order; keys are scalars (checked by the parser).
        case mapping([(key: YAMLNode, value: YAMLNode)])
    }

    public var kind: Kind
    public var location: SourceLocation

    public init(_ kind: Kind, at location: SourceLocation) {
        self.kind = kind; self.location = location
    }

    /// The scalar text, if this is a scalar.
    public var scalar: String? { if case .scalar(let s, _) = kind { return s }; return nil }
    public var sequence: [YAMLNode]? { if case .sequence(let s) = kind { return s }; return nil }
    public var mapping: [(key: YAMLNode, value: YAMLNode)]? { if case .mapping(let m) = kind { return m }; return nil }

    /// The value under a key of a mapping.
    public subscript(key: String) -> YAMLNode? {
        mapping?.first(where: { $0.key.scalar == key })?.value
    }

    /// A word for error messages: "a mapping", "a list", "the string \"x\"".
    public var kindDescription: String {
        switch kind {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let s, let plain):
            switch resolved {
            case .null: return "null"
            case .bool: return "a boolean"
            case .int: return "an integer (\(s))"
            case .double: return "a number (\(s))"
            default: return plain ? "the text \"\(s)\"" : "the string \"\(s)\""
            }
        }
    }

    /// The YAML 1.2 core-schema value of this node, recursively.
    public var resolved: CanonicalValue {
        switch kind {
        case .scalar(let s, let plain):
            return plain ? YAMLNode.resolvePlain(s) : .string(s)
        case .sequence(let items):
            return .list(items.map(\.resolved))
        case .mapping(let pairs):
            var m: [String: CanonicalValue] = [:]
            for p in pairs { m[p.key.scalar ?? ""] = p.value.resolved }
            return .map(m)
        }
    }

    static func resolvePlain(_ s: String) -> CanonicalValue {
        switch s {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        case ".inf", "+.inf", ".Inf": return .double(.infinity)
        case "-.inf", "-.Inf": return .double(-.infinity)
        case ".nan", ".NaN": return .double(.nan)
        default: break
        }
        if let i = Int64(s) { return .int(i) }
        if s.hasPrefix("0x"), let i = Int64(s.dropFirst(2), radix: 16) { return .int(i) }
        if s.hasPrefix("0o"), let i = Int64(s.dropFirst(2), radix: 8) { return .int(i) }
        if let first = s.first, first.isNumber || first == "-" || first == "+" || first == ".",
           let d = Double(s) { return .double(d) }
        return .string(s)
    }
}
