/// A streaming JSON writer: values are appended as bytes to a buffer that is handed to `sink` every
/// `chunk` bytes, so a 10k-item document is never built as one object tree (Foundation's
/// JSONSerialization needs the whole tree of `Any` first, and escapes `/` as `\/`).
///
/// Pretty-printed like JSONSerialization's `.prettyPrinted` (two-space indent, `"key" : value`); an
/// empty array or object is written `[]` / `{}`. The caller writes keys in the order it wants (sorted,
/// for stable snapshots); the writer checks nothing of the structure but commas and indentation.
public struct JSONWriter {
    private var buffer: [UInt8] = []
    private let sink: ([UInt8]) -> Void
    private let chunk: Int
    /// Per open container: whether it has had a member yet.
    private var open: [Bool] = []
    /// After a key: the next value goes on the same line.
    private var afterKey = false

    public init(chunk: Int = 1 << 16, sink: @escaping ([UInt8]) -> Void) {
        self.chunk = chunk; self.sink = sink
        buffer.reserveCapacity(chunk + 1024)
    }

    // MARK: - Structure

    public mutating func beginObject() { beginValue(); buffer.append(UInt8(ascii: "{")); open.append(false) }
    public mutating func endObject() { end(UInt8(ascii: "}")) }
    public mutating func beginArray() { beginValue(); buffer.append(UInt8(ascii: "[")); open.append(false) }
    public mutating func endArray() { end(UInt8(ascii: "]")) }

    /// A member name inside an object; the next call writes its value.
    public mutating func key(_ k: String) {
        separate()
        appendString(k)
        buffer.append(contentsOf: [0x20, UInt8(ascii: ":"), 0x20])
        afterKey = true
    }

    // MARK: - Values

    public mutating func string(_ s: String) { beginValue(); appendString(s) }
    public mutating func int(_ v: Int) { beginValue(); buffer.append(contentsOf: String(v).utf8) }
    public mutating func bool(_ v: Bool) { beginValue(); buffer.append(contentsOf: (v ? "true" : "false").utf8) }
    public mutating func null() { beginValue(); buffer.append(contentsOf: "null".utf8) }
    /// A value already encoded as compact JSON text (a recorded param), written as is.
    public mutating func raw(_ json: String) { beginValue(); buffer.append(contentsOf: json.utf8) }

    /// An array of strings, in one call.
    public mutating func strings(_ values: [String]) {
        beginArray()
        for v in values { string(v) }
        endArray()
    }

    /// Hands what is buffered to the sink; call once at the end.
    public mutating func flush() {
        if !buffer.isEmpty { sink(buffer); buffer.removeAll(keepingCapacity: true) }
    }

    // MARK: - Layout

    private mutating func beginValue() {
        if afterKey { afterKey = false; return }
        separate()
    }

    /// A comma after the previous member, then a new line at the current depth.
    private mutating func separate() {
        guard !open.isEmpty else { return }
        if open[open.count - 1] { buffer.append(UInt8(ascii: ",")) }
        open[open.count - 1] = true
        newline(depth: open.count)
        if buffer.count >= chunk { flush() }
    }

    private mutating func end(_ close: UInt8) {
        let hadMembers = open.removeLast()
        if hadMembers { newline(depth: open.count) }
        buffer.append(close)
    }

    private mutating func newline(depth: Int) {
        buffer.append(0x0A)
        for _ in 0..<depth { buffer.append(0x20); buffer.append(0x20) }
    }

    private mutating func appendString(_ s: String) {
        buffer.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): buffer.append(contentsOf: [0x5C, b])
            case 0x5C: buffer.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: buffer.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: buffer.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: buffer.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x08: buffer.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: buffer.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                buffer.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0xF)]])
            default: buffer.append(b)  // UTF-8 passes through; `/` is not escaped
            }
        }
        buffer.append(UInt8(ascii: "\""))
    }
}
