import Foundation
import GRDB

extension Index {
    /// Rows per statement: a statement's own work (a step, a reset, the halt) was a fifth of inserting a
    /// 10k-item import's records one row at a time.
    static let executionBatch = 32

    /// Inserts execution records in their order (`ORDER BY rowid` reads them back so), `executionBatch` rows
    /// per statement, inside the caller's transaction.
    static func insertExecutions(_ executions: [ExecutionRecord], runID: Int64, into db: Database) throws {
        guard !executions.isEmpty else { return }
        let row = "(?,?,?,?,?,?,?,?)"
        let sql = "INSERT INTO executions (run_id, node, item, key, status, reason, duration, error) VALUES "
        var one = try Rows(RawStatement(db, sql + row), rows: 1, runID: runID)
        var many = executions.count >= executionBatch
            ? try Rows(RawStatement(db, sql + Array(repeating: row, count: executionBatch).joined(separator: ",")),
                       rows: executionBatch, runID: runID)
            : nil
        var k = 0
        while many != nil, executions.count - k >= executionBatch {
            for j in 0..<executionBatch { many!.bind(executions[k + j], row: j) }
            try many!.statement.step()
            k += executionBatch
        }
        while k < executions.count {
            one.bind(executions[k], row: 0)
            try one.statement.step()
            k += 1
        }
    }

    /// A statement of `rows` rows and what its slots hold. A statement keeps its bindings from step to step:
    /// the run, node and status (the same for a whole import) are bound once per slot, not per row (each text
    /// bind is a copy).
    private struct Rows {
        static let columns = 8
        let statement: RawStatement
        var node: [String?], status: [String?]
        init(_ statement: RawStatement, rows: Int, runID: Int64) {
            self.statement = statement
            node = Array(repeating: nil, count: rows); status = node
            for r in 0..<rows { statement.bind(Int32(r * Self.columns + 1), runID) }
        }

        mutating func bind(_ e: ExecutionRecord, row r: Int) {
            let base = Int32(r * Self.columns)
            if e.node != node[r] { statement.bind(base + 2, e.node); node[r] = e.node }
            if e.status != status[r] { statement.bind(base + 5, e.status); status[r] = e.status }
            statement.bind(base + 3, e.item); statement.bind(base + 4, hex: e.key); statement.bind(base + 6, e.reason)
            statement.bind(base + 7, e.duration); statement.bind(base + 8, e.error)
        }
    }
}
