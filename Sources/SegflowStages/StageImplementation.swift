import Foundation
import SegflowCore
import SegflowGraph
import SegflowSpec

/// One call of a stage: what to compute and where to write it.
public struct StageCall: Sendable {
    public var node: String
    public var descriptor: StageDescriptor
    /// Complete params (defaults filled; file and directory params absolute).
    public var params: [String: CanonicalValue]
    public var classes: ClassList
    /// Map stages: only the items to compute. Reduce stages: every item.
    public var items: [String]
    /// port -> file name (`<stem>.<ext>` or a named file) -> absolute path of a read-only object.
    public var inputs: [String: [String: String]]
    /// Write outputs as `<outputDirectory>/<port>/<file>`.
    public var outputDirectory: String
    public var threads: Int
    /// Where the node's log goes (plugin stderr, notes).
    public var logPath: String
    public var progress: @Sendable (_ done: Int, _ total: Int, _ message: String?) -> Void
    public var isCancelled: @Sendable () -> Bool

    public init(node: String, descriptor: StageDescriptor, params: [String: CanonicalValue], classes: ClassList,
                items: [String], inputs: [String: [String: String]], outputDirectory: String, threads: Int,
                logPath: String, progress: @escaping @Sendable (Int, Int, String?) -> Void = { _, _, _ in },
                isCancelled: @escaping @Sendable () -> Bool = { false }) {
        self.node = node; self.descriptor = descriptor; self.params = params; self.classes = classes
        self.items = items; self.inputs = inputs; self.outputDirectory = outputDirectory; self.threads = threads
        self.logPath = logPath; self.progress = progress; self.isCancelled = isCancelled
    }

    /// The path of one item's input file on a port, by stem.
    public func inputPath(port: String, stem: String) -> String? {
        guard let files = inputs[port] else { return nil }
        for (name, path) in files where FileTree.stem(of: name) == stem { return path }
        return nil
    }

    /// stem -> path for an item-set input.
    public func itemPaths(port: String) -> [String: String] {
        var out: [String: String] = [:]
        for (name, path) in inputs[port] ?? [:] { out[FileTree.stem(of: name)] = path }
        return out
    }

    /// Creates `<outputDirectory>/<port>/` and returns the path of a file in it.
    public func outputPath(port: String, file: String) throws -> String {
        let dir = outputDirectory + "/" + port
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir + "/" + file
    }

    public func string(_ name: String) -> String { params[name]?.stringValue ?? "" }
    public func double(_ name: String) -> Double { params[name]?.doubleValue ?? 0 }
    public func int(_ name: String) -> Int { params[name]?.intValue ?? 0 }
    public func bool(_ name: String) -> Bool { params[name]?.boolValue ?? false }
}

/// What a call reports besides its files.
public struct StageOutcome: Sendable {
    /// Numbers shown in `log` and `compare` (metrics of evaluate, losses of training).
    public var metrics: [String: CanonicalValue]
    /// Items that failed while the rest went on (e.g. an unparseable VLM answer): stem -> message.
    public var itemFailures: [String: String]
    public init(metrics: [String: CanonicalValue] = [:], itemFailures: [String: String] = [:]) {
        self.metrics = metrics; self.itemFailures = itemFailures
    }
}

/// A stage that computes outputs from inputs.
public protocol StageImplementation: Sendable {
    var descriptor: StageDescriptor { get }
    func run(_ call: StageCall) async throws -> StageOutcome
}

/// A file a source stage imports: the port it feeds and its item file name.
public struct SourceFile: Sendable {
    public var port: String
    /// The file's name in the item set (`<stem>.<ext>`).
    public var name: String
    /// The folder on disk, with its trailing slash.
    public var folder: String
    /// The file's name on disk inside `folder` (usually `name`).
    public var fileName: String
    /// Where the file comes from: its path on disk, or for content made by the source, where that
    /// content was read (e.g. `labels.csv:3`), for messages and lineage.
    public var path: String { folder + fileName }
    /// Content the source made itself (e.g. one line of a CSV as a JSON file): stored by digest,
    /// never written to a folder; nil for files on disk.
    public var content: Data?

    public init(port: String, name: String, path: String) {
        self.port = port; self.name = name
        if let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) {
            folder = String(path[...slash]); fileName = String(path[path.utf8.index(after: slash)...])
        } else {
            folder = "./"; fileName = path
        }
    }

    /// A file whose content the source made (no file on disk); `origin` names where it was read.
    public init(port: String, name: String, content: Data, origin: String) {
        self.port = port; self.name = name; self.folder = ""; self.fileName = origin; self.content = content
    }

    /// A file named `name` inside `folder` (given with its trailing slash): no path string is built,
    /// which a 100k-file dataset notices on every plan.
    public init(port: String, name: String, folder: String) {
        // A byte check: `hasSuffix` compares by Unicode rules, which costs more than the rest of this per file.
        precondition(folder.utf8.last == UInt8(ascii: "/"), "folder must end with a slash")
        self.port = port; self.name = name; self.folder = folder; self.fileName = name
    }
}

/// A stage that reads the filesystem (dataset import); its items are keyed by content.
public protocol SourceStage: Sendable {
    var descriptor: StageDescriptor { get }
    /// Lists the files to import, cheaply (no reading of contents).
    func enumerate(params: [String: CanonicalValue]) throws -> [SourceFile]
    /// As `enumerate(params:)`, for sources whose items depend on the pipeline's classes (annotation
    /// imports map class names to ids); the engine calls this one.
    func enumerate(params: [String: CanonicalValue], classes: ClassList) throws -> [SourceFile]
}

extension SourceStage {
    public func enumerate(params: [String: CanonicalValue], classes: ClassList) throws -> [SourceFile] {
        try enumerate(params: params)
    }
}

/// Built-in and plugin stages by type name.
public struct StageCatalog: Sendable {
    public var registry = StageRegistry()
    public private(set) var implementations: [String: any StageImplementation] = [:]
    public private(set) var sources: [String: any SourceStage] = [:]
    public init() {}

    public mutating func add(_ s: any StageImplementation) {
        registry.register(s.descriptor); implementations[s.descriptor.name] = s
    }
    public mutating func add(source s: any SourceStage) {
        registry.register(s.descriptor); sources[s.descriptor.name] = s
    }
}
