import Foundation
import XCTest
@testable import SegflowImaging

final class PNGTests: XCTestCase {
    // MARK: - Round trips

    func testRGBRoundTrip() throws {
        let dir = try temporaryFolder(self)
        var img = RGBImage(width: 7, height: 5)
        for i in 0..<img.pixels.count { img.pixels[i] = UInt8((i * 37) % 256) }
        let path = dir.appendingPathComponent("rgb.png").path
        try ImageIO.writePNG(img, to: path)
        XCTAssertEqual(try ImageIO.readRGB(path: path), img)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertTrue(pngDepthAndType(data) == (8, 2))
        XCTAssertTrue(try ImageIO.imageSize(path: path) == (7, 5))
    }

    func testGrayRoundTripKeepsValues() throws {
        let dir = try temporaryFolder(self)
        let mask = GrayImage(width: 4, height: 3, pixels: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 255])
        let path = dir.appendingPathComponent("mask.png").path
        try ImageIO.writePNG(mask, to: path)
        XCTAssertEqual(try ImageIO.readMask(path: path), mask)
        XCTAssertTrue(pngDepthAndType(try Data(contentsOf: URL(fileURLWithPath: path))) == (8, 0))
        // Read as RGB, gray expands to three equal channels.
        let rgb = try ImageIO.readRGB(path: path)
        XCTAssertTrue(rgb[3, 2] == (255, 255, 255))
        XCTAssertTrue(rgb[1, 0] == (1, 1, 1))
    }

    func testFourColourPaletteIsEightBitAndRereadsAsIndices() throws {
        let dir = try temporaryFolder(self)
        let indices = GrayImage(width: 5, height: 2, pixels: [0, 1, 2, 3, 1, 3, 2, 1, 0, 2])
        let palette: [(UInt8, UInt8, UInt8)] = [(0, 0, 0), (128, 0, 0), (0, 128, 0), (128, 128, 0)]
        let path = dir.appendingPathComponent("pal.png").path
        try ImageIO.writePalettePNG(indices, palette: palette, to: path)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let (depth, type) = pngDepthAndType(data)
        XCTAssertEqual(depth, 8, "palette PNGs must be written at bit depth 8")
        XCTAssertEqual(type, 3)
        XCTAssertEqual(try ImageIO.readMask(path: path), indices)
        let header = try ImageIO.header(path: path)
        XCTAssertEqual(header.colorType, .palette)
        XCTAssertEqual(header.palette.count, 4)
        XCTAssertTrue(header.palette[1] == (128, 0, 0))
        // As RGB the palette is applied.
        XCTAssertTrue(try ImageIO.readRGB(path: path)[3, 0] == (128, 128, 0))
    }

    func testPaletteIsExtendedToCoverIgnoreIndex() throws {
        let indices = GrayImage(width: 2, height: 1, pixels: [1, 255])
        let data = try ImageIO.encodePalettePNG(indices, palette: [(1, 2, 3), (4, 5, 6)])
        XCTAssertEqual(try ImageIO.decodeMask(data: data, name: "mem"), indices)
    }

    func testInMemoryRoundTrip() throws {
        let img = RGBImage(width: 3, height: 2, fill: (9, 8, 7))
        let data = try ImageIO.encodePNG(img, level: 1)
        XCTAssertEqual(try ImageIO.decodeRGB(data: data, name: "mem"), img)
    }

    // MARK: - Fixture variants (written by hand, not by our encoder)

    func testRGBADropsAlpha() throws {
        let img = try ImageIO.readRGB(path: Fixture.path("rgba.png"))
        XCTAssertEqual(img.width, 3)
        XCTAssertEqual(img.pixels, [10, 20, 30, 40, 50, 60, 70, 80, 90, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    }

    func testSixteenBitRGBScaledToEight() throws {
        let img = try ImageIO.readRGB(path: Fixture.path("rgb16.png"))
        XCTAssertEqual(img.pixels, [255, 128, 0, 18, 1, 254])
    }

    func testAdam7Interlaced() throws {
        let img = try ImageIO.readRGB(path: Fixture.path("interlaced.png"))
        XCTAssertEqual(img.width, 7)
        XCTAssertEqual(img.height, 5)
        for y in 0..<5 {
            for x in 0..<7 { XCTAssertTrue(img[x, y] == (UInt8(x * 30), UInt8(y * 50), 7), "(\(x), \(y))") }
        }
    }

    func testGrayMaskValues() throws {
        let m = try ImageIO.readMask(path: Fixture.path("gray.png"))
        XCTAssertEqual(m, GrayImage(width: 4, height: 2, pixels: [0, 1, 2, 255, 11, 10, 9, 8]))
    }

    func testTwoBitPaletteReadsAsIndices() throws {
        let m = try ImageIO.readMask(path: Fixture.path("palette_2bit.png"))
        XCTAssertEqual(m, GrayImage(width: 5, height: 2, pixels: [0, 1, 2, 3, 1, 3, 2, 1, 0, 2]))
    }

    func testReadIndexedGivesIndicesAndPalette() throws {
        let (indices, palette) = try ImageIO.readIndexed(path: Fixture.path("palette_2bit.png"))
        XCTAssertEqual(indices.pixels, [0, 1, 2, 3, 1, 3, 2, 1, 0, 2])
        XCTAssertEqual(palette.count, 4)
        XCTAssertTrue(palette[3] == (128, 128, 0))
        XCTAssertTrue(try ImageIO.readIndexed(path: Fixture.path("gray.png")).palette.isEmpty)
    }

    func testSixteenBitAndGrayAlphaMasks() throws {
        XCTAssertEqual(try ImageIO.readMask(path: Fixture.path("gray16.png")).pixels, [0, 7, 255])
        XCTAssertEqual(try ImageIO.readMask(path: Fixture.path("gray_alpha.png")).pixels, [5, 6])
        let big = Fixture.path("gray16_big.png")
        assertImagingError(try ImageIO.readMask(path: big), kind: .unsupported, path: big, contains: ["300"])
    }

    func testRGBPNGIsNotAMask() {
        let p = Fixture.path("rgb_mask.png")
        assertImagingError(try ImageIO.readMask(path: p), kind: .unsupported, path: p,
                           contains: ["label masks must be 8-bit grayscale or palette", "RGB PNG"])
    }

    func testJPEGIsNotAMask() {
        let p = Fixture.path("baseline.jpg")
        assertImagingError(try ImageIO.readMask(path: p), kind: .unsupported, path: p, contains: ["JPEG"])
    }
}
