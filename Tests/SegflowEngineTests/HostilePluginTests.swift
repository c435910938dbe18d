import Foundation
import XCTest
import GRDB
import SegflowCore
@testable import SegflowEngine

/// Plugins that misbehave beyond the protocol (issue 13): writing outside their output folder, links
/// and folders where files belong, items without outputs, binary or endless lines on stdout, a child
/// that keeps stdout open. Each fails its node clearly (PluginWorkerTests.assertFails: nothing of the
/// call is committed) or, for the orphan, finishes without waiting for the child.
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
        let start = Date()
        try await assertFails(mode: "longline", containing: "a line of more than")
        XCTAssertLessThan(Date().timeIntervalSince(start), 2.5, "stopped at the line limit, not at the 3 s timeout")
    }

    func testAChildHoldingStdoutOpenDoesNotHoldTheRun() async throws {
        let start = Date()
        let (s, _) = try await run(mode: "orphan")
        XCTAssertEqual(s.node("labels")?.ran, 3, s.node("labels")?.error ?? "")
        XCTAssertLessThan(Date().timeIntervalSince(start), 2.5, "done when the worker exits, not when its child does")
    }
}
