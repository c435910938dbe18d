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
    private let client: VLMClient

    /// `session` is for tests and proxies; by default an ephemeral session without caches.
    public init(config: CoTConfig, session: URLSession? = nil) throws {
        self.config = config
        client = try VLMClient(config: config, session: session)
    }

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
        let transport = client.transport
        let values = [
            "classes": PromptTemplate.classesText(config.vocabulary),
            "definitions": PromptTemplate.definitionsText(config.vocabulary, config.definitions),
        ]
        return try await client.forEach(items.count, progress: progress, onItem: onItem) { i in
            try await self.labelOne(items[i], templates, values, transport)
        }
    }

    // MARK: - One item

    private func labelOne(_ item: VLMItem, _ t: CoTConfig.Templates, _ values: [String: String],
                          _ transport: Transport) async throws -> ItemLabels {
        var run = ItemRun(stem: item.stem, backend: config.backend.rawValue)
        let normalizer = LabelNormalizer(vocabulary: config.vocabulary, synonyms: config.synonyms)
        var votes = [String: Int](), dropped: [String] = [], failures: [String] = [], parsed = 0
        for sample in 0..<config.samples {
            try Task.checkCancellation()
            let seed = config.seed.map { $0 + sample }
            let answer: String
            switch config.strategy {
            case .direct:
                let call = ChatCall(model: config.model, prompt: t.direct!.render(values), image: item, wantsJSON: true, seed: seed)
                guard let a = try await client.step("direct", call, sample, &run, transport) else { failures.append(run.lastError); continue }
                answer = a
            case .describeThenPick:
                let describe = ChatCall(model: config.model, prompt: t.describe!.render(values), image: item, wantsJSON: false, seed: seed)
                guard let description = try await client.step("describe", describe, sample, &run, transport) else { failures.append(run.lastError); continue }
                var pickValues = values
                pickValues["description"] = description.trimmingCharacters(in: .whitespacesAndNewlines)
                // A text model gets the description only; the VLM also sees the image again.
                let pick = ChatCall(model: config.pickModel ?? config.model, prompt: t.pick!.render(pickValues),
                                    image: config.pickModel == nil ? item : nil, wantsJSON: true, seed: seed)
                guard let a = try await client.step("pick", pick, sample, &run, transport) else { failures.append(run.lastError); continue }
                answer = a
            }
            run.raw.append(config.redact(answer))
            guard let labels = AnswerParser.labels(in: answer) else {
                let why = "no JSON object with an \"annotations\" list in the answer"
                failures.append(config.samples > 1 ? "sample \(sample): \(why)" : why)
                if config.strict {
                    throw SegflowError.stageFailed(node: config.nodeName, item: item.stem,
                                                   message: "\(why): \(VLMClient.oneLine(config.redact(answer)))")
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
}
