import Foundation

/// Where something came from in a source file: `file:line:column` (1-based).
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public init(file: String, line: Int, column: Int) {
        self.file = file; self.line = line; self.column = column
    }
    public var description: String { "\(file):\(line):\(column)" }
}

/// One problem in user input, compiler-style: location, message and a fix.
public struct Diagnostic: Hashable, Sendable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning, note }
    public var severity: Severity
    public var location: SourceLocation?
    public var message: String
    public var hint: String?

    public init(_ severity: Severity = .error, at location: SourceLocation?, _ message: String, hint: String? = nil) {
        self.severity = severity; self.location = location; self.message = message; self.hint = hint
    }

    /// `pipelines/x.yaml:12:7: error: message` plus an indented `fix:` line.
    public var description: String {
        var s = location.map { "\($0): " } ?? ""
        s += "\(severity.rawValue): \(message)"
        if let hint { s += "\n  fix: \(hint)" }
        return s
    }
}

/// Every error segflow raises. `user` problems exit 2; `internal` bugs exit 70.
public enum SegflowError: Error, CustomStringConvertible, Sendable {
    /// Bad input: a pipeline, a parameter, a file. The user can fix it.
    case diagnostics([Diagnostic])
    /// A stage failed on real input (a corrupt image, a worker crash).
    case stageFailed(node: String, item: String?, message: String)
    /// Interrupted by the user (Ctrl-C); the cache is consistent.
    case cancelled
    /// A bug in segflow itself.
    case `internal`(String)

    /// A single user error without a location.
    public static func user(_ message: String, at location: SourceLocation? = nil, hint: String? = nil) -> SegflowError {
        .diagnostics([Diagnostic(at: location, message, hint: hint)])
    }

    /// Diagnostics printed at most; the rest are counted.
    public static let shownDiagnostics = 100

    public var exitCode: Int32 {
        switch self {
        case .diagnostics: return 2
        case .stageFailed: return 1
        case .cancelled: return 130
        case .internal: return 70
        }
    }

    public var description: String {
        switch self {
        case .diagnostics(let ds):
            let errors = ds.filter { $0.severity == .error }.count
            // A compiler's error limit: past a hundred, more lines help nobody (a file with 100,000
            // copies of one key would print 10 MB).
            var text = ds.prefix(Self.shownDiagnostics).map(\.description).joined(separator: "\n")
            if ds.count > Self.shownDiagnostics { text += "\n... \(ds.count - Self.shownDiagnostics) more not shown" }
            if errors > 1 { text += "\n\(errors) errors" }
            return text
        case .stageFailed(let node, let item, let message):
            return "error: stage \(node)\(item.map { " item \($0)" } ?? "") failed: \(message)"
        case .cancelled:
            return "interrupted: finished work is cached; run again to continue"
        case .internal(let m):
            return "internal error: \(m)\nthis is a bug in segflow; please report it with the command you ran"
        }
    }
}

/// Collects diagnostics so validation reports everything at once.
public struct DiagnosticBag: Sendable {
    public private(set) var items: [Diagnostic] = []
    public init() {}
    public mutating func error(_ message: String, at location: SourceLocation?, hint: String? = nil) {
        items.append(Diagnostic(.error, at: location, message, hint: hint))
    }
    public mutating func append(_ d: Diagnostic) { items.append(d) }
    public mutating func append(contentsOf ds: [Diagnostic]) { items.append(contentsOf: ds) }
    public var hasErrors: Bool { items.contains { $0.severity == .error } }
    /// Throws every collected error, sorted by location, if there is any.
    public func throwIfErrors() throws {
        guard hasErrors else { return }
        let sorted = items.enumerated().sorted { a, b in
            let la = a.element.location, lb = b.element.location
            if let la, let lb, la.file == lb.file {
                if la.line != lb.line { return la.line < lb.line }
                if la.column != lb.column { return la.column < lb.column }
            }
            return a.offset < b.offset
        }.map(\.element)
        throw SegflowError.diagnostics(sorted)
    }
}

/// "did you mean" by edit distance.
public enum Suggest {
    public static func closest(to word: String, in candidates: [String]) -> String? {
        let w = word.lowercased()
        // Ties go to the longer common prefix: "limt" -> "limit", not "list".
        let scored = candidates.map { c -> (String, Int, Int) in
            let l = c.lowercased()
            return (c, distance(w, l), zip(w, l).prefix { $0 == $1 }.count)
        }
        guard let best = scored.min(by: { $0.1 != $1.1 ? $0.1 < $1.1 : $0.2 > $1.2 }) else { return nil }
        return best.1 <= max(2, word.count / 3) ? best.0 : nil
    }

    public static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        var cur = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            cur[0] = i
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }
}
