import Foundation
import SegflowCore

/// Graphviz's `dot` (Debian's graphviz package, installed by `make deps`) run as a process: segflow
/// hands it DOT and takes back SVG, as Snakemake and DVC do, rather than laying graphs out itself.
public enum Graphviz {
    /// `dot` on the PATH, or nil.
    public static var executable: String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/dot" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The error when `dot` is needed and missing.
    static var missing: SegflowError {
        .user("Graphviz's `dot` is not on the PATH (it draws the pipeline as SVG)",
              hint: "install it: apt-get install graphviz (or `make deps` as root); `segflow dag --format dot` prints the graph without it")
    }

    /// Lays out `dot` source as SVG. The DOT goes through files, not pipes: no deadlock on a large
    /// drawing, and dot's warnings are kept for the error message. Stopped after `timeout` seconds.
    public static func svg(fromDOT source: String, timeout: Double = 60) throws -> String {
        guard let exe = executable else { throw missing }
        let dir = NSTemporaryDirectory() + "segflow-dot-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try source.write(toFile: dir + "/in.dot", atomically: false, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: dir + "/err.txt", contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = ["-Tsvg", "-o", dir + "/out.svg", dir + "/in.dot"]
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle(forWritingAtPath: dir + "/err.txt")
        do { try p.run() } catch { throw missing }
        let killer = DispatchWorkItem { if p.isRunning { p.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
        p.waitUntilExit()
        killer.cancel()
        let err = (try? String(contentsOfFile: dir + "/err.txt", encoding: .utf8)) ?? ""
        guard p.terminationStatus == 0, let svg = try? String(contentsOfFile: dir + "/out.svg", encoding: .utf8) else {
            throw SegflowError.internal("dot -Tsvg failed (status \(p.terminationStatus)): \(err.trimmingCharacters(in: .whitespacesAndNewlines).suffix(500))")
        }
        return svg
    }

    /// The `<svg>` element alone (no XML prolog, doctype or comments), to inline in HTML.
    public static func inlineSVG(_ svg: String) -> String {
        guard let start = svg.range(of: "<svg") else { return svg }
        return String(svg[start.lowerBound...])
    }
}
