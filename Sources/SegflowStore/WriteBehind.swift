import CFileSync
import Foundation

/// Write-behind for the store's copies of dataset files: each new object's bytes go to the disk as soon as
/// it is named, and once written its cached pages are let go.
///
/// Without it a first import left every copy dirty in memory until the durability barrier's `syncfs`, which
/// then wrote them all while the import waited (CamVid, 125 MB: ~60 ms), and every copy took fresh page-cache
/// memory beside the dataset file's own cached pages (the same bytes twice). On this project's VMs fresh
/// memory is the expensive part: 125 MB written into new page cache cost 0.3-0.4 s of system time, the same
/// bytes through a few recycled pages ~0.06 s (BENCHMARKS.md, first import). So: `sync_file_range` starts the
/// object's writeback when it is named, and the object named `window` objects earlier is waited for and its
/// pages dropped. Nothing here makes anything durable: the barrier still syncs every object before the index
/// names it, and finds almost nothing left to write.
///
/// A stage that reads a freshly imported object reads it from disk, not memory (the dataset's own file is still
/// cached). Only copies take this path: stage outputs and the index's own objects keep their cached pages.
final class WriteBehind: @unchecked Sendable {
    /// Objects whose writeback may be in flight at once: enough to keep the disk busy while both cores copy,
    /// few enough that their pages are recycled while still warm.
    static let window = 4

    private let lock = NSLock()
    private var inFlight: [Int32] = []

    /// Takes over `fd` (a complete, named object): starts its writeback and closes it later. The oldest object
    /// beyond the window is finished on this thread, outside the lock.
    func hand(_ fd: Int32) {
        _ = sf_start_writeback(fd)
        lock.lock()
        inFlight.append(fd)
        let oldest = inFlight.count > Self.window ? inFlight.removeFirst() : nil
        lock.unlock()
        if let oldest { finish(oldest) }
    }

    /// Closes every object still held, without waiting for its writeback (the barrier's sync does that).
    func drain() {
        lock.lock(); let fds = inFlight; inFlight = []; lock.unlock()
        for fd in fds { close(fd) }
    }

    /// Waits for one object's writeback, drops its pages and closes it. Errors are the barrier's to report:
    /// its sync fails on the same disk error.
    private func finish(_ fd: Int32) {
        _ = sf_finish_writeback(fd)
        close(fd)
    }

    deinit { drain() }
}
