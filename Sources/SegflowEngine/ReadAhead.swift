import Foundation

/// A value computed on another thread while the caller goes on; `value()` waits for it.
/// The planner reads index rows ahead this way: SQLite scans of later nodes overlap the
/// file-system work of earlier ones, on a machine with as few as two cores.
final class ReadAhead<T>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<T, Error>?

    init(_ work: @escaping @Sendable () throws -> T) {
        DispatchQueue.global(qos: .userInitiated).async {
            self.result = Result { try work() }
            self.done.signal()
        }
    }

    /// The value (or the error it threw); waits on the first call only. Call it from one thread.
    func value() throws -> T {
        if !waited { done.wait(); waited = true }
        return try result!.get()
    }

    private var waited = false
}
