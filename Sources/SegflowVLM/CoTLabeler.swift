import Foundation
import SegflowCore
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Labels images with a vision-language model, directly or by describe-then-pick, with
/// self-consistency voting, retries and one clear error when the server is not there.
///
/// Failures of one item (a timeout after every retry, an answer without JSON) mark that item
/// failed and the call goes on; problems that would fail every item (nothing listening, a bad
/// key, an unknown model) stop the whole call with one `SegflowError`.
public final class CoTLabeler: Sendable {
    public let config: CoTConfig
    private let session: URLSession
    private let ownsSession: Bool

    /// `session` is for tests and proxies; by default an ephemeral session without caches.
    public init(config: CoTConfig, session: URLSession? = nil) {
        self.config = config
        if let session {
            self.session = session; ownsSession = false
        } else {
            let c = URLSessionConfiguration.ephemeral
            c.timeoutIntervalForRequest = Transport.backstopTimeout(config.timeout)
            c.httpMaximumConnectionsPerHost = max(1, config.concurrency)
            c.requestCachePolicy = .reloadIgnoringLocalCacheData
            c.urlCache = nil
            self.session = URLSession(configuration: c); ownsSession = true
        }
    }

    deinit { if ownsSession { session.finishTasksAndInvalidate() } }

    /// One `ItemLabels` per item, in input order. `progress(done, total)` is called after each item.
    /// `onItem(index, labels)` is called as soon as an item is done (in completion order), so a
    /// stage can store each answer even if a later failure stops the call.
    ///
    /// Throws `SegflowError.diagnostics` for an invalid config or an unreachable/refusing server,
    /// `.stageFailed` for the first failed item when `strict`, `.cancelled` when the task is cancelled.
    public func label(_ items: [VLMItem], progress: @escaping @Sendable (Int, Int) -> Void,
                      onItem: (@Sendable (Int, ItemLabels) -> Void)? = nil) async throws -> [ItemLabels] {
        let templates = try config.compiledTemplates()
        guard !items.isEmpty else { return [] }
        let transport = Transport(session: session, config: config)
        let values = [
            "classes": PromptTemplate.classesText(config.vocabulary),
            "definitions": PromptTemplate.definitionsText(config.vocabulary, config.definitions),
        ]
        var results = [ItemLabels?](repeating: nil, count: items.count)
        let width = max(1, config.concurrency)
        do {
            try await withThrowingTaskGroup(of: (Int, ItemLabels).self) { group in
                var next = 0, done = 0
                while next < min(width, items.count) {
                    let i = next; next += 1
                    group.addTask { (i, try await self.labelOne(items[i], templates, values, transport)) }
                }
                while let (i, r) = try await group.next() {
                    results[i] = r
                    onItem?(i, r)
                    done += 1
                    progress(done, items.count)
                    if next < items.count {
                        let j = next; next += 1
                        group.addTask { (j, try await self.labelOne(items[j], templates, values, transport)) }
                    }
                }
            }
        } catch is CancellationError {
            throw SegflowError.cancelled
        }
        if Task.isCancelled { throw SegflowError.cancelled }
        return results.map { $0! }
    }

    // MARK: - One item

    private func labelOne(_ item: VLMItem, _ t: CoTConfig.Templates, _ values: [String: String],
                          _ transport: Transport) async throws -> ItemLabels {
        var run = ItemRun(item: item, backend: config.backend.rawValue)
        let normalizer = LabelNormalizer(vocabulary: config.vocabulary, synonyms: config.synonyms)
        var votes = [String: Int](), dropped: [String] = [], failures: [String] = [], parsed = 0
        for sample in 0..<config.samples {
            try Task.checkCancellation()
            let seed = config.seed.map { $0 + sample }
            let answer: String
            switch config.strategy {
            case .direct:
                let call = ChatCall(model: config.model, prompt: t.direct!.render(values), image: item, wantsJSON: true, seed: seed)
                guard let a = try await step("direct", call, sample, &run, transport) else { failures.append(run.lastError); continue }
                answer = a
            case .describeThenPick:
                let describe = ChatCall(model: config.model, prompt: t.describe!.render(values), image: item, wantsJSON: false, seed: seed)
                guard let description = try await step("describe", describe, sample, &run, transport) else { failures.append(run.lastError); continue }
                var pickValues = values
                pickValues["description"] = description.trimmingCharacters(in: .whitespacesAndNewlines)
                // A text model gets the description only; the VLM also sees the image again.
                let pick = ChatCall(model: config.pickModel ?? config.model, prompt: t.pick!.render(pickValues),
                                    image: config.pickModel == nil ? item : nil, wantsJSON: true, seed: seed)
                guard let a = try await step("pick", pick, sample, &run, transport) else { failures.append(run.lastError); continue }
                answer = a
            }
            run.raw.append(config.redact(answer))
            guard let labels = AnswerParser.labels(in: answer) else {
                let why = "no JSON object with an \"annotations\" list in the answer"
                failures.append(config.samples > 1 ? "sample \(sample): \(why)" : why)
                if config.strict {
                    throw SegflowError.stageFailed(node: config.nodeName, item: item.stem,
                                                   message: "\(why): \(Self.oneLine(config.redact(answer)))")
                }
                continue
            }
            let n = normalizer.normalize(labels)
            for l in n.labels { votes[l, default: 0] += 1 }
            for d in n.dropped where !dropped.contains(d) { dropped.append(d) }
            parsed += 1
        }
        var result = ItemLabels(stem: item.stem, labels: nil, dropped: dropped, failure: nil,
                                rawAnswers: run.raw, retries: run.retries, transcript: run.transcript)
        if parsed == 0 {
            result.failure = failures.joined(separator: "; ")
            if config.strict { throw SegflowError.stageFailed(node: config.nodeName, item: item.stem, message: result.failure!) }
        } else {
            // Strict majority over all samples: a failed sample votes for nothing.
            result.labels = config.vocabulary.filter { 2 * (votes[$0] ?? 0) > config.samples }
        }
        return result
    }

    /// Sends one call, records it in the transcript; nil when it failed for this item only.
    private func step(_ role: String, _ call: ChatCall, _ sample: Int, _ run: inout ItemRun,
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
private struct ItemRun {
    var stem: String
    var transcript: Transcript
    var raw: [String] = []
    var retries = 0
    var lastError = ""

    init(item: VLMItem, backend: String) {
        stem = item.stem
        transcript = Transcript(stem: item.stem, backend: backend)
    }
}
