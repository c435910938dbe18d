import Foundation
import SegflowCore
import SegflowGraph

/// Imports every file of a folder as one port value of a given type (`segflow exec` inputs):
/// an item set (`<stem>.<ext>` files) or a whole artifact (a model folder: `model.pt`, `meta.json`).
public struct FolderSource: SourceStage {
    public let descriptor: StageDescriptor

    public init(type: PortType) {
        descriptor = StageDescriptor(
            name: "folder\(type.rawValue)", version: 1, inputs: [], outputs: [PortSpec("files", type)],
            params: [ParamSpec("path", .directory, doc: "a folder of <stem>.<ext> files")],
            granularity: .source, summary: "Import a folder as \(type.rawValue).")
    }

    public func enumerate(params: [String: CanonicalValue]) throws -> [SourceFile] {
        let dir = params["path"]?.stringValue ?? ""
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        let folder = dir.hasSuffix("/") ? dir : dir + "/"
        return names.map { SourceFile(port: "files", name: $0, folder: folder) }
    }
}
