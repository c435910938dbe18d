import Foundation
import SegflowCore
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What `cotLabel` and `vlmGround` share: one URLSession, items in parallel up to `concurrency`,
/// one recorded step per request, and the errors that stop a whole call.
final class VLMClient: Sendable {
    let config: CoTConfig
    private let session: URLSession
    private let ownsSession: Bool

    /// `session` is for tests and proxies; by default an ephemeral session without caches (throws when
    /// libcurl, which it needs, cannot be loaded).
    init(config: CoTConfig, session: URLSession?) throws {
        self.config = config
        if let session {
            self.session = session; ownsSession = false
        } else {
            try HTTPLibrary.requireLoaded()
            let c = URLSessionConfiguration.ephemeral
            c.timeoutIntervalForRequest = Transport.backstopTimeout(config.timeout)
            c.httpMaximumConnectionsPerHost = max(1, config.concurrency)
            c.requestCachePolicy = .reloadIgnoringLocalCacheData
            c.urlCache = nil
            self.session = URLSession(configuration: c); ownsSession = true
        }
    }

    deinit { if ownsSession { session.finishTasksAndInvalidate() } }

    var transport: Transport { Transport(session: session, config: config) }

    /// `body(i)` for every index, at most `concurrency` at once; results in index order.
    /// `onItem` runs as each finishes (completion order), then `progress(done, total)`.
    func forEach<R: Sendable>(_ count: Int, progress: @escaping @Sendable (Int, Int) -> Void,
                              onItem: (@Sendable (Int, R) -> Void)?,
                              _ body: @escaping @Sendable (Int) async throws -> R) async throws -> [R] {
        var results = [R?](repeating: nil, count: count)
        let width = max(1, config.concurrency)
        do {
            try await withThrowingTaskGroup(of: (Int, R).self) { group in
                var next = 0, done = 0
                while next < min(width, count) {
                    let i = next; next += 1
                    group.addTask { (i, try await body(i)) }
                }
                while let (i, r) = try await group.next() {
                    results[i] = r
                    onItem?(i, r)
                    done += 1
                    progress(done, count)
                    if next < count {
                        let j = next; next += 1
                        group.addTask { (j, try await body(j)) }
                    }
                }
            }
        } catch is CancellationError {
            throw SegflowError.cancelled
        }
        if Task.isCancelled { throw SegflowError.cancelled }
        return results.map { $0! }
    }

    // MARK: - One request

    /// Sends one call, records it in the transcript; nil when it failed for this item only.
    func step(_ role: String, _ call: ChatCall, _ sample: Int, _ run: inout ItemRun,
              _ transport: Transport) async throws -> String? {
        let started = Date()
        var outcome: Result<String, VLMFailure>
        var retries = 0
        do {
            let request = try WireFormat.request(call, config: config)
            let sent = await transport.send(request)
            retries = sent.retries
            switch sent.result {
            case .success(let data):
                do { outcome = .success(try WireFormat.answer(from: data, backend: config.backend)) } catch let f as VLMFailure {
                    outcome = .failure(f)
                }
            case .failure(let f): outcome = .failure(f)
            }
        } catch let f as VLMFailure {
            outcome = .failure(f)
        } catch {
            throw SegflowError.internal("cannot encode the \(role) request: \(error)")
        }
        var entry = Transcript.Step(role: role, model: call.model, image: call.image?.imagePlaceholder,
                                    prompt: config.redact(call.prompt), answer: nil, sample: sample, seed: call.seed,
                                    seconds: (Date().timeIntervalSince(started) * 1000).rounded() / 1000,
                                    retries: retries, error: nil)
        run.retries += retries
        switch outcome {
        case .success(let answer):
            entry.answer = config.redact(answer)
            run.transcript.steps.append(entry)
            return answer
        case .failure(let failure):
            let retried = retries > 0 ? " after \(retries) \(retries == 1 ? "retry" : "retries")" : ""
            entry.error = config.redact(failure.message) + retried
            run.transcript.steps.append(entry)
            run.lastError = "\(role) call failed: \(entry.error!)"
            try throwIfCallWide(failure, model: call.model)
            if config.strict {
                throw SegflowError.stageFailed(node: config.nodeName, item: run.stem, message: run.lastError)
            }
            return nil
        }
    }

    // MARK: - Errors for the whole call

    private var serverName: String {
        config.backend == .ollama ? "Ollama" : "the OpenAI-compatible server"
    }

    /// Problems no other item can escape: nothing listening, a refused key, an unknown model.
    private func throwIfCallWide(_ failure: VLMFailure, model: String) throws {
        let at = config.redact(config.baseURL)
        switch failure {
        case .cancelled:
            throw SegflowError.cancelled
        case .unreachable(let detail):
            let ask = config.backend == .ollama ? "is \"ollama serve\" running?" : "is the server running?"
            throw SegflowError.user("cannot reach \(serverName) at \(at): \(detail); \(ask)")
        case .http(let status, let message) where status == 401 || status == 403:
            throw SegflowError.user("\(serverName) at \(at) refused the request (HTTP \(status)): \(message)",
                                    hint: config.effectiveKey == nil ? "this server wants an API key: set apiKeyEnv to the name of the variable that holds it"
                                                                     : "check the API key in the variable named by apiKeyEnv")
        case .http(let status, let message) where status == 404:
            throw SegflowError.user("\(serverName) at \(at) answered HTTP 404 for model \"\(model)\": \(message)",
                                    hint: config.backend == .ollama ? "pull the model first: ollama pull \(model)"
                                                                    : "check the model name and the url (the server root, with or without /v1)")
        default:
            return
        }
    }

    static func oneLine(_ s: String) -> String {
        let flat = s.replacingOccurrences(of: "\n", with: " ")
        return flat.count > 300 ? String(flat.prefix(300)) + "..." : flat
    }
}

/// What one item has gathered so far.
struct ItemRun {
    var stem: String
    var transcript: Transcript
    var raw: [String] = []
    var retries = 0
    var lastError = ""

    init(stem: String, backend: String) {
        self.stem = stem
        transcript = Transcript(stem: stem, backend: backend)
    }
}
