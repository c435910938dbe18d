import Foundation

/// Where UTF-8 text first goes wrong, for an error at line:column.
enum UTF8Check {
    /// The first byte that does not start a well-formed UTF-8 sequence (overlong forms, surrogates and
    /// values above U+10FFFF included), with its 1-based line and column (in characters).
    static func firstInvalid(_ data: Data) -> (offset: Int, byte: UInt8, line: Int, column: Int) {
        let b = [UInt8](data)
        var i = 0, line = 1, column = 1
        while i < b.count {
            let c = b[i]
            var n = 0
            var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
            switch c {
            case 0x00...0x7F: n = 0
            case 0xC2...0xDF: n = 1
            case 0xE0: n = 2; lo = 0xA0
            case 0xE1...0xEC, 0xEE, 0xEF: n = 2
            case 0xED: n = 2; hi = 0x9F
            case 0xF0: n = 3; lo = 0x90
            case 0xF1...0xF3: n = 3
            case 0xF4: n = 3; hi = 0x8F
            default: return (i, c, line, column)
            }
            for k in 1...max(1, n) where n > 0 {
                let j = i + k
                guard j < b.count else { return (i, c, line, column) }
                let (l, h) = k == 1 ? (lo, hi) : (UInt8(0x80), UInt8(0xBF))
                guard b[j] >= l && b[j] <= h else { return (i, c, line, column) }
            }
            if c == 0x0A { line += 1; column = 1 } else { column += 1 }
            i += n + 1
        }
        return (b.count, 0, line, column)
    }
}
