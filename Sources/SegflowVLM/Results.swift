import Foundation

/// One image to label.
public struct VLMItem: Sendable {
    public let stem: String
    public let imageData: Data
    /// `image/png` or `image/jpeg`: the data URL's type for OpenAI and the name shown in transcripts.
    public let mimeType: String

    public init(stem: String, imageData: Data, mimeType: String) {
        self.stem = stem; self.imageData = imageData; self.mimeType = mimeType
    }

    /// `<image stem.png>`: how transcripts show the image instead of embedding it.
    public var imagePlaceholder: String {
        let ext: String
        switch mimeType.lowercased() {
        case "image/png": ext = "png"
        case "image/jpeg", "image/jpg": ext = "jpg"
        default: ext = mimeType.split(separator: "/").last.map(String.init) ?? "bin"
        }
        return "<image \(stem).\(ext)>"
    }
}

/// The outcome for one item.
public struct ItemLabels: Sendable, Codable {
    public var stem: String
    /// Vocabulary names in vocabulary order; nil when the item failed. `[]` is a valid answer.
    public var labels: [String]?
    /// Labels the model gave that are not classes (after synonyms and plurals), each once.
    public var dropped: [String]
    /// Why the item failed (a request that never succeeded, or no JSON in the answer).
    public var failure: String?
    /// The answers that were parsed for labels (one per sample), with the key redacted.
    public var rawAnswers: [String]
    /// Retries spent on this item's requests, all steps and samples together.
    public var retries: Int
    public var transcript: Transcript

    public init(stem: String, labels: [String]?, dropped: [String], failure: String?,
                rawAnswers: [String], retries: Int, transcript: Transcript) {
        self.stem = stem; self.labels = labels; self.dropped = dropped; self.failure = failure
        self.rawAnswers = rawAnswers; self.retries = retries; self.transcript = transcript
    }

    public var failed: Bool { labels == nil }
}

/// Every prompt and answer of one item, in the order they were sent: the `Transcripts` port's file.
public struct Transcript: Codable, Sendable {
    public struct Step: Codable, Sendable {
        /// `direct`, `describe` or `pick`.
        public var role: String
        public var model: String
        /// `<image stem.png>` when the image was sent; the bytes are never embedded.
        public var image: String?
        public var prompt: String
        /// nil when no request of this step succeeded (see `error`).
        public var answer: String?
        /// Self-consistency sample, from 0.
        public var sample: Int
        public var seed: Int?
        /// Wall time of the step, retries included.
        public var seconds: Double
        public var retries: Int
        public var error: String?

        public init(role: String, model: String, image: String?, prompt: String, answer: String?,
                    sample: Int, seed: Int?, seconds: Double, retries: Int, error: String?) {
            self.role = role; self.model = model; self.image = image; self.prompt = prompt; self.answer = answer
            self.sample = sample; self.seed = seed; self.seconds = seconds; self.retries = retries; self.error = error
        }
    }

    public var stem: String
    public var backend: String
    public var steps: [Step]

    public init(stem: String, backend: String, steps: [Step] = []) {
        self.stem = stem; self.backend = backend; self.steps = steps
    }

    /// Pretty, key-sorted JSON: the file written to the `Transcripts` port.
    public func jsonData() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try e.encode(self)
    }
}
