import Foundation
import SegflowCore
import SegflowGraph

/// `labelFile`: image-level ground truth from a CSV (`stem,label;label`), as Labels items.
/// Used to score VLM labelling (labelEval) when no masks exist.
public struct LabelFileStage: SourceStage {
    public init() {}
    public let descriptor = StageDescriptor(
        name: "labelFile", version: 1, inputs: [], outputs: [PortSpec("labels", .labels)],
        params: [ParamSpec("file", .file, doc: "CSV of 'stem,label;label' lines, relative to the pipeline file")],
        granularity: .source, summary: "Import image-level labels from a CSV file.")

    /// One `<stem>.json` per line, as content (nothing is written: a plan only reads).
    public func enumerate(params: [String: CanonicalValue]) throws -> [SourceFile] {
        let path = params["file"]?.stringValue ?? ""
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SegflowError.user("labelFile: cannot read \(path)", hint: "check the 'file' param")
        }
        var out: [SourceFile] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || (n == 0 && line.lowercased().hasPrefix("stem,")) { continue }
            guard let comma = line.firstIndex(of: ",") else {
                throw SegflowError.user("\(path):\(n + 1): expected 'stem,label;label', found '\(line)'", hint: "separate the stem from the labels with a comma")
            }
            let stem = line[..<comma].trimmingCharacters(in: .whitespaces)
            let labels = line[line.index(after: comma)...].split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let json = "[" + labels.map(JSONText.quote).joined(separator: ",") + "]"
            out.append(SourceFile(port: "labels", name: "\(stem).json", content: Data(json.utf8), origin: "\(path):\(n + 1)"))
        }
        return out
    }
}
