import Foundation
import XCTest
import GRDB
import SegflowCore
@testable import SegflowEngine

/// Plugins that misbehave beyond the protocol (issue 13): writing outside their output folder, links
/// and folders where files belong, items without outputs, binary or endless lines on stdout. Each
/// fails its node clearly (PluginWorkerTests.assertFails: nothing of the call is committed).
extension PluginWorkerTests {
    func testWritingBesideTheOutputFolderFailsTheNode() async throws {
        try await assertFails(mode: "outside", containing: "wrote \"escaped.json\" outside its output folder")
        try await assertFails(mode: "strayport", containing: "wrote \"extra\" in its output folder, which is not one of its ports")
    }

    func testALinkOrAFolderInsteadOfAFileFailsTheNode() async throws {
        // A link to a file elsewhere would make an object whose bytes can change under its digest.
        try await assertFails(mode: "symlink", containing: "wrote 'labels/im0.json' as a symbolic link, not a regular file")
        try await assertFails(mode: "dangling", containing: "wrote 'labels/im0.json' as a symbolic link")
        try await assertFails(mode: "folder", containing: "wrote 'labels/sub.json' as a folder")
    }

    func testAResultWithoutAnItemsFileFailsTheNode() async throws {
        try await assertFails(mode: "missing", containing: "the stage wrote no 'labels' output for this item")
    }

    func testBinaryAndEndlessLinesOnStdout() async throws {
        try await assertFails(mode: "binary", containing: "not a protocol event")
        // Stopped at the line limit (16 MiB), not at the 3 s timeout with 64 MiB buffered.
        try await assertFails(mode: "longline", containing: "a line of more than 16 MiB without a line break")
    }
}
