import Foundation
import XCTest
import SegflowTestSupport
import SegflowCore
import SegflowGraph
import SegflowStore
@testable import SegflowEngine

/// `results/` files are hard links to their objects (relative symlinks where a hard link cannot be
/// made): read-only, and still valid after the cache folder is moved (issue 15).
final class ResultLinksMoveTests: XCTestCase {
    var dir: String!
    let fm = FileManager.default

    override func setUpWithError() throws {
        dir = try makeTemporaryFolder("linkmove")
    }

    /// A node whose outputs are real objects in the workspace's store.
    func storedSummary(_ workspace: Workspace, _ files: [String: String]) throws -> NodeSummary {
        let tree = FileTree(try files.mapValues { try workspace.objects.ingest(data: Data($0.utf8)) })
        return NodeSummary(node: "cam=a/crf", stage: "crf", status: "ran", ran: 1, cached: 0, failed: 0, seconds: 0,
                           outputs: ["masks": tree], error: nil)
    }

    func content(_ path: String) -> String? { fm.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } }

    func assertValid(_ results: String, file: StaticString = #filePath, line: UInt = #line) throws {
        for (name, text) in ["a.png": "mask a", "b.png": "mask b"] {
            let p = results + "/p/cam=a/crf/masks/" + name
            XCTAssertEqual(content(p), text, "\(p)", file: file, line: line)
            var st = stat()   // through a symlink: the file it names
            XCTAssertEqual(stat(p, &st), 0, file: file, line: line)
            XCTAssertEqual(st.st_mode & 0o222, 0, "\(p) is read-only", file: file, line: line)
        }
    }

    func testHardLinkedResultsSurviveAMoveOfTheCache() throws {
        let ws = try Workspace(root: dir + "/cache")
        let node = try storedSummary(ws, ["a.png": "mask a", "b.png": "mask b"])
        try ResultLinks.refresh(workspace: ws, pipeline: "p", nodes: [node])
        let a = ws.resultsDirectory + "/p/cam=a/crf/masks/a.png"
        var st = stat()
        XCTAssertEqual(lstat(a, &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFREG, "a hard link, not a symlink")
        XCTAssertEqual(st.st_nlink, 2, "the object's own inode")
        try assertValid(ws.resultsDirectory)

        try fm.moveItem(atPath: dir + "/cache", toPath: dir + "/moved")
        try assertValid(dir + "/moved/results")
        // Reopened where it now is: the links are still right, so a cached run rewrites nothing.
        let moved = try Workspace(root: dir + "/moved")
        let before = try fm.attributesOfItem(atPath: moved.resultsDirectory + "/p")[.systemFileNumber] as? UInt64
        try ResultLinks.refresh(workspace: moved, pipeline: "p", nodes: [node])
        XCTAssertEqual(try fm.attributesOfItem(atPath: moved.resultsDirectory + "/p")[.systemFileNumber] as? UInt64, before)
    }

    func testSymlinkedResultsHaveRelativeTargetsThatSurviveAMove() throws {
        let ws = try Workspace(root: dir + "/cache")
        let node = try storedSummary(ws, ["a.png": "mask a", "b.png": "mask b"])
        try ResultLinks.refresh(workspace: ws, pipeline: "p", nodes: [node], style: .symlinks)
        let target = try fm.destinationOfSymbolicLink(atPath: ws.resultsDirectory + "/p/cam=a/crf/masks/a.png")
        let d = Digest.of(Data("mask a".utf8)).hex
        // results/p/cam=a/crf/masks/ is five folders below the cache root.
        XCTAssertEqual(target, "../../../../../objects/\(d.prefix(2))/\(d.dropFirst(2))")
        try assertValid(ws.resultsDirectory)
        // A partial run's update writes them at the same depth.
        try ResultLinks.update(workspace: ws, pipeline: "p", nodes: [node], style: .symlinks)
        try assertValid(ws.resultsDirectory)

        try fm.moveItem(atPath: dir + "/cache", toPath: dir + "/elsewhere")
        try assertValid(dir + "/elsewhere/results")
    }

    func testAResultWhoseObjectIsMissingFallsBackToASymlink() throws {
        let ws = try Workspace(root: dir + "/cache")
        let missing = Digest.of(Data("never stored".utf8))
        let node = NodeSummary(node: "crf", stage: "crf", status: "ran", ran: 1, cached: 0, failed: 0, seconds: 0,
                               outputs: ["masks": FileTree(["x.png": missing])], error: nil)
        try ResultLinks.refresh(workspace: ws, pipeline: "p", nodes: [node])
        let target = try fm.destinationOfSymbolicLink(atPath: ws.resultsDirectory + "/p/crf/masks/x.png")
        XCTAssertEqual(target, "../../../../objects/\(missing.hex.prefix(2))/\(missing.hex.dropFirst(2))")
    }
}
