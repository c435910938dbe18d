import SegflowCore

/// The kinds of data that flow between stages (see docs/FORMATS.md).
public enum PortType: String, Sendable, CaseIterable, Codable {
    case images = "Images", masks = "Masks", labels = "Labels", cams = "CAMs", model = "Model",
         metrics = "Metrics", transcripts = "Transcripts", visuals = "Visuals", report = "Report"
    /// Weak labels beyond image classes: clicks and boxes (`<stem>.json`), sparse label maps (`<stem>.png`).
    case points = "Points", boxes = "Boxes", scribbles = "Scribbles"
    /// Per-class scores of a labeller (`<stem>.json`, class name -> score): labels at any threshold.
    case scores = "Scores"

    /// Item sets hold one file per image stem; the others are whole artifacts.
    public var isItemSet: Bool {
        switch self {
        case .images, .masks, .labels, .cams, .transcripts, .visuals, .points, .boxes, .scribbles, .scores: return true
        case .model, .metrics, .report: return false
        }
    }
}

/// A typed input or output of a stage type.
public struct PortSpec: Sendable, Hashable {
    public var name: String
    /// The port's type (of an input: the first it accepts).
    public var type: PortType
    /// Inputs only: further types the port accepts (`masks: Masks|Scribbles`: a trainer takes dense
    /// or sparse labels alike, since both are label PNGs with 255 where nothing is known).
    public var alternatives: [PortType]
    /// Optional inputs may be left unconnected.
    public var optional: Bool
    public init(_ name: String, _ type: PortType, or alternatives: [PortType] = [], optional: Bool = false) {
        self.name = name; self.type = type; self.alternatives = alternatives; self.optional = optional
    }

    /// Whether an output of type `t` may feed this input.
    public func accepts(_ t: PortType) -> Bool { t == type || alternatives.contains(t) }

    /// `Masks` or `Masks|Scribbles`, as a manifest writes it.
    public var typeName: String { ([type] + alternatives).map(\.rawValue).joined(separator: "|") }
}

/// The type of a stage parameter.
public enum ParamType: String, Sendable {
    case string, int, float, bool
    /// A file relative to the pipeline; its CONTENT goes into keys, not its path.
    case file
    /// A folder relative to the pipeline; not hashed (the items it yields carry their content).
    case directory
    /// A list of strings.
    case stringList
    /// A mapping of strings to strings.
    case stringMap
}

/// One parameter of a stage type: type, default and allowed values.
public struct ParamSpec: Sendable {
    public var name: String
    public var type: ParamType
    /// nil means required.
    public var defaultValue: CanonicalValue?
    public var min: Double?
    public var max: Double?
    public var choices: [String]?
    public var doc: String
    /// False for params that change how work is done, not what it produces (timeouts, retries,
    /// concurrency): they stay out of keys, so changing them reruns nothing.
    public var affectsOutput: Bool

    public init(_ name: String, _ type: ParamType, default defaultValue: CanonicalValue? = nil,
                min: Double? = nil, max: Double? = nil, choices: [String]? = nil, doc: String = "",
                affectsOutput: Bool = true) {
        self.name = name; self.type = type; self.defaultValue = defaultValue
        self.min = min; self.max = max; self.choices = choices; self.doc = doc; self.affectsOutput = affectsOutput
    }
}

/// How a stage consumes its item sets.
public enum Granularity: String, Sendable {
    /// Per item: only missing items are computed, each with its own key.
    case map
    /// Whole set: one key from the Merkle roots of the inputs.
    case reduce
    /// Reads the filesystem (dataset import); items are keyed by their content.
    case source
}

/// Everything the engine knows of a stage type before running it.
public struct StageDescriptor: Sendable {
    public var name: String
    public var version: Int
    /// Swift stages: nil (their version is the fingerprint); plugin stages: digest of sources + requirements.
    public var implementationFingerprint: Digest?
    public var inputs: [PortSpec]
    public var outputs: [PortSpec]
    public var params: [ParamSpec]
    public var granularity: Granularity
    /// Resource slots a call takes (`cpu`, `gpu`).
    public var resources: [String: Int]
    public var summary: String
    /// The plugin that provides it, or nil for built-in stages.
    public var plugin: String?
    /// Seconds before a call is killed (plugin workers).
    public var timeout: Double?

    public init(name: String, version: Int, implementationFingerprint: Digest? = nil, inputs: [PortSpec], outputs: [PortSpec],
                params: [ParamSpec], granularity: Granularity, resources: [String: Int] = ["cpu": 1],
                summary: String, plugin: String? = nil, timeout: Double? = nil) {
        self.name = name; self.version = version; self.implementationFingerprint = implementationFingerprint
        self.inputs = inputs; self.outputs = outputs; self.params = params; self.granularity = granularity
        self.resources = resources; self.summary = summary; self.plugin = plugin; self.timeout = timeout
    }

    public func input(_ name: String) -> PortSpec? { inputs.first { $0.name == name } }
    public func output(_ name: String) -> PortSpec? { outputs.first { $0.name == name } }
    public func param(_ name: String) -> ParamSpec? { params.first { $0.name == name } }
}

/// Every stage type the engine can run, built-in and from plugins.
public struct StageRegistry: Sendable {
    public private(set) var descriptors: [String: StageDescriptor] = [:]
    /// The fix for a type not found, when no known name is close (the catalog sets one that says where
    /// plugins were searched); called only on that error.
    public var unknownTypeHint: (@Sendable (String) -> String)?
    public init() {}
    public mutating func register(_ d: StageDescriptor) { descriptors[d.name] = d }
    public subscript(name: String) -> StageDescriptor? { descriptors[name] }
    public var names: [String] { descriptors.keys.sorted() }

    /// "did you mean" a close name, else `unknownTypeHint`, else a pointer to `segflow stages`.
    public func hint(forUnknownType type: String) -> String {
        Suggest.closest(to: type, in: names).map { "did you mean '\($0)'?" }
            ?? unknownTypeHint?(type) ?? "`segflow stages` lists the types"
    }
}
