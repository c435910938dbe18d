import CYAML
import Foundation
import SegflowCore

/// Parses YAML text with the system libyaml into `YAMLNode`s that keep file:line:column.
public enum YAMLParser {
    /// Parses one document; throws every problem (syntax, duplicate keys) as diagnostics.
    public static func parse(_ text: String, file: String) throws -> YAMLNode {
        let (node, diagnostics) = try parseCollecting(text, file: file)
        var bag = DiagnosticBag(); bag.append(contentsOf: diagnostics)
        try bag.throwIfErrors()
        return node!
    }

    /// Parses one document. A syntax error gives no node; duplicate keys come back as diagnostics beside the node,
    /// so a pipeline can report them together with everything else.
    public static func parseCollecting(_ text: String, file: String) throws -> (YAMLNode?, [Diagnostic]) {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw SegflowError.internal("libyaml could not initialise") }
        defer { yaml_parser_delete(&parser) }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { buf -> (YAMLNode?, [Diagnostic]) in
            yaml_parser_set_input_string(&parser, buf.baseAddress, buf.count)
            var builder = Builder(file: file)
            let complete = builder.run(&parser)
            let root = builder.root ?? YAMLNode(.mapping([]), at: SourceLocation(file: file, line: 1, column: 1))
            return (complete ? root : nil, builder.diagnostics.items)
        }
    }

    /// Reads and parses a file; the location names the path as given.
    public static func parse(file path: String) throws -> YAMLNode {
        let text = try read(path)
        return try parse(text, file: path)
    }

    /// Reads a file as UTF-8 text, with a user error naming it.
    public static func read(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SegflowError.user("cannot read \(path)", hint: "check the path; it is taken relative to the current folder")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw SegflowError.user("\(path) is not UTF-8 text", hint: "save the file as UTF-8")
        }
        return text
    }
}

/// Turns libyaml's event stream into a node tree.
private struct Builder {
    let file: String
    var root: YAMLNode?
    var anchors: [String: YAMLNode] = [:]
    var diagnostics = DiagnosticBag()

    private enum Frame {
        case sequence([YAMLNode], SourceLocation, anchor: String?)
        case mapping([(key: YAMLNode, value: YAMLNode)], pendingKey: YAMLNode?, SourceLocation, anchor: String?)
    }
    private var stack: [Frame] = []

    init(file: String) { self.file = file }

    func location(_ mark: yaml_mark_t) -> SourceLocation {
        SourceLocation(file: file, line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }

    /// Builds the tree; false when a syntax error stopped it.
    mutating func run(_ parser: inout yaml_parser_t) -> Bool {
        var event = yaml_event_t()
        var documents = 0
        while true {
            guard yaml_parser_parse(&parser, &event) == 1 else {
                let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
                let context = parser.context.map { String(cString: $0) + ", " } ?? ""
                diagnostics.error("YAML syntax: \(context)\(problem)", at: location(parser.problem_mark),
                                  hint: "check indentation, colons and quotes around this place")
                return false
            }
            defer { yaml_event_delete(&event) }
            let loc = location(event.start_mark)
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return true
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                if documents > 1 {
                    diagnostics.error("more than one YAML document in the file", at: loc,
                                      hint: "a pipeline is one document; remove the second '---'")
                }
            case YAML_SCALAR_EVENT:
                let s = event.data.scalar
                let text = String(decoding: UnsafeBufferPointer(start: s.value, count: s.length), as: UTF8.self)
                let plain = s.style == YAML_PLAIN_SCALAR_STYLE
                let node = YAMLNode(.scalar(text, plain: plain), at: loc)
                if let a = s.anchor { anchors[String(cString: a)] = node }
                add(node)
            case YAML_ALIAS_EVENT:
                let name = String(cString: event.data.alias.anchor)
                if let node = anchors[name] {
                    var copy = node; copy.location = loc; add(copy)
                } else {
                    diagnostics.error("unknown alias *\(name)", at: loc, hint: "define &\(name) before using it")
                    add(YAMLNode(.scalar("", plain: true), at: loc))
                }
            case YAML_SEQUENCE_START_EVENT:
                let anchor = event.data.sequence_start.anchor.map { String(cString: $0) }
                stack.append(.sequence([], loc, anchor: anchor))
            case YAML_SEQUENCE_END_EVENT:
                guard case .sequence(let items, let start, let anchor)? = stack.popLast() else { break }
                let node = YAMLNode(.sequence(items), at: start)
                if let anchor { anchors[anchor] = node }
                add(node)
            case YAML_MAPPING_START_EVENT:
                let anchor = event.data.mapping_start.anchor.map { String(cString: $0) }
                stack.append(.mapping([], pendingKey: nil, loc, anchor: anchor))
            case YAML_MAPPING_END_EVENT:
                guard case .mapping(let pairs, _, let start, let anchor)? = stack.popLast() else { break }
                let node = YAMLNode(.mapping(pairs), at: start)
                if let anchor { anchors[anchor] = node }
                add(node)
            default:
                break
            }
        }
    }

    private mutating func add(_ node: YAMLNode) {
        guard let top = stack.popLast() else { root = node; return }
        switch top {
        case .sequence(var items, let loc, let anchor):
            items.append(node)
            stack.append(.sequence(items, loc, anchor: anchor))
        case .mapping(var pairs, let pending, let loc, let anchor):
            if let key = pending {
                pairs.append((key: key, value: node))
                stack.append(.mapping(pairs, pendingKey: nil, loc, anchor: anchor))
            } else {
                if node.scalar == nil {
                    diagnostics.error("a mapping key must be a plain name, not \(node.kindDescription)", at: node.location)
                } else if let first = pairs.first(where: { $0.key.scalar == node.scalar }) {
                    diagnostics.error("duplicate key '\(node.scalar!)' (first defined at line \(first.key.location.line))",
                                      at: node.location, hint: "keep one of the two; names must be unique")
                }
                stack.append(.mapping(pairs, pendingKey: node, loc, anchor: anchor))
            }
        }
    }
}
