import Foundation
import GRDB
import GRDBSQLite
import SegflowCore

/// One prepared write statement stepped through SQLite's C API: a dataset import writes tens of thousands
/// of rows in one transaction, and binding each value through GRDB (`StatementArguments`, a
/// `DatabaseValue` per column) cost more than SQLite's own insert. Use inside `Index.write` only.
struct RawStatement {
    /// Keeps the statement alive (GRDB finalizes it when this goes).
    private let statement: Statement
    private let s: SQLiteStatement
    private let db: Database

    /// `cached: false` for a statement used once (a migration's, on a table it renames).
    init(_ db: Database, _ sql: String, cached: Bool = true) throws {
        statement = try cached ? db.cachedStatement(sql: sql) : db.makeStatement(sql: sql)
        s = statement.sqliteStatement
        self.db = db
        sqlite3_reset(s); sqlite3_clear_bindings(s)
    }

    /// SQLite copies the bytes before `bind` returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    func bind(_ i: Int32, _ v: Int64) { sqlite3_bind_int64(s, i, v) }
    func bind(_ i: Int32, _ v: Double) { sqlite3_bind_double(s, i, v) }
    func bind(_ i: Int32, _ v: Bool) { sqlite3_bind_int64(s, i, v ? 1 : 0) }

    func bind(_ i: Int32, _ text: String?) {
        guard var text else { sqlite3_bind_null(s, i); return }
        text.withUTF8 { sqlite3_bind_text(s, i, UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), Int32($0.count), Self.transient) }
    }

    /// A digest as its 64 hex characters (the index's text form), without a `String`.
    func bind(_ i: Int32, hex d: Digest?) {
        guard let d else { sqlite3_bind_null(s, i); return }
        withUnsafeTemporaryAllocation(byteCount: 64, alignment: 8) { buf in
            d.writeHex(into: buf)
            sqlite3_bind_text(s, i, buf.baseAddress!.assumingMemoryBound(to: CChar.self), 64, Self.transient)
        }
    }

    /// A digest as its 32 raw bytes (how fingerprints and migrations store a digest).
    func bind(_ i: Int32, raw d: Digest) {
        d.withUnsafeBytes { _ = sqlite3_bind_blob(s, i, $0.baseAddress, 32, Self.transient) }
    }

    /// Bytes as a blob; empty ones as a zero-length blob (a NULL pointer would bind NULL).
    func bind(_ i: Int32, blob: Data) {
        blob.withUnsafeBytes { b in
            _ = b.isEmpty ? sqlite3_bind_zeroblob(s, i, 0) : sqlite3_bind_blob(s, i, b.baseAddress, Int32(b.count), Self.transient)
        }
    }

    /// Runs the statement with the values bound, then resets it for the next row.
    func step() throws {
        let rc = sqlite3_step(s)
        sqlite3_reset(s)
        guard rc == SQLITE_DONE || rc == SQLITE_ROW else {
            throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
    }
}
