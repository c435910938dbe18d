import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Why a request gave no answer.
enum VLMFailure: Error, Sendable {
    /// Nothing listens there (connection refused, unknown host): the whole call stops.
    case unreachable(String)
    case timeout(Double)
    /// Any other transport error (connection lost mid-reply...).
    case connection(String)
    case http(status: Int, message: String)
    /// A 2xx reply without answer text.
    case badResponse(String)
    case cancelled

    /// Worth another attempt: the server may be starting, busy or overloaded.
    var retryable: Bool {
        switch self {
        case .unreachable, .timeout, .connection: return true
        case .http(let status, _): return status == 429 || status >= 500
        case .badResponse, .cancelled: return false
        }
    }

    var message: String {
        switch self {
        case .unreachable(let d), .connection(let d), .badResponse(let d): return d
        case .timeout(let t): return "no answer within \(Self.seconds(t)) (timeout)"
        case .http(let status, let m): return "HTTP \(status): \(m)"
        case .cancelled: return "cancelled"
        }
    }

    static func seconds(_ t: Double) -> String {
        t.rounded() == t ? "\(Int(t)) s" : "\(t) s"
    }
}

/// Sends requests with a hard per-request deadline and retries with exponential backoff.
struct Transport: Sendable {
    let session: URLSession
    let config: CoTConfig

    /// URLSession's own timer, set past ours: swift-corelibs-foundation truncates it to whole
    /// seconds (0.5 s would fire at once), and it is an idle timer, not a deadline.
    static func backstopTimeout(_ timeout: Double) -> Double { timeout.rounded(.up) + 5 }

    /// The answer body, or the last failure, and how many retries it took.
    func send(_ request: URLRequest) async -> (result: Result<Data, VLMFailure>, retries: Int) {
        var retries = 0
        while true {
            let failure: VLMFailure
            var retryAfter: Double? = nil
            do {
                let (data, http) = try await attempt(request)
                if (200..<300).contains(http.statusCode) { return (.success(data), retries) }
                let text = WireFormat.serverMessage(from: data) ?? WireFormat.snippet(data)
                failure = .http(status: http.statusCode, message: config.redact(text))
                retryAfter = (http.value(forHTTPHeaderField: "Retry-After")).flatMap(Double.init)
            } catch let f as VLMFailure {
                failure = f
            } catch {
                failure = .connection(config.redact(error.localizedDescription))
            }
            if case .cancelled = failure { return (.failure(failure), retries) }
            guard failure.retryable, retries < config.retries else { return (.failure(failure), retries) }
            let delay = min(config.retryMaxDelay, retryAfter ?? config.retryBaseDelay * pow(2, Double(retries)))
            do { try await Task.sleep(nanoseconds: UInt64(max(0, delay) * 1e9)) } catch { return (.failure(.cancelled), retries) }
            retries += 1
        }
    }

    /// One attempt. The deadline is ours, not URLSession's idle timer: a server that
    /// trickles bytes must not hold a request forever.
    func attempt(_ request: URLRequest) async throws -> (Data, HTTPURLResponse) {
        let state = AttemptState()
        let timeout = config.timeout
        let redact = config.redact
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<(Data, HTTPURLResponse), Error>) in
                let task = session.dataTask(with: request) { data, response, error in
                    let (timedOut, cancelled) = state.finish()
                    if let error {
                        continuation.resume(throwing: Self.classify(error, timedOut: timedOut, cancelled: cancelled, timeout: timeout, redact: redact))
                    } else if let http = response as? HTTPURLResponse {
                        continuation.resume(returning: (data ?? Data(), http))
                    } else {
                        continuation.resume(throwing: VLMFailure.badResponse("not an HTTP reply"))
                    }
                }
                let deadline = DispatchWorkItem { if state.markTimedOut() { task.cancel() } }
                if state.start(task, deadline: deadline) { task.cancel() }
                DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: deadline)
                task.resume()
            }
        } onCancel: {
            state.cancel()
        }
    }

    static func classify(_ error: Error, timedOut: Bool, cancelled: Bool, timeout: Double,
                         redact: (String) -> String) -> VLMFailure {
        if timedOut { return .timeout(timeout) }
        if cancelled { return .cancelled }
        guard let u = error as? URLError else { return .connection(redact(error.localizedDescription)) }
        switch u.code {
        case .timedOut: return .timeout(timeout)
        case .cannotConnectToHost: return .unreachable("connection refused")
        case .cannotFindHost, .dnsLookupFailed: return .unreachable("host not found")
        case .notConnectedToInternet: return .unreachable("no network")
        case .cancelled: return .cancelled
        default: return .connection(redact(u.localizedDescription))
        }
    }
}

/// The shared state of one attempt between the completion handler, the deadline and cancellation.
private final class AttemptState: @unchecked Sendable {
    private let lock = NSLock()
    private var task: URLSessionDataTask?
    private var deadline: DispatchWorkItem?
    private var timedOut = false, cancelled = false, finished = false

    /// Records the task; true when the caller was cancelled before it started.
    func start(_ task: URLSessionDataTask, deadline: DispatchWorkItem) -> Bool {
        lock.lock(); defer { lock.unlock() }
        self.task = task; self.deadline = deadline
        return cancelled
    }

    /// True when the deadline came first.
    func markTimedOut() -> Bool {
        lock.lock(); defer { lock.unlock() }
        if finished || cancelled { return false }
        timedOut = true
        return true
    }

    func cancel() {
        lock.lock()
        let t = finished || timedOut ? nil : task
        if !finished && !timedOut { cancelled = true }
        lock.unlock()
        t?.cancel()
    }

    func finish() -> (timedOut: Bool, cancelled: Bool) {
        lock.lock(); defer { lock.unlock() }
        finished = true
        deadline?.cancel()
        return (timedOut, cancelled)
    }
}
