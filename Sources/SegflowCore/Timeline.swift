import Foundation

/// Phase marks on stderr when `SEGFLOW_TIMING` is set (benchmarks: where a run's wall time goes), as
/// milliseconds since the process started. Costs one branch when unset.
public enum Timeline {
    /// Whether marks are written (read once).
    public static let enabled = ProcessInfo.processInfo.environment["SEGFLOW_TIMING"] != nil

    /// The process's start on the monotonic clock (from /proc/self/stat), else the first mark.
    private static let start: Double = processStart() ?? now()

    /// Writes `label` with the time since the process started.
    public static func mark(_ label: @autoclosure () -> String) {
        guard enabled else { return }
        let line = String(format: "timeline %8.1f ms  %@\n", (now() - start) * 1000, label())
        FileHandle.standardError.write(Data(line.utf8))
    }

    private static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Field 22 of /proc/self/stat: the start in clock ticks since boot (CLOCK_MONOTONIC counts from boot too).
    private static func processStart() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // Fields after the command name start at field 3.
        guard fields.count > 19, let ticks = Double(fields[19]) else { return nil }
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
