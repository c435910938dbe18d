import Foundation

/// A test hook for the crash-safety harness (RELIABILITY.md): `SEGFLOW_CRASH_AT=POINT[:N]` makes the
/// process SIGKILL itself the N-th time (default 1) it reaches the named point, so a test can kill a
/// run exactly during a dataset import, a plugin call or an index commit rather than at a lucky moment.
///
/// Points: `import` (an item's files are in the store, its result not yet committed), `ingest` (an
/// object's bytes are written to its unnamed or temporary file, not yet named in place), `stage` (a native
/// stage call returned, its outputs still in the scratch folder), `plugin` (a plugin worker sent a
/// progress event: it is alive and mid-call), `commit` (inside the index transaction, rows written,
/// not yet committed), `links` (results links half written).
///
/// Unset, a point costs one load of a value read once per process and a nil check: nothing is
/// parsed or counted.
public enum CrashPoint {
    /// The point and hit number to die at, read once from the environment.
    private static let target: (point: String, hit: Int)? = {
        guard let spec = ProcessInfo.processInfo.environment["SEGFLOW_CRASH_AT"], !spec.isEmpty else { return nil }
        let parts = spec.split(separator: ":", maxSplits: 1)
        let hit = parts.count > 1 ? Int(parts[1]) ?? 1 : 1
        return (String(parts[0]), max(1, hit))
    }()
    private static let counter = HitCounter()

    /// Dies with SIGKILL if this is the configured point's N-th hit; otherwise returns at once.
    @inline(__always)
    public static func reached(_ point: StaticString) {
        guard let target else { return }
        hit(point.description, target)
    }

    @inline(never)
    private static func hit(_ point: String, _ target: (point: String, hit: Int)) {
        guard point == target.point, counter.increment() == target.hit else { return }
        FileHandle.standardError.write(Data("segflow: SEGFLOW_CRASH_AT=\(point):\(target.hit) reached; killing myself\n".utf8))
        kill(getpid(), SIGKILL)
        // SIGKILL cannot be caught; never go on past a crash point.
        while true { pause() }
    }

    /// Hits of the configured point, from any thread.
    private final class HitCounter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        func increment() -> Int { lock.lock(); defer { lock.unlock() }; count += 1; return count }
    }
}
