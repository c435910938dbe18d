import Foundation
import XCTest
@testable import SegflowImaging

final class DrawingTests: XCTestCase {
    func testJetEndpointsAndMiddle() {
        XCTAssertTrue(ColorMap.jet(0) == (0, 0, 128))
        XCTAssertTrue(ColorMap.jet(1) == (128, 0, 0))
        XCTAssertTrue(ColorMap.jet(-3) == (0, 0, 128))
        XCTAssertTrue(ColorMap.jet(.nan) == (0, 0, 128))
        XCTAssertTrue(ColorMap.jet(7) == (128, 0, 0))
        let mid = ColorMap.jet(0.5)
        XCTAssertEqual(mid.1, 255)
        XCTAssertEqual(Int(mid.0), 123, accuracy: 1)
        XCTAssertEqual(Int(mid.2), 123, accuracy: 1)
    }

    func testHeatmapOverlay() {
        let img = RGBImage(width: 2, height: 1, fill: (100, 100, 100))
        XCTAssertEqual(heatmapOverlay(image: img, map: [0, 1], alpha: 0), img)
        let full = heatmapOverlay(image: img, map: [0, 1], alpha: 1)
        XCTAssertTrue(full[0, 0] == (0, 0, 128))
        XCTAssertTrue(full[1, 0] == (128, 0, 0))
        let half = heatmapOverlay(image: img, map: [1, 1], alpha: 0.5)
        XCTAssertEqual(Int(half[0, 0].0), 114, accuracy: 1)
    }

    func testMaskOverlayLeavesIgnoreAndUnknownUnpainted() {
        let img = RGBImage(width: 3, height: 1, fill: (10, 20, 30))
        let mask = GrayImage(width: 3, height: 1, pixels: [1, 255, 2])
        let out = maskOverlay(image: img, mask: mask, colors: [1: (250, 0, 0), 255: (0, 250, 0)], alpha: 1)
        XCTAssertTrue(out[0, 0] == (250, 0, 0))
        XCTAssertTrue(out[1, 0] == (10, 20, 30))
        XCTAssertTrue(out[2, 0] == (10, 20, 30))
        let colored = colorize(mask: mask, colors: [1: (1, 2, 3), 2: (4, 5, 6)])
        XCTAssertEqual(colored.pixels, [1, 2, 3, 0, 0, 0, 4, 5, 6])
    }

    func testBilinearResize() {
        let img = RGBImage(width: 2, height: 1, pixels: [0, 0, 0, 200, 100, 50])
        let up = resized(img, width: 4, height: 2)
        XCTAssertEqual(up.width, 4)
        XCTAssertEqual(up.height, 2)
        XCTAssertTrue(up[0, 0] == (0, 0, 0))
        XCTAssertTrue(up[3, 1] == (200, 100, 50))
        XCTAssertTrue(up[1, 0] == (50, 25, 13) || up[1, 0] == (50, 25, 12))
        let flat = RGBImage(width: 5, height: 7, fill: (9, 99, 199))
        XCTAssertEqual(resized(flat, width: 3, height: 2), RGBImage(width: 3, height: 2, fill: (9, 99, 199)))
    }

    func testNearestResizeKeepsClassIds() {
        let mask = GrayImage(width: 2, height: 2, pixels: [1, 2, 3, 255])
        let up = resized(mask, width: 4, height: 4)
        XCTAssertEqual(up.pixels, [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 255, 255, 3, 3, 255, 255])
        XCTAssertEqual(resized(up, width: 2, height: 2), mask)
    }

    func testContactSheetSize() {
        let a = RGBImage(width: 40, height: 30, fill: (255, 0, 0))
        let b = RGBImage(width: 20, height: 15, fill: (0, 255, 0)) // scaled to 40x30
        let c = RGBImage(width: 30, height: 60, fill: (0, 0, 255)) // scaled to 15x30
        let sheet = contactSheet([a, b, c, a, b], columns: 2, gap: 4)
        XCTAssertEqual(sheet.width, 2 * 40 + 4)
        XCTAssertEqual(sheet.height, 3 * 30 + 2 * 4)
        XCTAssertTrue(sheet[0, 0] == (255, 0, 0))
        XCTAssertTrue(sheet[44, 0] == (0, 255, 0))
        XCTAssertTrue(sheet[42, 0] == (255, 255, 255))        // gap
        XCTAssertTrue(sheet[14, 34] == (0, 0, 255))           // c is 15 wide
        XCTAssertTrue(sheet[20, 34] == (255, 255, 255))       // rest of c's cell
        let one = contactSheet([a], columns: 5, gap: 4)
        XCTAssertEqual(one.width, 40)
        XCTAssertEqual(contactSheet([], columns: 3, gap: 2).width, 0)
    }

    func testDrawText() {
        var img = RGBImage(width: 40, height: 10)
        drawText("Hi!", on: &img, x: 1, y: 1, color: (255, 255, 0))
        // 'H': full left column, crossbar on row 3.
        for row in 0..<7 { XCTAssertTrue(img[1, 1 + row] == (255, 255, 0)) }
        XCTAssertTrue(img[3, 4] == (255, 255, 0))
        XCTAssertTrue(img[3, 1] == (0, 0, 0))
        let lit = stride(from: 0, to: img.pixels.count, by: 3).filter { img.pixels[$0] != 0 }.count
        XCTAssertGreaterThan(lit, 20)
        // Scaled and clipped text never writes outside the image.
        drawText("CLIPPED text 0123 ~", on: &img, x: 30, y: 5, scale: 3)
        XCTAssertTrue(textSize("ab\ncde", scale: 2) == (34, 30))
    }

    func testFontCoversPrintableASCII() {
        XCTAssertEqual(font5x7.count, 95 * 7)
        for code in 33...126 {
            let rows = font5x7[(code - 32) * 7 ..< (code - 31) * 7]
            XCTAssertTrue(rows.contains { $0 != 0 }, "glyph \(code) is blank")
            XCTAssertTrue(rows.allSatisfy { $0 < 32 }, "glyph \(code) wider than 5")
        }
    }
}
