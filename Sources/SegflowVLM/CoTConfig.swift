import Foundation
import SegflowCore

/// Everything one `cotLabel` call needs: which server, which model, which prompts, which vocabulary.
///
/// The API key is the resolved secret (the stage reads it from the variable named by `apiKeyEnv`).
/// It is sent only in the `Authorization` header: `description`, `dump` and every error,
/// transcript and raw answer show `<redacted>` in its place.
public struct CoTConfig: Sendable {
    /// The wire format spoken to the server.
    public enum Backend: String, Sendable, CaseIterable {
        /// Ollama's native `POST /api/chat`.
        case ollama
        /// OpenAI-compatible `POST /v1/chat/completions` (vLLM, llama.cpp, DashScope, OpenAI...).
        case openai
    }

    /// How labels are asked for.
    public enum Strategy: String, Sendable, CaseIterable {
        /// One call with the image: `prompt` asks for `{"annotations": [...]}` straight away.
        case direct
        /// Two calls: `describePrompt` + image gives a free-text description; `pickPrompt`
        /// receives it as `{{description}}` and answers with JSON.
        case describeThenPick
    }

    public var backend: Backend
    /// Server root. nil = `http://127.0.0.1:11434` (Ollama) or `http://127.0.0.1:8000` (OpenAI).
    /// For OpenAI a trailing `/v1` is accepted and ignored.
    public var url: String?
    public var model: String
    /// The resolved secret; nil or empty sends no `Authorization` header.
    public var apiKey: String?
    /// nil leaves the server's default.
    public var temperature: Double?
    /// Seed of sample 0; sample `i` uses `seed + i`. nil sends no seed.
    public var seed: Int?
    /// `num_predict` (Ollama) / `max_tokens` (OpenAI); nil leaves the server's default.
    public var maxTokens: Int?
    /// Seconds one HTTP request may take, from send to the last byte of the answer.
    public var timeout: Double
    /// Requests in flight at once (items run in parallel; the steps of one item run in order).
    public var concurrency: Int
    /// Extra attempts per request after a connection error, a timeout, 429 or 5xx.
    public var retries: Int
    /// First backoff delay in seconds; retry `n` (from 0) waits `retryBaseDelay * 2^n`, at most `retryMaxDelay`.
    public var retryBaseDelay: Double
    public var retryMaxDelay: Double
    public var strategy: Strategy
    /// Template for `direct`.
    public var prompt: String?
    /// Templates for `describeThenPick`.
    public var describePrompt: String?
    public var pickPrompt: String?
    /// Text-only model for the pick call of `describeThenPick`; the image is then not sent.
    /// nil = the pick call goes to `model`, with the image.
    public var pickModel: String?
    /// Allowed label names, in output order (the pipeline's classes).
    public var vocabulary: [String]
    /// Optional one-line definitions, rendered by `{{definitions}}`.
    public var definitions: [String: String]
    /// Alternative name -> vocabulary name (`grass: lawn`, `curd: curb`).
    public var synonyms: [String: String]
    /// Self-consistency: ask `samples` times and keep labels chosen by more than half.
    public var samples: Int
    /// Ask Ollama for `format: json` on the steps that answer with JSON (`direct`, pick).
    /// The OpenAI backend never sends `response_format`: not every compatible server accepts it.
    public var jsonMode: Bool
    /// Throw on the first failed item instead of returning it marked failed.
    public var strict: Bool
    /// Node name used in `SegflowError.stageFailed`.
    public var nodeName: String

    public init(backend: Backend = .ollama, url: String? = nil, model: String, apiKey: String? = nil,
                temperature: Double? = nil, seed: Int? = 0, maxTokens: Int? = nil,
                timeout: Double = 120, concurrency: Int = 2, retries: Int = 4,
                retryBaseDelay: Double = 0.5, retryMaxDelay: Double = 8,
                strategy: Strategy = .direct, prompt: String? = nil,
                describePrompt: String? = nil, pickPrompt: String? = nil, pickModel: String? = nil,
                vocabulary: [String], definitions: [String: String] = [:], synonyms: [String: String] = [:],
                samples: Int = 1, jsonMode: Bool = true, strict: Bool = false, nodeName: String = "cotLabel") {
        self.backend = backend; self.url = url; self.model = model; self.apiKey = apiKey
        self.temperature = temperature; self.seed = seed; self.maxTokens = maxTokens
        self.timeout = timeout; self.concurrency = concurrency; self.retries = retries
        self.retryBaseDelay = retryBaseDelay; self.retryMaxDelay = retryMaxDelay
        self.strategy = strategy; self.prompt = prompt
        self.describePrompt = describePrompt; self.pickPrompt = pickPrompt; self.pickModel = pickModel
        self.vocabulary = vocabulary; self.definitions = definitions; self.synonyms = synonyms
        self.samples = samples; self.jsonMode = jsonMode; self.strict = strict; self.nodeName = nodeName
    }

    // MARK: - Derived

    /// The server root without a trailing slash (and, for OpenAI, without a trailing `/v1`).
    public var baseURL: String {
        var u = (url?.trimmingCharacters(in: .whitespaces)).flatMap { $0.isEmpty ? nil : $0 }
            ?? (backend == .ollama ? "http://127.0.0.1:11434" : "http://127.0.0.1:8000")
        while u.hasSuffix("/") { u.removeLast() }
        if backend == .openai, u.hasSuffix("/v1") { u.removeLast(3) }
        return u
    }

    /// The chat endpoint requests go to.
    public var endpoint: String {
        backend == .ollama ? baseURL + "/api/chat" : baseURL + "/v1/chat/completions"
    }

    /// The key, if one is really set.
    var effectiveKey: String? { apiKey.flatMap { $0.isEmpty ? nil : $0 } }

    /// Replaces every occurrence of the key in `text` (servers echo keys in 401 bodies).
    public func redact(_ text: String) -> String {
        guard let key = effectiveKey else { return text }
        return text.replacingOccurrences(of: key, with: "<redacted>")
    }

    /// The parameters that decide the answers, for the stage's cache key. Never the key;
    /// not timeout, concurrency, retries or strict, which change how answers are fetched, not what they are.
    public var keyValue: CanonicalValue {
        func opt(_ s: String?) -> CanonicalValue { s.map { .string($0) } ?? .null }
        return .map([
            "backend": .string(backend.rawValue), "url": .string(baseURL), "model": .string(model),
            "temperature": temperature.map { .double($0) } ?? .null,
            "seed": seed.map { .int(Int64($0)) } ?? .null,
            "maxTokens": maxTokens.map { .int(Int64($0)) } ?? .null,
            "strategy": .string(strategy.rawValue), "prompt": opt(prompt),
            "describePrompt": opt(describePrompt), "pickPrompt": opt(pickPrompt), "pickModel": opt(pickModel),
            "vocabulary": .list(vocabulary.map { .string($0) }),
            "definitions": .map(definitions.mapValues { .string($0) }),
            "synonyms": .map(synonyms.mapValues { .string($0) }),
            "samples": .int(Int64(samples)), "jsonMode": .bool(jsonMode),
        ])
    }
}

// MARK: - Never print the key

extension CoTConfig: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        var s = "CoTConfig(\(backend.rawValue) \(baseURL) model=\(model)"
        if let pickModel { s += " pickModel=\(pickModel)" }
        s += " strategy=\(strategy.rawValue) samples=\(samples)"
        s += " apiKey=\(effectiveKey == nil ? "none" : "<redacted>"))"
        return s
    }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(self, children: ["description": description], displayStyle: .struct)
    }
}
