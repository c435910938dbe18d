import Foundation
import XCTest
@testable import SegflowImaging

/// Captions through FreeType with an installed CJK font (issue 15): 马路牙子 (curb) draws four real,
/// distinct glyphs, where the 5x7 fallback font can only draw "????".
final class CaptionFontTests: XCTestCase {
    /// The installed CJK font: `make deps` installs fonts-wqy-microhei and fontconfig.
    func installedFont(pixelHeight: Int) throws -> CaptionFont {
        let found = try XCTUnwrap(CaptionFont.installedCJK(), "no CJK font found by fontconfig: run `make deps` (fonts-wqy-microhei)")
        return try CaptionFont(path: found.path, faceIndex: found.faceIndex, pixelHeight: pixelHeight)
    }

    /// Lit pixels (red channel above 64) in columns `x0..<x1`.
    func ink(_ img: RGBImage, columns: Range<Int>) -> [Int] {
        var lit: [Int] = []
        for y in 0..<img.height { for x in columns where img[x, y].0 > 64 { lit.append(y * img.width + x) } }
        return lit
    }

    func testAChineseClassNameRendersItsOwnGlyphs() throws {
        let font = try installedFont(pixelHeight: 24)
        XCTAssertTrue(font.covers("马路牙子 curb"))
        let text = "马路牙子"
        var img = RGBImage(width: 140, height: 40)
        font.draw(text, on: &img, x: 4, y: 4, color: (255, 255, 255))
        let size = font.size(of: text)
        XCTAssertGreaterThanOrEqual(size.width, 4 * 20, "four full-width glyphs at 24 px")
        XCTAssertLessThanOrEqual(size.width, 4 * 26)
        // Each glyph's cell (the advance is the same for the four) holds ink, and no two are the same
        // shape: a font without them would draw four identical .notdef boxes.
        let cell = size.width / 4
        var shapes: [[Int]] = []
        for k in 0..<4 {
            let lit = ink(img, columns: (4 + k * cell)..<(4 + (k + 1) * cell))
            XCTAssertGreaterThan(lit.count, 30, "glyph \(k) of \(text) is (nearly) empty")
            shapes.append(lit.map { $0 - 4 - k * cell })
        }
        XCTAssertEqual(Set(shapes).count, 4, "the four glyphs must differ")
        // Anti-aliased: FreeType's coverage gives grey edge pixels, the bitmap font never does.
        XCTAssertTrue(stride(from: 0, to: img.pixels.count, by: 3).contains { (1...254).contains(img.pixels[$0]) })
    }

    func testCaptionsFallBackToTheBitmapFontWithoutAFont() throws {
        var withBitmap = RGBImage(width: 60, height: 20, fill: (90, 90, 90))
        drawCaption("road", on: &withBitmap, font: nil, scale: 1)
        var expected = RGBImage(width: 60, height: 20, fill: (90, 90, 90))
        fillRect(on: &expected, x: 0, y: 0, width: textSize("road").width + 6, height: textSize("road").height + 4, color: (0, 0, 0))
        drawText("road", on: &expected, x: 3, y: 2)
        XCTAssertEqual(withBitmap, expected)

        XCTAssertThrowsError(try CaptionFont(path: "/nonexistent/font.ttf", pixelHeight: 12)) { e in
            XCTAssertTrue("\(e)".hasPrefix("/nonexistent/font.ttf: "), "\(e)")
        }
        let notAFont = NSTemporaryDirectory() + "segflow-notafont-\(UUID().uuidString.prefix(8)).ttf"
        try Data("hello".utf8).write(to: URL(fileURLWithPath: notAFont))
        defer { try? FileManager.default.removeItem(atPath: notAFont) }
        XCTAssertThrowsError(try CaptionFont(path: notAFont, pixelHeight: 12))
    }

    func testACaptionBarFitsItsText() throws {
        let font = try installedFont(pixelHeight: 12)
        var img = RGBImage(width: 120, height: 40, fill: (200, 200, 200))
        drawCaption("马路牙子 curb", on: &img, font: font, scale: 1)
        let size = font.size(of: "马路牙子 curb")
        XCTAssertTrue(img[size.width + 5, 1] == (0, 0, 0), "the bar covers the text")
        XCTAssertTrue(img[size.width + 7, 1] == (200, 200, 200), "and ends after it")
        let bar = (0..<(size.height + 2)).flatMap { y in (0..<(size.width + 6)).map { x in img[x, y].0 } }
        XCTAssertGreaterThan(bar.filter { $0 > 128 }.count, 40, "white text on the black bar")
    }
}
