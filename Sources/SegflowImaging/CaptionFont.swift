import CFontShim
import Foundation

/// A font for captions, rendered by FreeType: class names in any script the font covers (the terrain
/// vocabulary is often written in Chinese, e.g. 马路牙子 for curb). Where no such font is installed,
/// `drawCaption` falls back to the built-in 5x7 ASCII font.
///
/// One face serves every thread: FreeType faces are not thread-safe, so rendering takes a lock (a
/// caption is a few dozen glyphs; the lock is never the bottleneck of a contact sheet).
public final class CaptionFont: @unchecked Sendable {
    /// The font file and the face inside it (a `.ttc` collection holds several).
    public let path: String
    public let faceIndex: Int
    /// The nominal pixel height the face is set to.
    public let pixelHeight: Int
    /// Pixels above the baseline and from line to line.
    public let ascender: Int, lineHeight: Int
    private let face: OpaquePointer
    private let lock = NSLock()

    /// Opens `path` at `pixelHeight`; an `ImagingError` naming the file when FreeType cannot read it.
    public init(path: String, faceIndex: Int = 0, pixelHeight: Int) throws {
        var message = [CChar](repeating: 0, count: 256)
        guard let f = sf_face_open(path, Int32(faceIndex), Int32(max(1, pixelHeight)), &message, message.count) else {
            throw ImagingError(.cannotRead, path: path, problem: String(cString: message),
                               hint: "pass a TrueType/OpenType font file (.ttf, .otf, .ttc), or leave the font param empty to use an installed one")
        }
        face = f
        self.path = path; self.faceIndex = faceIndex; self.pixelHeight = max(1, pixelHeight)
        var a: Int32 = 0, h: Int32 = 0
        sf_face_metrics(f, &a, &h)
        ascender = Int(a); lineHeight = max(Int(h), 1)
    }

    deinit { sf_face_close(face) }

    /// The installed font fontconfig picks for Chinese captions that also covers Latin letters and
    /// digits (e.g. Debian's fonts-wqy-microhei or fonts-noto-cjk); nil when none is installed.
    /// Asked once per process (fontconfig reads its configuration and caches on first use).
    public static func installedCJK() -> (path: String, faceIndex: Int)? { cjk }

    private static let cjk: (path: String, faceIndex: Int)? = {
        // 马路牙子 (curb) and ASCII letters and digits: the font must draw both kinds of class names.
        let required = Array("马路牙子Aa0".unicodeScalars.map(\.value))
        var path = [CChar](repeating: 0, count: 4096)
        var index: Int32 = 0
        guard sf_font_find("sans-serif:lang=zh-cn", required, required.count, &path, path.count, &index) == 0 else { return nil }
        return (String(cString: path), Int(index))
    }()

    /// Whether the face has a glyph for every character of `s` (line breaks aside).
    public func covers(_ s: String) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return s.unicodeScalars.allSatisfy { $0 == "\n" || sf_face_has_glyph(face, $0.value) != 0 }
    }

    /// The width (the longest line's advances) and height (lines x line height) `draw` covers.
    public func size(of s: String) -> (width: Int, height: Int) {
        lock.lock(); defer { lock.unlock() }
        var widest = 0, lines = 1, pen = 0
        var g = sf_glyph()
        for u in s.unicodeScalars {
            if u == "\n" { widest = max(widest, pen); pen = 0; lines += 1; continue }
            if sf_face_render(face, u.value, &g) == 0 { pen += Int(g.advance) }
        }
        return (max(widest, pen), lines * lineHeight)
    }

    /// Draws `s` anti-aliased with its first line's top at `y` (baseline `y + ascender`), clipped to the image.
    public func draw(_ s: String, on img: inout RGBImage, x: Int, y: Int, color: (UInt8, UInt8, UInt8)) {
        lock.lock(); defer { lock.unlock() }
        var pen = x, baseline = y + ascender
        var g = sf_glyph()
        let ink = [Int(color.0), Int(color.1), Int(color.2)]
        let (width, height) = (img.width, img.height)
        img.pixels.withUnsafeMutableBufferPointer { px in
            for u in s.unicodeScalars {
                if u == "\n" { pen = x; baseline += lineHeight; continue }
                guard sf_face_render(face, u.value, &g) == 0 else { continue }
                let left = pen + Int(g.left), top = baseline - Int(g.top)
                for row in 0..<Int(g.rows) where (0..<height).contains(top + row) {
                    for col in 0..<Int(g.width) where (0..<width).contains(left + col) {
                        let a = Int(g.coverage[row * Int(g.pitch) + col])
                        guard a > 0 else { continue }
                        let o = ((top + row) * width + left + col) * 3
                        for c in 0..<3 { px[o + c] = UInt8((Int(px[o + c]) * (255 - a) + ink[c] * a + 127) / 255) }
                    }
                }
                pen += Int(g.advance)
            }
        }
    }
}

/// A caption on a black bar at the image's top-left corner: through `font` when given, else the
/// built-in 5x7 font at `scale` (`drawText`).
public func drawCaption(_ text: String, on img: inout RGBImage, font: CaptionFont?, scale: Int = 1) {
    if let font {
        let size = font.size(of: text)
        fillRect(on: &img, x: 0, y: 0, width: size.width + 6, height: size.height + 2, color: (0, 0, 0))
        font.draw(text, on: &img, x: 3, y: 1, color: (255, 255, 255))
    } else {
        let size = textSize(text, scale: scale)
        fillRect(on: &img, x: 0, y: 0, width: size.width + 6, height: size.height + 4, color: (0, 0, 0))
        drawText(text, on: &img, x: 3, y: 2, scale: scale)
    }
}
