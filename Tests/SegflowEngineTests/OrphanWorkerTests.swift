import Foundation
import XCTest
import SegflowCore
@testable import SegflowEngine

/// A plugin worker that leaves a child behind holding its stdout (a data-loader process, a shell
/// pipeline's tail): the run must end when the worker does, with the worker's result or its failure,
/// and the child must not outlive the call (RELIABILITY.md, "Hostile plugins").
extension PluginWorkerTests {
    func testAChildLeftHoldingStdoutNeitherHoldsTheRunNorOutlivesIt() async throws {
        let t0 = Date()
        let (s, _) = try await run(mode: "orphan")
        let seconds = Date().timeIntervalSince(t0)
        XCTAssertEqual(s.node("labels")?.status, "ran", s.node("labels")?.error ?? "")
        XCTAssertEqual(s.node("labels")?.ran, 3)
        // The child sleeps 30 s: waiting for the pipe's end of file would take that long.
        XCTAssertLessThan(seconds, 10, "the run waited for the worker's child")
        try assertOrphanGone()
    }

    func testAFailingWorkersChildNeitherHoldsTheRunNorOutlivesIt() async throws {
        let t0 = Date()
        try await assertFails(mode: "orphanfail", containing: "exited with status 3")
        XCTAssertLessThan(Date().timeIntervalSince(t0), 10, "the run waited for the worker's child")
        try assertOrphanGone()
    }

    /// The child whose pid the fake worker wrote is gone (or a zombie: exited, awaiting its reaper).
    func assertOrphanGone() throws {
        let text = try String(contentsOfFile: dir + "/orphan.pid", encoding: .utf8)
        let pid = try XCTUnwrap(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        let deadline = Date().addingTimeInterval(2)
        while Self.isAlive(pid) && Date() < deadline { usleep(20_000) }
        let alive = Self.isAlive(pid)
        if alive { Foundation.kill(pid, SIGKILL) }
        XCTAssertFalse(alive, "the worker's child \(pid) outlived the call")
    }

    static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(close, offsetBy: 2)] != "Z"
    }
}
