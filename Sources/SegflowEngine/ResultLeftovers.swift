import Foundation
import SegflowStore

/// The temporary folders a run makes in `results/` while it writes links, and the sweep of those a
/// dead run left (SIGKILL, power loss): links to old outputs beside the current ones, which a person
/// browsing results/ or a script globbing it would take for results, and which dangle after gc.
///
/// Names: `.<name>+new-XXXXXXXX` (being built) and `.<name>+old-XXXXXXXX` (swapped out, being deleted),
/// where name is the pipeline (in results/) or the stage (in a pipeline's folder or a variant's).
/// Hidden, and `+` occurs in no pipeline or stage name. Older segflow versions left `.<pipeline>-XXXXXXXX`,
/// `<pipeline>.old-XXXXXXXX`, `<stage>.new-XXXXXXXX` and `<stage>.old-XXXXXXXX`: swept as well.
enum Leftovers {
    enum Role: String { case staging = "new", old }

    /// A fresh temporary folder name for `name` (a pipeline or a stage).
    static func name(_ name: String, _ role: Role) -> String {
        ".\(name)+\(role.rawValue)-\(UUID().uuidString.prefix(8))"
    }

    /// Removes what dead runs left: the pipeline whose lock the caller holds, and every other pipeline
    /// whose lock is free (a held lock means a live run is writing there: its folders are left alone).
    static func sweep(workspace: Workspace, holding held: String) {
        let results = workspace.resultsDirectory
        let fm = FileManager.default
        guard let entries = try? fm.contentsOfDirectory(atPath: results) else { return }
        // Pipeline -> its top-level leftovers; every pipeline folder is looked into as well.
        var pipelines: [String: [String]] = [:]
        for e in entries {
            if let owner = pipeline(ofLeftover: e) { pipelines[owner, default: []].append(e) }
            else if !e.hasPrefix("."), pipelines[e] == nil { pipelines[e] = [] }
        }
        for (pipeline, leftovers) in pipelines {
            var lock: FileLock?
            if pipeline != held {
                guard let l = try? FileLock.tryAcquire(ResultLinks.lockPath(workspace: workspace, pipeline: pipeline)) else { continue }
                lock = l
            }
            for e in leftovers { try? fm.removeItem(atPath: results + "/" + e) }
            sweepInside(results + "/" + pipeline, depth: 2)
            lock?.release()
        }
    }

    /// Stage leftovers in a pipeline's folder and its variants' folders (`variant/stage`).
    private static func sweepInside(_ dir: String, depth: Int) {
        let fm = FileManager.default
        guard depth > 0, let entries = try? fm.contentsOfDirectory(atPath: dir) else { return }
        for e in entries {
            if isStageLeftover(e) { try? fm.removeItem(atPath: dir + "/" + e) }
            else if e.contains("="), depth > 1 { sweepInside(dir + "/" + e, depth: depth - 1) }
        }
    }

    /// The pipeline a top-level leftover belongs to, or nil if `entry` is not one.
    static func pipeline(ofLeftover entry: String) -> String? {
        if let (name, marker) = split(entry) {
            if name.hasPrefix("."), marker == "+new-" || marker == "+old-" { return String(name.dropFirst()) }
            if !name.hasPrefix("."), marker == ".old-" { return String(name) }
        }
        // Older versions staged in `.<pipeline>-XXXXXXXX`.
        guard entry.hasPrefix("."), entry.count > 10, entry.suffix(8).allSatisfy(isUpperHex),
              entry.dropLast(8).hasSuffix("-") else { return nil }
        return String(entry.dropFirst().dropLast(9))
    }

    /// Whether an entry of a pipeline (or variant) folder is a stage's temporary folder.
    static func isStageLeftover(_ entry: String) -> Bool {
        guard let (name, marker) = split(entry) else { return false }
        let stage: Substring
        if name.hasPrefix(".") {
            guard marker == "+new-" || marker == "+old-" else { return false }
            stage = name.dropFirst()
        } else {
            guard marker == ".new-" || marker == ".old-" else { return false }
            stage = name
        }
        return !stage.isEmpty && stage.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }
    }

    /// A leftover's name and marker (`+new-`, `.old-`, ...) before its 8 upper-case hex digits.
    private static func split(_ entry: String) -> (name: Substring, marker: Substring)? {
        guard entry.count > 13, entry.suffix(8).allSatisfy(isUpperHex) else { return nil }
        return (entry.dropLast(13), entry.dropLast(8).suffix(5))
    }

    private static func isUpperHex(_ c: Character) -> Bool { c.isHexDigit && !c.isLowercase }
}
