import Foundation
import SegflowCore

/// Slurm's client commands (sbatch, squeue, sacct, scancel, sinfo), run as processes: segflow talks to the
/// cluster the way its users do, so it needs nothing on the cluster but Slurm and a shared filesystem.
struct SlurmClient: Sendable {
    /// The folder holding `sbatch` and its siblings.
    let binDirectory: String

    /// Finds the commands on PATH, or explains what is missing.
    init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let path = environment["PATH"] ?? "/usr/bin:/bin"
        guard let dir = path.split(separator: ":").map(String.init).first(where: { FileManager.default.isExecutableFile(atPath: $0 + "/sbatch") }) else {
            throw SegflowError.user("the slurm executor needs Slurm's sbatch, and it is not on PATH (\(path))",
                                    hint: "run segflow on a login node of the cluster (or install slurm-client), or run with --executor local")
        }
        binDirectory = dir
    }

    struct Output { var status: Int32; var stdout: String; var stderr: String }

    /// Runs one command; a command that cannot start is a user error (a broken Slurm install).
    func run(_ tool: String, _ args: [String]) throws -> Output {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binDirectory + "/" + tool)
        p.arguments = args
        p.standardInput = FileHandle.nullDevice
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        do { try p.run() } catch {
            throw SegflowError.user("cannot run \(tool): \(error.localizedDescription)", hint: "check the Slurm client install in \(binDirectory)")
        }
        // Read both pipes before waiting: a full pipe would block the child forever.
        let errData = SendableBox<Data>()
        let reader = Thread { errData.value = err.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        while errData.value == nil { usleep(1000) }
        return Output(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                      stderr: String(decoding: errData.value ?? Data(), as: UTF8.self))
    }

    /// Submits a batch script; returns the job id.
    func submit(script: String) throws -> String {
        let r = try run("sbatch", ["--parsable", script])
        let id = r.stdout.split(separator: "\n").last.map { String($0.split(separator: ";")[0]).trimmingCharacters(in: .whitespaces) } ?? ""
        guard r.status == 0, !id.isEmpty, id.allSatisfy(\.isNumber) else {
            let said = r.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            throw SegflowError.user("sbatch refused \(script): \(said.isEmpty ? "status \(r.status)" : said)",
                                    hint: Self.hint(for: said))
        }
        return id
    }

    /// What Slurm's refusals usually mean for a segflow user.
    static func hint(for message: String) -> String {
        if message.contains("partition") { return "set executor: {partition: NAME} to one `sinfo -s` lists" }
        if message.contains("generic resource") || message.contains("gres") {
            return "the partition has no GPUs of that kind: pick a GPU partition, or set executor: {gpus: 0} to run the stage on CPUs"
        }
        if message.contains("node configuration") {
            return "the stage asks for more cpus, mem or gpus than any node of the partition has; lower executor cpus/mem/gpus"
        }
        if message.contains("time limit") { return "lower executor time to the partition's limit (`sinfo -o '%P %l'`)" }
        return "see `man sbatch`; the batch script is kept at the path above"
    }

    /// States of the user's jobs by task id (`123_4`, or `123` for a job without an array), finished ones
    /// included while the controller still holds them.
    func queue() throws -> [String: (state: String, name: String)] {
        let r = try run("squeue", ["-h", "-r", "--me", "--states=all", "-o", "%i|%T|%j"])
        guard r.status == 0 else {
            throw SegflowError.user("squeue failed: \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))",
                                    hint: "check the Slurm controller is reachable (`sinfo`)")
        }
        var states: [String: (state: String, name: String)] = [:]
        for line in r.stdout.split(separator: "\n") {
            let parts = line.split(separator: "|", maxSplits: 2)
            if parts.count == 3 { states[String(parts[0])] = (String(parts[1]), String(parts[2])) }
        }
        return states
    }

    /// Final states of tasks the controller has forgotten: from accounting (sacct) where it is on,
    /// else from the job completion file (`JobCompType=jobcomp/filetxt`).
    func finalStates(jobs: Set<String>) -> [String: String] {
        var states: [String: String] = [:]
        if let r = try? run("sacct", ["-n", "-P", "-X", "-j", jobs.sorted().joined(separator: ","), "-o", "JobID,State"]), r.status == 0 {
            for line in r.stdout.split(separator: "\n") {
                let parts = line.split(separator: "|")
                if parts.count >= 2 { states[String(parts[0])] = String(parts[1].split(separator: " ")[0]) }
            }
            if !states.isEmpty { return states }
        }
        for line in jobCompletions() {
            let f = Self.fields(line)
            guard let state = f["JobState"] else { continue }
            if let array = f["ArrayJobId"], jobs.contains(array), let task = f["ArrayTaskId"] { states[array + "_" + task] = state }
            else if let id = f["JobId"], jobs.contains(id) { states[id] = state }
        }
        return states
    }

    /// Lines of the job completion file, if the cluster keeps one.
    func jobCompletions() -> [Substring] {
        guard let r = try? run("scontrol", ["show", "config"]), r.status == 0 else { return [] }
        var type = "", location = ""
        for line in r.stdout.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            if parts[0] == "JobCompType" { type = parts[1] }
            if parts[0] == "JobCompLoc" { location = parts[1] }
        }
        guard type == "jobcomp/filetxt", let text = try? String(contentsOfFile: location, encoding: .utf8) else { return [] }
        return text.split(separator: "\n")
    }

    /// `Key=Value Key=Value` fields of a job completion line.
    static func fields(_ line: Substring) -> [String: String] {
        var out: [String: String] = [:]
        for part in line.split(separator: " ") {
            if let eq = part.firstIndex(of: "=") { out[String(part[..<eq])] = String(part[part.index(after: eq)...]) }
        }
        return out
    }

    /// Cancels jobs or single tasks (`123`, `123_4`); best effort, for Ctrl-C.
    func cancel(_ ids: [String]) {
        guard !ids.isEmpty else { return }
        _ = try? run("scancel", ids)
    }

    /// The partitions users may submit to (the default one first marked by Slurm with `*`, stripped here).
    func partitions() throws -> (names: [String], defaultName: String?) {
        let r = try run("sinfo", ["-h", "-o", "%P"])
        guard r.status == 0 else {
            throw SegflowError.user("sinfo failed: \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))",
                                    hint: "check that the Slurm controller is up and SLURM_CONF points at its slurm.conf")
        }
        let raw = r.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return (raw.map { $0.hasSuffix("*") ? String($0.dropLast()) : $0 }, raw.first { $0.hasSuffix("*") }.map { String($0.dropLast()) })
    }
}

/// A value one thread sets and another reads after it is done.
final class SendableBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T?
    var value: T? {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
}
