import Foundation

/// Reads a plugin worker's stdout as lines, on the worker's terms: no line may grow past
/// `maxLineBytes` (a worker printing endless bytes without a line break would otherwise fill memory),
/// and reading ends once the worker has exited and its output is drained, even if a child it left
/// behind still holds the pipe open (waiting for end-of-file would wait for that child).
enum WorkerOutput {
    /// The longest event line accepted: a result with thousands of item failures fits many times over.
    static let maxLineBytes = 16 << 20

    enum Stop: Equatable {
        /// End of file: every writer closed the pipe.
        case endOfFile
        /// The worker exited and nothing more came; a child of it may still hold the pipe.
        case workerExited
        /// A line grew past `maxLineBytes` without a line break.
        case lineTooLong
    }

    /// Calls `line` with every complete, non-empty line (without its `\n`) until the output stops.
    static func read(fd: Int32, pid: pid_t, line: (Data) -> Void) -> Stop {
        // The start of a line whose end has not come yet.
        var pending = Data()
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, 200)
            if ready < 0 && errno == EINTR { continue }
            if ready == 0 {
                // Silence: the worker may be computing, or gone with a child holding the pipe.
                if hasExited(pid) { return .workerExited }
                continue
            }
            let n = chunk.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return .endOfFile }
            chunk.withUnsafeBytes { raw in
                let base = raw.baseAddress!
                var start = 0
                // memchr: a worker may send megabytes, and a byte loop over them is slow in debug builds.
                while start < n, let hit = memchr(base + start, 0x0A, n - start) {
                    let nl = base.distance(to: UnsafeRawPointer(hit))
                    pending.append(base.assumingMemoryBound(to: UInt8.self) + start, count: nl - start)
                    if !pending.isEmpty { line(pending) }
                    pending.removeAll(keepingCapacity: true)
                    start = nl + 1
                }
                if start < n { pending.append(base.assumingMemoryBound(to: UInt8.self) + start, count: n - start) }
            }
            if pending.count > maxLineBytes { return .lineTooLong }
        }
    }

    /// Whether the child `pid` has exited, without reaping it (its waiter still collects the status).
    static func hasExited(_ pid: pid_t) -> Bool {
        var info = siginfo_t()
        if waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0 {
            return errno == ECHILD // already reaped
        }
        return info._sifields._sigchld.si_pid == pid
    }
}
