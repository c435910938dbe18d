import Foundation
import SegflowCore
import SegflowGraph
import SegflowVLM

/// `cotLabel`: image-level labels from a vision-language model, by chain-of-thought prompting.
///
/// Each item is keyed by the engine from its image and every param here (prompt files by content,
/// the vocabulary through the classes); the API key enters nothing but the request header.
public struct CoTLabelStage: StageImplementation {
    public init() {}
    public let descriptor = StageDescriptor(
        name: "cotLabel", version: 1, inputs: [PortSpec("images", .images)],
        outputs: [PortSpec("labels", .labels), PortSpec("transcripts", .transcripts)],
        params: vlmConnectionParams + [
            ParamSpec("strategy", .string, default: .string("direct"), choices: ["direct", "describeThenPick"]),
            ParamSpec("prompt", .file, default: .string(""), doc: "direct: prompt template file ({{classes}}, {{definitions}})"),
            ParamSpec("describePrompt", .file, default: .string(""), doc: "describeThenPick: first call's template"),
            ParamSpec("pickPrompt", .file, default: .string(""), doc: "describeThenPick: second call's template, with {{description}}"),
            ParamSpec("pickModel", .string, default: .string(""), doc: "optional text-only model for the pick call"),
        ] + vlmAnswerParams + [
            ParamSpec("samples", .int, default: .int(1), min: 1, max: 15, doc: "ask k times, keep labels a strict majority chose"),
            ParamSpec("jsonMode", .bool, default: .bool(true), doc: "ask Ollama for JSON on the answering step"),
        ] + vlmTransportParams,
        granularity: .map, summary: "Image-level labels from a VLM (Ollama or OpenAI-compatible) with chain-of-thought prompts.")

    func config(_ call: StageCall) throws -> CoTConfig {
        var c = try call.vlmConnection(stage: "cotLabel")
        c.strategy = call.string("strategy") == "describeThenPick" ? .describeThenPick : .direct
        c.prompt = try call.promptFile("prompt", stage: "cotLabel")
        c.describePrompt = try call.promptFile("describePrompt", stage: "cotLabel")
        c.pickPrompt = try call.promptFile("pickPrompt", stage: "cotLabel")
        c.pickModel = call.string("pickModel").isEmpty ? nil : call.string("pickModel")
        c.samples = call.int("samples"); c.jsonMode = call.bool("jsonMode")
        try c.validate()
        return c
    }

    public func run(_ call: StageCall) async throws -> StageOutcome {
        let config = try config(call)
        let items = try call.items.map { try call.vlmItem($0) }
        let progress = call.progress
        let results = try await CoTLabeler(config: config).label(items, progress: { d, t in progress(d, t, nil) })
        var failures: [String: String] = [:]
        var dropped = 0
        for r in results {
            try r.transcript.jsonData().write(to: URL(fileURLWithPath: try call.outputPath(port: "transcripts", file: "\(r.stem).json")))
            dropped += r.dropped.count
            guard let labels = r.labels else {
                failures[r.stem] = (r.failure ?? "unparseable answer") + (r.rawAnswers.last.map { "; raw answer: \(String($0.prefix(200)))" } ?? "")
                continue
            }
            let json = "[" + labels.map(JSONText.quote).joined(separator: ",") + "]"
            try Data(json.utf8).write(to: URL(fileURLWithPath: try call.outputPath(port: "labels", file: "\(r.stem).json")))
        }
        return StageOutcome(metrics: ["droppedLabels": .int(Int64(dropped)), "failedItems": .int(Int64(failures.count))],
                            itemFailures: failures)
    }
}

// MARK: - What the VLM stages share

/// The server, model and key params of `cotLabel` and `vlmGround` (read by `vlmConnection`).
let vlmConnectionParams: [ParamSpec] = [
    ParamSpec("backend", .string, default: .string("ollama"), choices: ["ollama", "openai"]),
    ParamSpec("url", .string, default: .string(""), doc: "server root; default http://127.0.0.1:11434 (ollama) or :8000 (openai)"),
    ParamSpec("model", .string, doc: "e.g. llava:13b or Qwen/Qwen2.5-VL-7B-Instruct"),
    ParamSpec("apiKeyEnv", .string, default: .string(""), doc: "NAME of the environment variable holding the API key (never the key)"),
]

/// The vocabulary and sampling params both VLM stages share.
let vlmAnswerParams: [ParamSpec] = [
    ParamSpec("definitions", .stringMap, default: .map([:]), doc: "class name -> definition, for {{definitions}}"),
    ParamSpec("synonyms", .stringMap, default: .map([:]), doc: "answer word -> class name, e.g. {grass: lawn}"),
    ParamSpec("temperature", .float, default: .double(0), min: 0, max: 2),
    ParamSpec("seed", .int, default: .int(0)),
    ParamSpec("maxTokens", .int, default: .int(0), min: 0, doc: "0 = the server's default"),
]

/// `strict` and how requests are sent (timeout, concurrency and retries stay out of keys).
let vlmTransportParams: [ParamSpec] = [
    ParamSpec("strict", .bool, default: .bool(false), doc: "an unparseable answer fails the node instead of the item"),
    ParamSpec("timeout", .float, default: .double(120), min: 1, doc: "seconds per request", affectsOutput: false),
    ParamSpec("concurrency", .int, default: .int(2), min: 1, max: 64, doc: "requests at once", affectsOutput: false),
    ParamSpec("retries", .int, default: .int(4), min: 0, max: 20,
              doc: "retries on connection errors, 429 and 5xx, with exponential backoff", affectsOutput: false),
]

extension StageCall {
    /// The text of a prompt file param, or nil when it is not set.
    func promptFile(_ name: String, stage: String) throws -> String? {
        let path = string(name)
        guard !path.isEmpty else { return nil }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SegflowError.user("\(stage) \(node): cannot read \(name) file \(path)")
        }
        return text
    }

    /// The shared VLM params as a config (vocabulary: the pipeline's classes); the key is read from the
    /// variable `apiKeyEnv` names, here and nowhere else.
    func vlmConnection(stage: String) throws -> CoTConfig {
        var apiKey: String? = nil
        let keyEnv = string("apiKeyEnv")
        if !keyEnv.isEmpty {
            guard let k = ProcessInfo.processInfo.environment[keyEnv], !k.isEmpty else {
                throw SegflowError.user("\(stage) \(node): the environment variable \(keyEnv) (apiKeyEnv) is not set",
                                        hint: "export \(keyEnv)=... before running; the key never enters the cache")
            }
            apiKey = k
        }
        func strings(_ name: String) -> [String: String] { (params[name]?.mapValue ?? [:]).compactMapValues(\.stringValue) }
        return CoTConfig(
            backend: string("backend") == "openai" ? .openai : .ollama,
            url: string("url").isEmpty ? nil : string("url"), model: string("model"), apiKey: apiKey,
            temperature: double("temperature"), seed: int("seed"), maxTokens: int("maxTokens") > 0 ? int("maxTokens") : nil,
            timeout: double("timeout"), concurrency: int("concurrency"), retries: int("retries"),
            vocabulary: classes.names, definitions: strings("definitions"), synonyms: strings("synonyms"),
            strict: bool("strict"), nodeName: node)
    }

    /// An item's image as a VLM request carries it.
    func vlmItem(_ stem: String) throws -> VLMItem {
        let path = try requirePath("images", stem)
        let name = inputs["images"]?.first { FileTree.stem(of: $0.key) == stem }?.key ?? stem
        let mime = name.lowercased().hasSuffix(".png") ? "image/png" : "image/jpeg"
        return VLMItem(stem: stem, imageData: try Data(contentsOf: URL(fileURLWithPath: path)), mimeType: mime)
    }
}
