import Foundation

/// Receives progress from a run; a TTY bar, plain lines, or nothing (tests).
public protocol RunReporter: AnyObject, Sendable {
    func nodeStarted(_ node: String, stage: String, toRun: Int, cached: Int)
    func progress(_ node: String, done: Int, total: Int, message: String?)
    func nodeFinished(_ node: String, status: String, ran: Int, cached: Int, failed: Int, seconds: Double)
    func note(_ text: String)
}

/// Prints to stderr: a redrawn bar on a terminal, one line per event otherwise.
public final class ConsoleReporter: RunReporter, @unchecked Sendable {
    private let lock = NSLock()
    private let isTTY: Bool
    private var lastPlain: [String: Int] = [:]
    private var barShown = false

    public init(isTTY: Bool = isatty(STDERR_FILENO) == 1) { self.isTTY = isTTY }

    private func write(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }

    private func clearBar() { if barShown { write("\r\u{1B}[2K"); barShown = false } }

    public func nodeStarted(_ node: String, stage: String, toRun: Int, cached: Int) {
        lock.lock(); defer { lock.unlock() }
        clearBar()
        write("\(node) (\(stage)): \(toRun) to run, \(cached) cached\n")
    }

    public func progress(_ node: String, done: Int, total: Int, message: String?) {
        lock.lock(); defer { lock.unlock() }
        let pct = total > 0 ? done * 100 / total : 0
        if isTTY {
            let width = 30, filled = total > 0 ? width * done / total : 0
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            write("\r\u{1B}[2K  \(node) [\(bar)] \(done)/\(total)\(message.map { " " + $0 } ?? "")")
            barShown = true
        } else if message != nil || pct / 25 != (lastPlain[node] ?? -1) / 25 || done == total {
            lastPlain[node] = pct
            write("  \(node): \(done)/\(total)\(message.map { " " + $0 } ?? "")\n")
        }
    }

    public func nodeFinished(_ node: String, status: String, ran: Int, cached: Int, failed: Int, seconds: Double) {
        lock.lock(); defer { lock.unlock() }
        clearBar()
        var s = "\(node): \(status), \(ran) ran, \(cached) cached"
        if failed > 0 { s += ", \(failed) failed" }
        write(s + String(format: " (%.2f s)\n", seconds))
    }

    public func note(_ text: String) {
        lock.lock(); defer { lock.unlock() }
        clearBar(); write(text + "\n")
    }
}

/// Says nothing; tests use it.
public final class SilentReporter: RunReporter, @unchecked Sendable {
    public init() {}
    public func nodeStarted(_ node: String, stage: String, toRun: Int, cached: Int) {}
    public func progress(_ node: String, done: Int, total: Int, message: String?) {}
    public func nodeFinished(_ node: String, status: String, ran: Int, cached: Int, failed: Int, seconds: Double) {}
    public func note(_ text: String) {}
}

/// Ctrl-C: the first stops new work after the current chunk; the cache stays consistent.
public final class Cancellation: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false
    private var handlers: [() -> Void] = []
    public init() {}
    public var isCancelled: Bool { lock.lock(); defer { lock.unlock() }; return cancelled }
    public func cancel() {
        lock.lock(); cancelled = true; let hs = handlers; lock.unlock()
        hs.forEach { $0() }
    }
    /// Called on cancel (e.g. to terminate a worker process).
    public func onCancel(_ h: @escaping () -> Void) { lock.lock(); handlers.append(h); lock.unlock() }
}
