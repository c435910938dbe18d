import Foundation
import XCTest

/// Runs a program and reports what it cost: wall time and its own peak resident memory (wait4's
/// rusage of that one process, not of the test runner or earlier children).
struct MeasuredProcess {
    var status: Int32
    var stdout: String
    var stderr: String
    var seconds: Double
    /// Peak resident set size in bytes.
    var maxRSS: Int

    /// The segflow binary of this checkout: the release build (what `make test` builds first), else the
    /// debug one; the test is skipped when neither has been built.
    static func segflowBinary() throws -> String {
        for config in ["release", "debug"] {
            let p = "\(root)/.build/\(config)/segflow"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        throw XCTSkip("no segflow binary built (swift build)")
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// How much slower than the release build the binary may be: time targets are the release binary's
    /// (what `make test` builds first); an unoptimised debug build parses YAML about ten times slower.
    static func slowdown(of binary: String) -> Double { binary.contains("/.build/debug/") ? 10 : 1 }

    /// Runs `executable` in `directory`. A small Python parent forks and execs it and reads its rusage
    /// with wait4: a child spawned straight from the test runner would inherit the runner's peak memory
    /// (Linux keeps the peak of the address space an exec replaces, and posix_spawn shares the runner's).
    static func run(_ executable: String, _ arguments: [String], directory: String,
                    environment: [String: String] = [:]) throws -> MeasuredProcess {
        let tag = UUID().uuidString.prefix(6)
        let out = directory + "/.measured-stdout-\(tag)", err = directory + "/.measured-stderr-\(tag)"
        let figures = directory + "/.measured-\(tag)"
        defer { unlink(out); unlink(err); unlink(figures) }
        let script = """
        import os, sys, time
        figures, folder, out, err = sys.argv[1:5]
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            os.chdir(folder)
            o = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            e = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            i = os.open("/dev/null", os.O_RDONLY)
            os.dup2(i, 0); os.dup2(o, 1); os.dup2(e, 2)
            os.execv(sys.argv[5], sys.argv[5:])
        _, status, usage = os.wait4(pid, 0)
        with open(figures, "w") as f:
            f.write("%d %f %d" % (os.waitstatus_to_exitcode(status), time.monotonic() - start, usage.ru_maxrss))
        """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, figures, directory, out, err, executable] + arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        try p.run()
        p.waitUntilExit()
        let parts = ((try? String(contentsOfFile: figures, encoding: .utf8)) ?? "").split(separator: " ")
        guard parts.count == 3, let status = Int32(parts[0]), let seconds = Double(parts[1]), let kb = Int(parts[2]) else {
            throw XCTSkip("python3 could not run \(executable)")
        }
        return MeasuredProcess(status: status < 0 ? 128 - status : status,
                               stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                               stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "",
                               seconds: seconds, maxRSS: kb * 1024)
    }
}
