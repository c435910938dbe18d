import Foundation
import SegflowCore

/// Everything one `vlmGround` call needs: the server (the same connection settings as `cotLabel`),
/// the prompt, what to ask for and how the model writes coordinates.
public struct GroundConfig: Sendable {
    /// What the model is asked to mark; entries of the other kind are left out.
    public enum Ask: String, Sendable, CaseIterable {
        case boxes, points, both
    }

    /// How the model's numbers relate to the image.
    public enum Coordinates: String, Sendable, CaseIterable {
        /// Pixels of the image as the model saw it (Qwen2.5-VL: its smart-resized copy).
        case pixels
        /// 0...1000 across each side, whatever the size (Qwen2-VL, CogVLM, many others).
        case normalized1000
    }

    /// Server, model, key, sampling, retries, vocabulary (the pipeline's classes) and synonyms.
    /// Its prompt and strategy fields are unused.
    public var connection: CoTConfig
    /// Template text; nil or empty = `defaultPrompt(ask:coordinates:)`.
    public var prompt: String?
    public var ask: Ask
    public var coordinates: Coordinates
    /// Qwen's `min_pixels`/`max_pixels` when images are smart-resized (sent with OpenAI requests).
    public var pixelBounds: (min: Int, max: Int)?

    public init(connection: CoTConfig, prompt: String? = nil, ask: Ask = .boxes, coordinates: Coordinates = .pixels,
                pixelBounds: (min: Int, max: Int)? = nil) {
        self.connection = connection; self.prompt = prompt; self.ask = ask
        self.coordinates = coordinates; self.pixelBounds = pixelBounds
    }

    /// Placeholders of a grounding prompt: the classes asked for and the size the model sees.
    public static let placeholders = ["classes", "definitions", "width", "height"]

    /// The prompt used when none is given: Qwen2.5-VL's grounding phrasing, which its model card uses.
    /// It is not a param, so it is not in the keys: changing its text needs a vlmGround version bump.
    public static func defaultPrompt(ask: Ask, coordinates: Coordinates) -> String {
        let space = coordinates == .pixels
            ? "in pixel coordinates of this {{width}}x{{height}} image"
            : "in coordinates from 0 to 1000 across the image's width and height"
        let format: String
        switch ask {
        case .boxes: format = #"[{"bbox_2d": [x1, y1, x2, y2], "label": "class name"}, ...]"#
        case .points: format = #"[{"point_2d": [x, y], "label": "class name"}, ...]"#
        case .both: format = #"[{"bbox_2d": [x1, y1, x2, y2], "point_2d": [x, y], "label": "class name"}, ...]"#
        }
        let what = ask == .points ? "one point inside each" : ask == .boxes ? "the bounding box of each" : "the bounding box and one point inside each"
        return """
        Locate every region of these classes in the image:
        {{classes}}
        Give \(what), \(space), as JSON: \(format)
        Use only the class names above. Answer [] if none is visible.
        """
    }

    /// The compiled prompt, after every check that needs no server; all problems at once.
    public func compiledPrompt() throws -> PromptTemplate {
        var bag = DiagnosticBag()
        var template: PromptTemplate? = nil
        let text = (prompt?.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ?? true)
            ? Self.defaultPrompt(ask: ask, coordinates: coordinates) : prompt!
        do { template = try PromptTemplate(text, field: "prompt", allowed: Self.placeholders) } catch let SegflowError.diagnostics(ds) {
            bag.append(contentsOf: ds)
        }
        if let template, !template.slots.contains("classes") {
            bag.error("prompt never uses {{classes}}", at: nil, hint: "put {{classes}} where the classes to find belong")
        }
        connection.checkConnection(&bag)
        if let b = pixelBounds, !(b.min > 0 && b.max >= b.min) {
            bag.error("minPixels (\(b.min)) must be more than 0 and at most maxPixels (\(b.max))", at: nil,
                      hint: "Qwen2.5-VL's defaults: minPixels \(QwenSmartResize.defaultMinPixels), maxPixels \(QwenSmartResize.defaultMaxPixels)")
        }
        try bag.throwIfErrors()
        return template!
    }
}
