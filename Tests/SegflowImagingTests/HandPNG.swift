import Foundation

/// PNG files written byte by byte (stored deflate blocks, no zlib), so hostile tests can say anything in
/// a header and the decoder is not checked against our own encoder.
enum HandPNG {
    /// A PNG of `rows` (each without its filter byte) with the given header fields.
    static func make(width: Int, height: Int, depth: Int, colorType: Int, rows: [[UInt8]],
                     palette: [(UInt8, UInt8, UInt8)]? = nil) -> Data {
        var raw: [UInt8] = []
        for r in rows { raw.append(0); raw += r }
        return make(width: width, height: height, depth: depth, colorType: colorType, idat: zlibStored(raw), palette: palette)
    }

    /// A PNG whose IDAT holds `idat` as given (e.g. too little data for the header's size).
    static func make(width: Int, height: Int, depth: Int, colorType: Int, idat: [UInt8],
                     palette: [(UInt8, UInt8, UInt8)]? = nil) -> Data {
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        out += chunk("IHDR", be32(UInt32(width)) + be32(UInt32(height)) + [UInt8(depth), UInt8(colorType), 0, 0, 0])
        if let palette { out += chunk("PLTE", palette.flatMap { [$0.0, $0.1, $0.2] }) }
        out += chunk("IDAT", idat)
        out += chunk("IEND", [])
        return Data(out)
    }

    /// zlib framing around stored (uncompressed) deflate blocks.
    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var i = 0
        repeat {
            let n = min(65535, data.count - i)
            let last: UInt8 = i + n >= data.count ? 1 : 0
            out += [last, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            out += data[i..<(i + n)]
            i += n
        } while i < data.count
        var a: UInt32 = 1, b: UInt32 = 0
        for v in data { a = (a + UInt32(v)) % 65521; b = (b + a) % 65521 }
        return out + be32(b << 16 | a)
    }

    static func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
        let t = Array(type.utf8)
        return be32(UInt32(body.count)) + t + body + be32(crc32(t + body))
    }

    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        return ~c
    }
}

/// This process's peak resident memory since the last `reset()` (Linux: VmHWM, reset through
/// /proc/self/clear_refs), so one decode's cost can be measured inside a test runner.
enum PeakMemory {
    /// Resets the peak to the current size; false where the kernel does not allow it.
    static func reset() -> Bool {
        guard let h = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? h.close() }
        return (try? h.write(contentsOf: Data("5".utf8))) != nil
    }

    /// `VmHWM` (peak) and `VmRSS` (now) in bytes.
    static func status() -> (peak: Int, now: Int) {
        let text = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        func field(_ name: String) -> Int {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
            return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
        }
        return (field("VmHWM"), field("VmRSS"))
    }

    /// How far the peak rose above the resident size while `body` ran.
    static func rise(_ body: () throws -> Void) rethrows -> Int? {
        guard reset() else { return nil }
        let before = status().now
        try body()
        return status().peak - before
    }
}
