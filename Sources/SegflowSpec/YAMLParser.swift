import CYAML
import Foundation
import SegflowCore

/// Parses YAML text with the system libyaml into `YAMLNode`s that keep file:line:column.
public enum YAMLParser {
    /// The deepest nesting of lists and mappings accepted (aliases included): every walk of the tree
    /// recurses, and a pipeline needs a handful of levels.
    public static let maxDepth = 512

    /// The largest YAML file (or text) accepted: 16 MiB. A pipeline, a classes.yaml or a plugin manifest is
    /// a few KB; the bound keeps a stray 100 MB file (or scalar) from costing several times its size in
    /// copies (file bytes, text, libyaml's token buffers, the node tree) before anything is checked.
    public static let maxBytes = 16 << 20

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
        if text.utf8.count > maxBytes { throw tooLarge(file, bytes: text.utf8.count) }
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw SegflowError.internal("libyaml could not initialise") }
        defer { yaml_parser_delete(&parser) }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { buf -> (YAMLNode?, [Diagnostic]) in
            yaml_parser_set_input_string(&parser, buf.baseAddress, buf.count)
            var builder = Builder(file: file, text: buf)
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

    /// Reads a file as UTF-8 text, with a user error naming it: too large a file is refused before it is
    /// read, and invalid UTF-8 is reported at its line and column.
    public static func read(_ path: String) throws -> String {
        var st = stat()
        if stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, Int(st.st_size) > maxBytes {
            throw tooLarge(path, bytes: Int(st.st_size))
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SegflowError.user("cannot read \(path)", hint: "check the path; it is taken relative to the current folder")
        }
        if data.count > maxBytes { throw tooLarge(path, bytes: data.count) }
        guard let text = String(data: data, encoding: .utf8) else {
            let bad = UTF8Check.firstInvalid(data)
            throw SegflowError.user("invalid UTF-8: byte 0x\(String(format: "%02x", bad.byte)) (byte offset \(bad.offset)) does not start a valid UTF-8 character",
                                    at: SourceLocation(file: path, line: bad.line, column: bad.column),
                                    hint: "save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8); YAML files are UTF-8 text")
        }
        return text
    }

    static func tooLarge(_ file: String, bytes: Int) -> SegflowError {
        .user("the file is \(bytes) bytes, above the limit of \(maxBytes) bytes (16 MiB) for YAML files",
              at: SourceLocation(file: file, line: 1, column: 1),
              hint: "a pipeline or classes file is a few KB: keep data (item lists, labels) in files the pipeline names, not in the YAML")
    }
}

/// Turns libyaml's event stream into a node tree.
private struct Builder {
    let file: String
    /// The UTF-8 bytes parsed, to name what stands at an error's place.
    let text: UnsafeBufferPointer<UInt8>
    var root: YAMLNode?
    /// Anchored values with their measure: an alias adds its anchor's whole size and height.
    var anchors: [String: (node: YAMLNode, measure: Measure)] = [:]
    var diagnostics = DiagnosticBag()
    var budget = AliasBudget()

    /// A value's node count, counting each alias's copy in full (what every later walk visits), and
    /// its levels of nesting.
    struct Measure { var size = 1, height = 1 }

    private struct Frame {
        let isMapping: Bool
        let start: SourceLocation
        let anchor: String?
        var items: [YAMLNode] = []
        var pairs: [(key: YAMLNode, value: YAMLNode)] = []
        var pendingKey: YAMLNode?
        /// The pending key repeats an earlier one: its value is reported, not kept (the first one stands,
        /// so 100,000 copies of a stage are one stage to check, not 100,000).
        var pendingIsDuplicate = false
        /// Where each key of a large mapping was first defined, built once it has `Frame.scanLimit` keys:
        /// a small mapping (most of a pipeline) is checked by a scan of its pairs, without allocating.
        var keys: [String: SourceLocation]?
        var measure = Measure()

        static let scanLimit = 16

        /// Where `name` was first defined in this mapping, if it was.
        mutating func firstDefinition(of name: String) -> SourceLocation? {
            if let keys { return keys[name] }
            if pairs.count < Self.scanLimit {
                return pairs.first { $0.key.scalar == name }?.key.location
            }
            var index: [String: SourceLocation] = [:]
            index.reserveCapacity(pairs.count * 2)
            for p in pairs { if let k = p.key.scalar { index[k] = p.key.location } }
            keys = index
            return index[name]
        }
    }
    private var stack: [Frame] = []

    init(file: String, text: UnsafeBufferPointer<UInt8>) { self.file = file; self.text = text }

    /// Whether the line of `mark` has a tab in its indentation or at the mark itself: libyaml then says
    /// only that a character "cannot start any token", where the fix is to indent with spaces.
    func tabNear(_ mark: yaml_mark_t) -> Bool {
        var i = 0, line = 0
        while line < Int(mark.line) && i < text.count { if text[i] == 0x0A { line += 1 }; i += 1 }
        var column = 0
        while i < text.count && text[i] != 0x0A {
            if text[i] == 0x09 { return true }
            if column >= Int(mark.column) || text[i] != 0x20 { return false }
            i += 1; column += 1
        }
        return false
    }

    func location(_ mark: yaml_mark_t) -> SourceLocation {
        SourceLocation(file: file, line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }

    /// Builds the tree; false when a syntax error, an alias bomb or too deep a nesting stopped it.
    mutating func run(_ parser: inout yaml_parser_t) -> Bool {
        var event = yaml_event_t()
        var documents = 0
        while true {
            guard yaml_parser_parse(&parser, &event) == 1 else {
                let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
                let context = parser.context.map { String(cString: $0) + ", " } ?? ""
                let tab = tabNear(parser.problem_mark)
                diagnostics.error("YAML syntax: \(context)\(problem)" + (tab ? " (a tab)" : ""), at: location(parser.problem_mark),
                                  hint: tab ? "YAML does not allow tabs for indentation: indent with spaces"
                                            : "check indentation, colons and quotes around this place")
                return false
            }
            defer { yaml_event_delete(&event) }
            let loc = location(event.start_mark)
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return true
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                anchors = [:]; budget = AliasBudget()
                if documents > 1 {
                    diagnostics.error("more than one YAML document in the file", at: loc,
                                      hint: "a pipeline is one document; remove the second '---'")
                }
            case YAML_SCALAR_EVENT:
                let s = event.data.scalar
                let text = String(decoding: UnsafeBufferPointer(start: s.value, count: s.length), as: UTF8.self)
                let plain = s.style == YAML_PLAIN_SCALAR_STYLE
                let node = YAMLNode(.scalar(text, plain: plain), at: loc)
                if let a = s.anchor { anchors[String(cString: a)] = (node, Measure()) }
                budget.nodes += 1
                add(node, Measure())
            case YAML_ALIAS_EVENT:
                let name = String(cString: event.data.alias.anchor)
                guard let (node, measure) = anchors[name] else {
                    diagnostics.error("unknown alias *\(name)", at: loc, hint: "define &\(name) before using it")
                    add(YAMLNode(.scalar("", plain: true), at: loc), Measure())
                    break
                }
                guard checkDepth(stack.count + measure.height, at: loc, through: name) else { return false }
                budget.nodes += measure.size; budget.aliased += measure.size
                if budget.isExcessive {
                    let share = (Double(budget.aliased) / Double(budget.nodes) * 1000).rounded() / 10
                    diagnostics.error("YAML aliases expand too much: *\(name) brings the document to \(budget.nodes) nodes, "
                                      + "\(budget.aliased) (\(share) %) of them copies made by aliases", at: loc,
                                      hint: "each alias copies its anchor's whole value; alias nested values fewer times or "
                                      + "write them out (aliases may make at most 99 % of a document, and about 400,000 nodes)")
                    return false
                }
                var copy = node; copy.location = loc; add(copy, measure)
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                guard checkDepth(stack.count + 1, at: loc) else { return false }
                let isMapping = event.type == YAML_MAPPING_START_EVENT
                let anchor = (isMapping ? event.data.mapping_start.anchor : event.data.sequence_start.anchor)
                    .map { String(cString: $0) }
                budget.nodes += 1
                stack.append(Frame(isMapping: isMapping, start: loc, anchor: anchor))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let frame = stack.popLast() else { break }
                let node = YAMLNode(frame.isMapping ? .mapping(frame.pairs) : .sequence(frame.items), at: frame.start)
                if let anchor = frame.anchor { anchors[anchor] = (node, frame.measure) }
                add(node, frame.measure)
            default:
                break
            }
        }
    }

    /// Refuses a value that would sit `depth` levels deep (the tree's walks recurse once per level).
    private mutating func checkDepth(_ depth: Int, at loc: SourceLocation, through alias: String? = nil) -> Bool {
        guard depth > YAMLParser.maxDepth else { return true }
        diagnostics.error("YAML nested deeper than \(YAMLParser.maxDepth) levels"
                          + (alias.map { " (the alias *\($0) copies a value \(depth - stack.count) levels deep here)" } ?? ""),
                          at: loc, hint: "a pipeline needs a few levels of lists and mappings; flatten the nesting here")
        return false
    }

    private mutating func add(_ node: YAMLNode, _ measure: Measure) {
        guard !stack.isEmpty else { root = node; return }
        let top = stack.count - 1
        stack[top].measure.size += measure.size
        stack[top].measure.height = max(stack[top].measure.height, measure.height + 1)
        guard stack[top].isMapping else { stack[top].items.append(node); return }
        if let key = stack[top].pendingKey {
            if !stack[top].pendingIsDuplicate { stack[top].pairs.append((key: key, value: node)) }
            stack[top].pendingKey = nil
            stack[top].pendingIsDuplicate = false
            return
        }
        if let name = node.scalar {
            if let first = stack[top].firstDefinition(of: name) {
                diagnostics.error("duplicate key '\(name)' (first defined at line \(first.line))",
                                  at: node.location, hint: "keep one of the two; names must be unique")
                stack[top].pendingIsDuplicate = true
            } else {
                stack[top].keys?[name] = node.location
            }
        } else {
            diagnostics.error("a mapping key must be a plain name, not \(node.kindDescription)", at: node.location)
        }
        stack[top].pendingKey = node
    }
}

/// Go yaml.v3's rule against "billion laughs": once a document has over 1,000 nodes and over 100 of
/// them come from aliases, their share may be at most 99 % up to 400,000 nodes, falling to 10 % at
/// 4,000,000. So aliases add at most about 400,000 nodes, while a large file that aliases a little
/// stays fine. Counting happens as the tree is built, so a bomb stops at the alias that sets it off.
struct AliasBudget {
    /// Nodes of the document, every alias's copy counted in full.
    var nodes = 0
    /// The part of `nodes` that aliases added.
    var aliased = 0

    static let low = 400_000, high = 4_000_000

    var isExcessive: Bool {
        aliased > 100 && nodes > 1000 && Double(aliased) / Double(nodes) > Self.allowedRatio(nodes)
    }

    static func allowedRatio(_ nodes: Int) -> Double {
        if nodes <= low { return 0.99 }
        if nodes >= high { return 0.10 }
        return 0.99 - 0.89 * Double(nodes - low) / Double(high - low)
    }
}
