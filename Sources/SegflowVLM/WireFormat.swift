import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One chat request: a user message with an optional image.
struct ChatCall: Sendable {
    var model: String
    var prompt: String
    var image: VLMItem?
    /// The step answers with JSON (Ollama `format: json` when `jsonMode` allows).
    var wantsJSON: Bool
    var seed: Int?
    /// Qwen's `min_pixels`/`max_pixels`, sent beside the image (OpenAI content part) when the image
    /// was smart-resized, so a Qwen server's own resize keeps the size it was given.
    var pixelBounds: PixelBounds? = nil
}

/// The pixel budget of a Qwen2.5-VL image.
struct PixelBounds: Sendable, Equatable {
    var min: Int
    var max: Int
}

/// The two wire formats: request bodies and where the answer is in the reply.
enum WireFormat {
    static func request(_ call: ChatCall, config: CoTConfig) throws -> URLRequest {
        guard let url = URL(string: config.endpoint) else {
            throw VLMFailure.badResponse("not a URL: \(config.redact(config.endpoint))")
        }
        var r = URLRequest(url: url)
        r.httpMethod = "POST"
        r.setValue("application/json", forHTTPHeaderField: "Content-Type")
        r.setValue("application/json", forHTTPHeaderField: "Accept")
        if let key = config.effectiveKey { r.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        r.timeoutInterval = Transport.backstopTimeout(config.timeout)
        let body = config.backend == .ollama ? ollamaBody(call, config) : openAIBody(call, config)
        r.httpBody = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        return r
    }

    /// `POST /api/chat`: images as bare base64 in the message, sampling in `options`.
    static func ollamaBody(_ call: ChatCall, _ config: CoTConfig) -> [String: Any] {
        var message: [String: Any] = ["role": "user", "content": call.prompt]
        if let image = call.image { message["images"] = [image.imageData.base64EncodedString()] }
        var body: [String: Any] = ["model": call.model, "messages": [message], "stream": false]
        if call.wantsJSON && config.jsonMode { body["format"] = "json" }
        var options: [String: Any] = [:]
        if let t = config.temperature { options["temperature"] = t }
        if let s = call.seed { options["seed"] = s }
        if let n = config.maxTokens { options["num_predict"] = n }
        if !options.isEmpty { body["options"] = options }
        return body
    }

    /// `POST /v1/chat/completions`: the image as a data URL content part, sampling at the top level.
    static func openAIBody(_ call: ChatCall, _ config: CoTConfig) -> [String: Any] {
        let content: Any
        if let image = call.image {
            let dataURL = "data:\(image.mimeType);base64,\(image.imageData.base64EncodedString())"
            var part: [String: Any] = ["type": "image_url", "image_url": ["url": dataURL]]
            if let b = call.pixelBounds { part["min_pixels"] = b.min; part["max_pixels"] = b.max }
            content = [["type": "text", "text": call.prompt], part]
        } else {
            content = call.prompt
        }
        var body: [String: Any] = ["model": call.model, "messages": [["role": "user", "content": content]], "stream": false]
        if let t = config.temperature { body["temperature"] = t }
        if let s = call.seed { body["seed"] = s }
        if let n = config.maxTokens { body["max_tokens"] = n }
        return body
    }

    /// The answer text of a 2xx reply.
    static func answer(from data: Data, backend: CoTConfig.Backend) throws -> String {
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        switch backend {
        case .ollama:
            if let message = object?["message"] as? [String: Any], let content = message["content"] as? String { return content }
        case .openai:
            if let choices = object?["choices"] as? [[String: Any]], let message = choices.first?["message"] as? [String: Any] {
                if let content = message["content"] as? String { return content }
                if let parts = message["content"] as? [[String: Any]] {
                    return parts.compactMap { $0["text"] as? String }.joined()
                }
            }
        }
        if let error = serverMessage(from: data) { throw VLMFailure.badResponse("the server answered: \(error)") }
        throw VLMFailure.badResponse("no answer text in the reply: \(snippet(data))")
    }

    /// `{"error": "..."}` (Ollama) or `{"error": {"message": "..."}}` (OpenAI).
    static func serverMessage(from data: Data) -> String? {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return nil }
        if let s = object["error"] as? String { return s }
        if let e = object["error"] as? [String: Any], let m = e["message"] as? String { return m }
        if let m = object["message"] as? String { return m }
        return nil
    }

    /// The first 300 characters of a body, on one line.
    static func snippet(_ data: Data) -> String {
        let text = String(decoding: data.prefix(300), as: UTF8.self)
            .replacingOccurrences(of: "\n", with: " ")
        return text.isEmpty ? "(empty body)" : text + (data.count > 300 ? "..." : "")
    }
}
