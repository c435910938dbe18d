import Foundation
import XCTest
import SegflowTestSupport
import SegflowCore
import SegflowGraph
import SegflowStore
@testable import SegflowEngine

/// `results/` after killed and concurrent runs (issue 13): what a dead run left is swept, what a live
/// run is building is not, and runs of one pipeline finishing at once never fail or leave debris.
final class ResultLinksTests: XCTestCase {
    var dir: String!
    var workspace: Workspace!
    let fm = FileManager.default

    override func setUpWithError() throws {
        dir = try makeTemporaryFolder("links")
        workspace = try Workspace(root: dir + "/cache")
    }

    func summary(_ node: String, _ files: [String: String]) -> NodeSummary {
        let tree = FileTree(files.mapValues { Digest.of(Data($0.utf8)) })
        return NodeSummary(node: node, stage: "s", status: "ran", ran: 1, cached: 0, failed: 0, seconds: 0,
                           outputs: ["masks": tree], error: nil)
    }

    func entries(_ path: String) -> [String] { ((try? fm.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    /// Folders as a run killed mid-refresh leaves them: staging, swapped-out and per-node folders, in the
    /// names of older segflow versions and of this one.
    func plantLeftovers(of pipeline: String) throws {
        let results = workspace.resultsDirectory
        for d in [".\(pipeline)-17B06BDB", "\(pipeline).old-70BEF171", ".\(pipeline)+new-1A2B3C4D", ".\(pipeline)+old-5E6F7A8B",
                  "\(pipeline)/crf.new-12345678", "\(pipeline)/crf.old-9ABCDEF0", "\(pipeline)/.crf+new-0F1E2D3C",
                  "\(pipeline)/.crf+old-4B5A6978", "\(pipeline)/cam=a/crf.old-13579BDF", "\(pipeline)/cam=a/.crf+new-2468ACE0"] {
            try fm.createDirectory(atPath: results + "/" + d + "/masks", withIntermediateDirectories: true)
            symlink("/nowhere", results + "/" + d + "/masks/a.png")
        }
    }

    func testTheNextRunSweepsWhatKilledRunsLeft() throws {
        try plantLeftovers(of: "p")
        try plantLeftovers(of: "other")
        try ResultLinks.refresh(workspace: workspace, pipeline: "p", nodes: [summary("crf", ["a.png": "1"])])
        XCTAssertEqual(entries(workspace.resultsDirectory), ["other", "p"], "every pipeline's leftovers are swept")
        XCTAssertEqual(entries(workspace.resultsDirectory + "/p"), [".segflow-links", "crf"])
        XCTAssertEqual(entries(workspace.resultsDirectory + "/other"), ["cam=a"])
        XCTAssertEqual(entries(workspace.resultsDirectory + "/other/cam=a"), [], "variant folders are swept too")
        XCTAssertEqual(entries(workspace.resultsDirectory + "/p/crf/masks"), ["a.png"])

        // A cached rerun (same links: nothing rewritten) still sweeps; so does a partial run.
        try plantLeftovers(of: "p")
        try ResultLinks.refresh(workspace: workspace, pipeline: "p", nodes: [summary("crf", ["a.png": "1"])])
        XCTAssertEqual(entries(workspace.resultsDirectory), ["other", "p"])
        // (The planted variant folder stays: only the leftovers in it go.)
        XCTAssertEqual(entries(workspace.resultsDirectory + "/p"), [".segflow-links", "cam=a", "crf"])
        XCTAssertEqual(entries(workspace.resultsDirectory + "/p/cam=a"), [])
        try plantLeftovers(of: "p")
        try ResultLinks.update(workspace: workspace, pipeline: "p", nodes: [summary("crf", ["b.png": "2"])])
        XCTAssertEqual(entries(workspace.resultsDirectory), ["other", "p"])
        XCTAssertEqual(entries(workspace.resultsDirectory + "/p"), ["cam=a", "crf"])
        XCTAssertEqual(entries(workspace.resultsDirectory + "/p/cam=a"), [])
        XCTAssertEqual(entries(workspace.resultsDirectory + "/p/crf/masks"), ["b.png"])
        // A variant's node (`variant/stage`) is swapped inside the variant's folder.
        try ResultLinks.update(workspace: workspace, pipeline: "p", nodes: [summary("cam=b/crf", ["c.png": "3"])])
        XCTAssertEqual(entries(workspace.resultsDirectory + "/p/cam=b"), ["crf"])
        XCTAssertEqual(entries(workspace.resultsDirectory + "/p/cam=b/crf/masks"), ["c.png"])
    }

    func testWhatALiveRunOwnsIsLeftAlone() throws {
        try plantLeftovers(of: "busy")
        // Another run of `busy` is writing its links: it holds the pipeline's lock.
        let held = try FileLock.acquire(ResultLinks.lockPath(workspace: workspace, pipeline: "busy"))
        try ResultLinks.refresh(workspace: workspace, pipeline: "p", nodes: [summary("crf", ["a.png": "1"])])
        XCTAssertEqual(entries(workspace.resultsDirectory).count, 6, "\(entries(workspace.resultsDirectory))")
        XCTAssertEqual(entries(workspace.resultsDirectory + "/busy").count, 5)
        held.release()
        try ResultLinks.refresh(workspace: workspace, pipeline: "p", nodes: [summary("crf", ["a.png": "1"])])
        XCTAssertEqual(entries(workspace.resultsDirectory), ["busy", "p"])
    }

    func testRunsOfOnePipelineFinishingAtOnceAllSucceed() throws {
        var failures: [String] = []
        for trial in 0..<40 {
            let count = 2 + trial % 3
            // Each run on its own workspace handle (as separate processes would be), released together.
            let workspaces = try (0..<count).map { _ in try Workspace(root: dir + "/cache") }
            let outcomes = workspaces.map { _ in Outcome() }
            let go = DispatchSemaphore(value: 0), done = DispatchGroup()
            for (i, ws) in workspaces.enumerated() {
                done.enter()
                let outcome = outcomes[i]
                Thread {
                    go.wait()
                    let files = Dictionary(uniqueKeysWithValues: (0..<10).map { ("\($0).png", "\(trial)-\(i)-\($0)") })
                    do {
                        try ResultLinks.refresh(workspace: ws, pipeline: "p", nodes: [self.summary("crf", files), self.summary("cam", files)])
                    } catch {
                        outcome.error = "trial \(trial) run \(i): \(error)"
                    }
                    done.leave()
                }.start()
            }
            for _ in workspaces { go.signal() }
            done.wait()
            failures += outcomes.compactMap(\.error)
            XCTAssertEqual(entries(workspace.resultsDirectory), ["p"], "trial \(trial)")
            XCTAssertEqual(entries(workspace.resultsDirectory + "/p"), [".segflow-links", "cam", "crf"], "trial \(trial)")
            XCTAssertEqual(entries(workspace.resultsDirectory + "/p/crf/masks").count, 10)
        }
        XCTAssertEqual(failures, [], failures.prefix(3).joined(separator: "\n"))
    }

    /// What one thread's run threw; read after the threads are done.
    final class Outcome: @unchecked Sendable { var error: String? }
}
