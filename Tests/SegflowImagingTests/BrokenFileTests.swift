import Foundation
import XCTest
@testable import SegflowImaging

/// Broken inputs must give a clean ImagingError that names the file: never a crash.
final class BrokenFileTests: XCTestCase {
    func testTruncatedPNG() {
        let p = Fixture.path("truncated.png")
        assertImagingError(try ImageIO.readRGB(path: p), kind: .corrupt, path: p, contains: ["truncated"])
    }

    func testTruncatedJPEG() {
        for name in ["truncated.jpg", "truncated_progressive.jpg"] {
            let p = Fixture.path(name)
            assertImagingError(try ImageIO.readRGB(path: p), kind: .corrupt, path: p, contains: ["truncated"])
        }
    }

    func testHTMLNamedPNG() {
        let p = Fixture.path("html.png")
        assertImagingError(try ImageIO.readRGB(path: p), kind: .notAnImage, path: p,
                           contains: ["not a PNG or JPEG file (starts with 3c 68 74 6d)",
                                      "re-export the image as PNG or JPEG"])
        assertImagingError(try ImageIO.readMask(path: p), kind: .notAnImage, path: p)
    }

    func testZeroByteFile() {
        let p = Fixture.path("empty.png")
        assertImagingError(try ImageIO.readRGB(path: p), kind: .notAnImage, path: p, contains: ["empty"])
        assertImagingError(try ImageIO.imageSize(path: p), kind: .notAnImage, path: p)
    }

    func testHugeHeaderRefusedBeforeAllocating() throws {
        let p = Fixture.path("huge.png")
        assertImagingError(try ImageIO.readRGB(path: p), kind: .tooLarge, path: p,
                           contains: ["200000x200000", "SEGFLOW_MAX_PIXELS"])
        assertImagingError(try ImageIO.readMask(path: p), kind: .tooLarge, path: p)
        // The header alone is still readable.
        XCTAssertTrue(try ImageIO.imageSize(path: p) == (200000, 200000))
    }

    func testPixelLimitIsTheCallers() {
        let p = Fixture.path("baseline.jpg")
        assertImagingError(try ImageIO.readRGB(path: p, maxPixels: 100), kind: .tooLarge, path: p,
                           contains: ["768 pixels"])
    }

    func testEndlessProgressiveScansAreCutOff() throws {
        // Repeat the last scan of a progressive JPEG 600 times: a known way to make
        // libjpeg spin for minutes on a small file.
        let jpeg = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixture.path("progressive.jpg"))))
        let lastSOS = try XCTUnwrap((0..<jpeg.count - 1).last { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xDA })
        let scan = jpeg[lastSOS..<(jpeg.count - 2)]
        var bomb = Array(jpeg[..<lastSOS])
        for _ in 0..<600 { bomb += scan }
        bomb += [0xFF, 0xD9]
        let name = "scan-bomb.jpg"
        assertImagingError(try ImageIO.decodeRGB(data: Data(bomb), name: name), kind: .corrupt, path: name,
                           contains: ["scans"])
    }

    func testMissingFileAndFolder() {
        let missing = "/nonexistent/segflow/a.png"
        assertImagingError(try ImageIO.readRGB(path: missing), kind: .cannotRead, path: missing,
                           contains: ["No such file"])
        let folder = Fixture.folder.path
        assertImagingError(try ImageIO.readRGB(path: folder), kind: .cannotRead, path: folder)
    }

    func testBrokenBytesInMemory() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixture.path("baseline.jpg")))
        // Every prefix of a JPEG, and of a PNG, decodes or fails cleanly.
        for n in stride(from: 0, to: data.count, by: 7) {
            XCTAssertThrowsError(try ImageIO.decodeRGB(data: data.prefix(n), name: "jpeg[..<\(n)]"))
        }
        let png = try ImageIO.encodePNG(RGBImage(width: 20, height: 20, fill: (1, 2, 3)))
        for n in stride(from: 0, to: png.count - 12, by: 5) {
            XCTAssertThrowsError(try ImageIO.decodeRGB(data: png.prefix(n), name: "png[..<\(n)]"))
        }
        // Flipped bytes in the middle: any outcome but a crash.
        var corrupt = data
        for i in stride(from: 200, to: data.count - 2, by: 13) { corrupt[i] ^= 0x5A }
        _ = try? ImageIO.decodeRGB(data: corrupt, name: "corrupt")
    }

    func testWriteToMissingFolder() {
        let p = "/nonexistent/segflow/out.png"
        assertImagingError(try ImageIO.writePNG(RGBImage(width: 1, height: 1), to: p), kind: .cannotWrite,
                           path: p)
    }
}
