import Foundation
import XCTest
import SegflowCore
@testable import SegflowStore

/// Execution records go in `executionBatch` rows per statement, with the run, node and status bound once per
/// slot: every row must still come back in order with its own values.
final class ExecutionRowsTests: XCTestCase {
    func testBatchedRowsComeBackInOrderWithTheirOwnValues() throws {
        let index = try Index(path: nil)
        let run = try index.beginRun(pipeline: "p", file: "p.yaml", command: "run")
        // Two full batches and a remainder; the node and status change mid-batch, an error and a nil key now and then.
        let count = 2 * Index.executionBatch + 7
        var records: [ExecutionRecord] = []
        for k in 0..<count {
            let failed = k % 3 == 0
            let key: Digest? = k % 5 == 0 ? nil : Digest.of(Data("\(k)".utf8))
            records.append(ExecutionRecord(node: k < 40 ? "images" : "labels", item: k % 9 == 0 ? nil : "item\(k)", key: key,
                                           status: failed ? "failed" : "ran", reason: "reason \(k)", duration: Double(k) / 4,
                                           error: failed ? "error \(k)" : nil))
        }
        try index.commit(results: [], executions: records, runID: run)
        try index.commit(results: [], executions: [records[1]], runID: run)
        let back = try index.executions(run: run)
        XCTAssertEqual(back.count, count + 1)
        for (k, (a, b)) in zip(records + [records[1]], back).enumerated() {
            XCTAssertEqual([a.node, a.item, a.status, a.reason, a.error], [b.node, b.item, b.status, b.reason, b.error], "row \(k)")
            XCTAssertEqual(a.key, b.key, "row \(k)")
            XCTAssertEqual(a.duration, b.duration, "row \(k)")
        }
        XCTAssertEqual(try index.executions(run: run, node: "labels").count, count - 40)
    }
}
