import Foundation
import SegflowCore

/// Where a stage's calls run and what they ask the scheduler for: `executor: {kind: slurm, partition: gpu, ...}`
/// on a stage, or at the top of a pipeline as the default for every stage. Never part of a key: where a stage
/// runs does not change what it computes.
public struct ExecutorSettings: Sendable, Equatable {
    /// The executors there are; `local` runs calls in this process's machine.
    public static let kinds = ["local", "slurm"]
    public static let keys = ["kind", "partition", "time", "cpus", "mem", "gpus", "shardSize", "retries", "account"]

    /// nil: not said here (the pipeline's default, the command line, or `local`).
    public var kind: String?
    public var partition: String?
    /// Slurm's time limit format: `MM`, `MM:SS`, `HH:MM:SS`, `D-HH[:MM[:SS]]`.
    public var time: String?
    public var cpus: Int?
    /// Slurm's memory format: a number with an optional K, M, G or T suffix.
    public var mem: String?
    public var gpus: Int?
    /// Items per array task of a map stage.
    public var shardSize: Int?
    /// Times a failed or timed-out shard is submitted again before the node fails.
    public var retries: Int?
    public var account: String?

    public init(kind: String? = nil, partition: String? = nil, time: String? = nil, cpus: Int? = nil, mem: String? = nil,
                gpus: Int? = nil, shardSize: Int? = nil, retries: Int? = nil, account: String? = nil) {
        self.kind = kind; self.partition = partition; self.time = time; self.cpus = cpus; self.mem = mem
        self.gpus = gpus; self.shardSize = shardSize; self.retries = retries; self.account = account
    }

    /// These settings with every field not said here taken from `defaults` (a stage's over its pipeline's).
    public func merged(over defaults: ExecutorSettings) -> ExecutorSettings {
        ExecutorSettings(kind: kind ?? defaults.kind, partition: partition ?? defaults.partition, time: time ?? defaults.time,
                         cpus: cpus ?? defaults.cpus, mem: mem ?? defaults.mem, gpus: gpus ?? defaults.gpus,
                         shardSize: shardSize ?? defaults.shardSize, retries: retries ?? defaults.retries,
                         account: account ?? defaults.account)
    }

    /// Parses an `executor:` mapping, reporting every problem at its line and column.
    public static func parse(_ node: YAMLNode, owner: String, bag: inout DiagnosticBag) -> ExecutorSettings {
        var s = ExecutorSettings()
        guard let m = node.mapping else {
            // `executor: slurm` is short for `executor: {kind: slurm}`.
            if let k = node.scalar, kinds.contains(k) { s.kind = k; return s }
            bag.error("'executor' of \(owner) must be a mapping like {kind: slurm, partition: gpu}, found \(node.kindDescription)",
                      at: node.location, hint: "kinds: \(kinds.joined(separator: ", "))")
            return s
        }
        for (k, v) in m {
            let key = k.scalar ?? ""
            switch key {
            case "kind":
                if let t = v.scalar, kinds.contains(t) { s.kind = t } else {
                    bag.error("unknown executor kind \(v.scalar.map { "'\($0)'" } ?? v.kindDescription) in \(owner)", at: v.location,
                              hint: Suggest.closest(to: v.scalar ?? "", in: kinds).map { "did you mean '\($0)'?" }
                                ?? "kinds: \(kinds.joined(separator: ", "))")
                }
            case "partition", "account":
                guard let t = v.scalar, !t.isEmpty, !t.contains(where: { $0.isWhitespace }) else {
                    bag.error("executor '\(key)' of \(owner) must be a name, found \(v.kindDescription)", at: v.location); continue
                }
                if key == "partition" { s.partition = t } else { s.account = t }
            case "time":
                let t = v.scalar ?? ""
                if t.range(of: #"^([0-9]+-)?[0-9]+(:[0-9]+){0,2}$"#, options: .regularExpression) != nil { s.time = t } else {
                    bag.error("executor 'time' of \(owner) must be a Slurm time limit, found \(v.kindDescription)", at: v.location,
                              hint: "e.g. time: \"02:00:00\" (hours:minutes:seconds) or \"1-00\" (a day)")
                }
            case "mem":
                let t = v.scalar ?? ""
                if t.range(of: #"^[0-9]+[KMGT]?$"#, options: .regularExpression) != nil { s.mem = t } else {
                    bag.error("executor 'mem' of \(owner) must be an amount like \"16G\", found \(v.kindDescription)", at: v.location,
                              hint: "a number with an optional K, M, G or T suffix (Slurm's --mem)")
                }
            case "cpus", "gpus", "shardSize", "retries":
                let least = key == "gpus" || key == "retries" ? 0 : 1
                guard case .int(let n) = v.resolved, n >= least, n <= 1_000_000 else {
                    bag.error("executor '\(key)' of \(owner) must be a whole number of at least \(least), found \(v.kindDescription)", at: v.location)
                    continue
                }
                switch key {
                case "cpus": s.cpus = Int(n)
                case "gpus": s.gpus = Int(n)
                case "shardSize": s.shardSize = Int(n)
                default: s.retries = Int(n)
                }
            default:
                bag.error("unknown key '\(key)' in the executor of \(owner)", at: k.location,
                          hint: Suggest.closest(to: key, in: keys).map { "did you mean '\($0)'?" } ?? "allowed: \(keys.joined(separator: ", "))")
            }
        }
        return s
    }
}
