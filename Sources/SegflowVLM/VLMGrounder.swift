import Foundation
import SegflowCore
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One image to ground: the bytes the model gets (resized or not), how they relate to the original,
/// and the classes to ask for.
public struct GroundItem: Sendable {
    public var image: VLMItem
    public var frame: GroundingFrame
    /// Vocabulary names to look for (e.g. the labels cotLabel picked); nil = every class.
    public var classes: [String]?

    public init(image: VLMItem, frame: GroundingFrame, classes: [String]? = nil) {
        self.image = image; self.frame = frame; self.classes = classes
    }
}

/// The outcome for one item.
public struct ItemGrounding: Sendable {
    public var stem: String
    /// Boxes and points in original pixels with vocabulary names; empty when the item failed.
    public var boxes: [GroundedBox]
    public var points: [GroundedPoint]
    /// Labels that are not among the classes asked for (after synonyms and plurals), each once.
    public var dropped: [String]
    public var tally: GroundingTally
    /// Why the item failed (no request succeeded, or no JSON in the answer); nil on success.
    public var failure: String?
    public var rawAnswer: String?
    public var retries: Int
    public var transcript: Transcript

    public var failed: Bool { failure != nil }
}

/// Asks a grounding VLM for boxes and/or points of the classes in each image, on cotLabel's
/// transport (retries, deadlines, one error for a dead server), and maps the answers to original pixels.
public final class VLMGrounder: Sendable {
    public let config: GroundConfig
    private let client: VLMClient

    public init(config: GroundConfig, session: URLSession? = nil) throws {
        self.config = config
        client = try VLMClient(config: config.connection, session: session)
    }

    /// One `ItemGrounding` per item, in input order; throws like `CoTLabeler.label`.
    public func ground(_ items: [GroundItem], progress: @escaping @Sendable (Int, Int) -> Void) async throws -> [ItemGrounding] {
        let template = try config.compiledPrompt()
        guard !items.isEmpty else { return [] }
        let transport = client.transport
        return try await client.forEach(items.count, progress: progress, onItem: nil) { i in
            try await self.groundOne(items[i], template, transport)
        }
    }

    private func groundOne(_ item: GroundItem, _ template: PromptTemplate, _ transport: Transport) async throws -> ItemGrounding {
        let c = config.connection
        var run = ItemRun(stem: item.image.stem, backend: c.backend.rawValue)
        let classes = item.classes ?? c.vocabulary
        var result = ItemGrounding(stem: item.image.stem, boxes: [], points: [], dropped: [], tally: GroundingTally(),
                                   failure: nil, rawAnswer: nil, retries: 0, transcript: run.transcript)
        // Nothing to look for (cotLabel saw none of the classes): no request, empty boxes and points.
        guard !classes.isEmpty else { return result }
        try Task.checkCancellation()
        let prompt = template.render([
            "classes": PromptTemplate.classesText(classes),
            "definitions": PromptTemplate.definitionsText(classes, c.definitions),
            "width": String(item.frame.seenWidth), "height": String(item.frame.seenHeight),
        ])
        let call = ChatCall(model: c.model, prompt: prompt, image: item.image, wantsJSON: false, seed: c.seed,
                            pixelBounds: config.pixelBounds.map { PixelBounds(min: $0.min, max: $0.max) })
        let answer = try await client.step("ground", call, 0, &run, transport)
        result.retries = run.retries
        result.transcript = run.transcript
        guard let answer else { result.failure = run.lastError; return result }
        result.rawAnswer = c.redact(answer)
        guard let parsed = GroundingParser.parse(answer), !(parsed.truncated && parsed.entries.isEmpty) else {
            let why = "no JSON list of bbox_2d/point_2d entries in the answer"
            if c.strict { throw SegflowError.stageFailed(node: c.nodeName, item: item.image.stem, message: why) }
            result.failure = why
            return result
        }
        read(parsed, item.frame, LabelNormalizer(vocabulary: classes, synonyms: c.synonyms), into: &result)
        return result
    }

    /// Keeps the entries asked for whose labels name a class, in original pixels.
    private func read(_ parsed: GroundingAnswer, _ frame: GroundingFrame, _ normalizer: LabelNormalizer,
                      into result: inout ItemGrounding) {
        result.tally.malformed = parsed.malformed
        result.tally.truncated = parsed.truncated ? 1 : 0
        for entry in parsed.entries {
            guard let index = normalizer.match(entry.label) else {
                let shown = entry.label.trimmingCharacters(in: .whitespacesAndNewlines)
                if !result.dropped.contains(shown) { result.dropped.append(shown) }
                continue
            }
            let name = normalizer.vocabulary[index]
            switch entry.shape {
            case .box(let x0, let y0, let x1, let y1):
                guard config.ask != .points else { result.tally.unasked += 1; continue }
                if let b = frame.box(name, x0: x0, y0: y0, x1: x1, y1: y1, &result.tally) { result.boxes.append(b) }
            case .point(let x, let y):
                guard config.ask != .boxes else { result.tally.unasked += 1; continue }
                if let p = frame.point(name, x: x, y: y, &result.tally) { result.points.append(p) }
            }
        }
    }
}
