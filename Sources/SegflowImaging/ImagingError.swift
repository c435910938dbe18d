/// A problem reading or writing an image or array file. The description names the
/// file, says what is wrong and how to fix it, e.g.
/// `/x/a.png: not a PNG or JPEG file (starts with 3c 68 74 6d); re-export the image as PNG or JPEG`.
public struct ImagingError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What kind of problem, for callers that react differently to each.
    public enum Kind: String, Sendable {
        /// The file could not be opened or read (missing, permissions, a folder).
        case cannotRead
        /// The bytes are not a format this module reads.
        case notAnImage
        /// The codec rejected the data: truncated or damaged.
        case corrupt
        /// The header claims more pixels than the caller's limit.
        case tooLarge
        /// A valid file of a kind this call cannot return (an RGB PNG as a mask, a 16-bit array...).
        case unsupported
        /// The file could not be written.
        case cannotWrite
        /// The caller passed inconsistent values.
        case invalidArgument
    }

    public var kind: Kind
    /// The file (or, for in-memory data, the name the caller gave it).
    public var path: String
    /// What is wrong.
    public var problem: String
    /// How to fix it.
    public var hint: String

    public init(_ kind: Kind, path: String, problem: String, hint: String) {
        self.kind = kind
        self.path = path
        self.problem = problem
        self.hint = hint
    }

    public var description: String {
        hint.isEmpty ? "\(path): \(problem)" : "\(path): \(problem); \(hint)"
    }
}
