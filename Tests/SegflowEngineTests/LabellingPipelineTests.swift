import Foundation
import XCTest
import SegflowCore
import SegflowGraph
import SegflowSpec
import SegflowStages
@testable import SegflowEngine

/// The repository's labelling pipelines validate and plan as committed (no videos yet: no items),
/// with the real torch plugin's stage table, and wire what their READMEs say they wire.
final class LabellingPipelineTests: XCTestCase {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    func testClipLabelIsDeclaredWithItsListAndFileParams() throws {
        let plugin = try Plugin.load(directory: Self.repo + "/plugins/torch")
        let clip = try XCTUnwrap(plugin.stages.first { $0.name == "clipLabel" })
        XCTAssertEqual(clip.outputs.map(\.typeName), ["Labels", "Scores"])
        XCTAssertEqual(clip.param("templates")?.type, .stringList)
        XCTAssertEqual(clip.param("templates")?.defaultValue, .list([.string("a photo of {}.")]))
        XCTAssertEqual(clip.param("checkpoint")?.type, .file)
        XCTAssertEqual(clip.param("threshold")?.defaultValue, .double(0.2))
    }
}
