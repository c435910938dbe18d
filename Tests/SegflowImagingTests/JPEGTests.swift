import Foundation
import XCTest
@testable import SegflowImaging

final class JPEGTests: XCTestCase {
    private func assertMatchesReference(_ name: String, _ reference: String) throws {
        let img = try ImageIO.readRGB(path: Fixture.path(name))
        let (w, h, channels, bytes) = try readNetpbm(Fixture.path(reference))
        XCTAssertEqual(img.width, w)
        XCTAssertEqual(img.height, h)
        let expected = channels == 3 ? bytes : bytes.flatMap { [$0, $0, $0] }
        XCTAssertEqual(img.pixels, expected, "\(name) differs from djpeg's decode")
    }

    func testBaselineMatchesDjpeg() throws {
        try assertMatchesReference("baseline.jpg", "baseline.ref.ppm")
        XCTAssertFalse(try ImageIO.header(path: Fixture.path("baseline.jpg")).progressive)
    }

    func testProgressiveMatchesDjpeg() throws {
        try assertMatchesReference("progressive.jpg", "progressive.ref.ppm")
        XCTAssertTrue(try ImageIO.header(path: Fixture.path("progressive.jpg")).progressive)
    }

    func testGrayscaleJPEGExpandsToRGB() throws {
        try assertMatchesReference("gray.jpg", "gray.ref.pgm")
    }

    func testDecodedJPEGIsCloseToSource() throws {
        let img = try ImageIO.readRGB(path: Fixture.path("baseline.jpg"))
        let (_, _, _, source) = try readNetpbm(Fixture.path("gradient.ppm"))
        let meanError = zip(img.pixels, source).map { abs(Int($0) - Int($1)) }.reduce(0, +) / source.count
        XCTAssertLessThan(meanError, 10) // chroma subsampling blurs the hard blue edges
    }

    func testEncodeThenDecode() throws {
        let dir = try temporaryFolder(self)
        let (w, h, _, source) = try readNetpbm(Fixture.path("gradient.ppm"))
        let img = RGBImage(width: w, height: h, pixels: source)
        for progressive in [false, true] {
            let path = dir.appendingPathComponent("p\(progressive).jpg").path
            try ImageIO.writeJPEG(img, to: path, quality: 95, progressive: progressive)
            XCTAssertEqual(try ImageIO.header(path: path).progressive, progressive)
            let back = try ImageIO.readRGB(path: path)
            let err = zip(back.pixels, source).map { abs(Int($0) - Int($1)) }.reduce(0, +) / source.count
            XCTAssertLessThan(err, 10)
        }
    }

    func testDetectedByMagicNotExtension() throws {
        let dir = try temporaryFolder(self)
        let misnamed = dir.appendingPathComponent("actually-a-jpeg.png")
        try FileManager.default.copyItem(atPath: Fixture.path("baseline.jpg"), toPath: misnamed.path)
        XCTAssertEqual(try ImageIO.readRGB(path: misnamed.path),
                       try ImageIO.readRGB(path: Fixture.path("baseline.jpg")))
    }
}
