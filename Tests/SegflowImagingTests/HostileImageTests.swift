import Foundation
import XCTest
@testable import SegflowImaging

/// Hostile images and label masks (issue 13): decompression bombs, CMYK, wrong extensions, palette
/// indices past the palette, 16-bit and gray+alpha files. Each decodes, or fails with an
/// `ImagingError` naming the file, in bounded memory.
final class HostileImageTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try temporaryFolder(self) }

    func write(_ name: String, _ data: Data) throws -> String {
        let url = dir.appendingPathComponent(name)
        try data.write(to: url)
        return url.path
    }

    // MARK: - Decompression bombs

    func testAOneKilobytePNGClaimingTenGigapixelsCostsNoMemory() throws {
        // 100,000 x 100,000 RGB (30 GB decoded) in a file of a few hundred bytes.
        let bomb = HandPNG.make(width: 100_000, height: 100_000, depth: 8, colorType: 2,
                                idat: HandPNG.zlibStored([UInt8](repeating: 0, count: 600)))
        XCTAssertLessThan(bomb.count, 1024)
        let p = try write("bomb.png", bomb)
        let start = Date()
        let rise = try XCTUnwrap(PeakMemory.rise {
            assertImagingError(try ImageIO.readRGB(path: p), kind: .tooLarge, path: p,
                               contains: ["100000x100000 = 10000000000 pixels", "limit of 100000000", "SEGFLOW_MAX_PIXELS"])
            assertImagingError(try ImageIO.readMask(path: p), kind: .tooLarge, path: p)
        }, "the peak-memory counter could not be reset (/proc/self/clear_refs)")
        XCTAssertLessThan(rise, 8 << 20, "refused before allocating (peak rose by \(rise) bytes)")
        XCTAssertLessThan(Date().timeIntervalSince(start), 0.5)
    }

    func testABombWithinTheLimitCostsAtMostItsPixels() throws {
        // 4,000 x 4,000 claimed (16 M pixels, 48 MB as RGB) with a few rows of data: decoding starts,
        // holds the 48 MB buffer, then fails on the missing rows; nothing more is allocated.
        let rows = [[UInt8]](repeating: [UInt8](repeating: 7, count: 4000 * 3), count: 3)
        var raw: [UInt8] = []
        for r in rows { raw.append(0); raw += r }
        let p = try write("short.png", HandPNG.make(width: 4000, height: 4000, depth: 8, colorType: 2, idat: HandPNG.zlibStored(raw)))
        let rise = try XCTUnwrap(PeakMemory.rise {
            assertImagingError(try ImageIO.readRGB(path: p), kind: .corrupt, path: p)
        })
        XCTAssertLessThan(rise, 48_000_000 + (16 << 20), "at most the decoded buffer and the decoder's own state")
    }

    func testThePixelLimitComesFromTheEnvironment() throws {
        let p = try write("mid.png", HandPNG.make(width: 2000, height: 1000, depth: 8, colorType: 0,
                                                  idat: HandPNG.zlibStored([0])))
        setenv("SEGFLOW_MAX_PIXELS", "1000000", 1)
        defer { unsetenv("SEGFLOW_MAX_PIXELS") }
        XCTAssertEqual(ImageIO.defaultMaxPixels, 1_000_000)
        assertImagingError(try ImageIO.readMask(path: p), kind: .tooLarge, path: p, contains: ["2000x1000", "limit of 1000000"])
        setenv("SEGFLOW_MAX_PIXELS", "not a number", 1)
        XCTAssertEqual(ImageIO.defaultMaxPixels, ImageIO.builtinMaxPixels)
    }

    // MARK: - CMYK JPEGs

    /// Pure inks: white, cyan, magenta, yellow / black, red, green, blue (make_cmyk_jpeg.c).
    static let inkColors: [(Int, Int, Int)] = [(255, 255, 255), (0, 255, 255), (255, 0, 255), (255, 255, 0),
                                                (0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255)]

    func testCMYKAndYCCKJPEGsDecodeToRGB() throws {
        for name in ["cmyk.jpg", "ycck.jpg"] {
            let p = Fixture.path(name)
            let header = try ImageIO.header(path: p)
            XCTAssertEqual(header.channels, 4, name)
            let img = try ImageIO.readRGB(path: p)
            XCTAssertEqual(img.width, 4); XCTAssertEqual(img.height, 2)
            for (i, want) in Self.inkColors.enumerated() {
                let got = img[i % 4, i / 4]
                let d = max(abs(Int(got.0) - want.0), abs(Int(got.1) - want.1), abs(Int(got.2) - want.2))
                XCTAssertLessThanOrEqual(d, 8, "\(name) pixel \(i): \(got) vs \(want)")
            }
            assertImagingError(try ImageIO.readMask(path: p), kind: .unsupported, path: p, contains: ["JPEG"])
        }
    }

    // MARK: - Wrong extensions

    func testFilesAreDecodedByContentNotByExtension() throws {
        let jpegBytes = try Data(contentsOf: URL(fileURLWithPath: Fixture.path("baseline.jpg")))
        let asPNG = try write("photo.png", jpegBytes)
        XCTAssertEqual(try ImageIO.readRGB(path: asPNG), try ImageIO.readRGB(path: Fixture.path("baseline.jpg")))
        XCTAssertEqual(try ImageIO.header(path: asPNG).format, .jpeg)
        let pngBytes = try Data(contentsOf: URL(fileURLWithPath: Fixture.path("gray.png")))
        let asJPEG = try write("mask.jpg", pngBytes)
        XCTAssertEqual(try ImageIO.readMask(path: asJPEG), try ImageIO.readMask(path: Fixture.path("gray.png")))
        // A JPEG named .png is still no label mask: its lossy compression changes ids.
        assertImagingError(try ImageIO.readMask(path: asPNG), kind: .unsupported, path: asPNG, contains: ["a JPEG"])
    }

    // MARK: - Label masks

    func testAPaletteIndexPastThePaletteFailsTheMask() throws {
        // Four colours; the pixel at x=2, y=1 says 200.
        let palette: [(UInt8, UInt8, UInt8)] = [(0, 0, 0), (128, 0, 0), (0, 128, 0), (128, 128, 0)]
        let p = try write("pal.png", HandPNG.make(width: 3, height: 2, depth: 8, colorType: 3,
                                                  rows: [[0, 1, 2], [3, 1, 200]], palette: palette))
        assertImagingError(try ImageIO.readMask(path: p), kind: .unsupported, path: p,
                           contains: ["palette index 200 at x=2 y=1 is beyond the palette's 4 entries"])
        // Within the palette it reads as indices.
        let ok = try write("pal-ok.png", HandPNG.make(width: 3, height: 2, depth: 8, colorType: 3,
                                                      rows: [[0, 1, 2], [3, 1, 0]], palette: palette))
        XCTAssertEqual(try ImageIO.readMask(path: ok).pixels, [0, 1, 2, 3, 1, 0])
        // As a colour image the out-of-range pixel decodes (as libpng and PIL do) without a crash.
        XCTAssertEqual(try ImageIO.readRGB(path: p).width, 3)
    }

    func testSixteenBitAndAlphaVariants() throws {
        func be16(_ v: [UInt16]) -> [UInt8] { v.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } }
        // 16-bit gray + alpha as a mask: values kept, alpha dropped; as an image: gray expanded.
        let ga16 = try write("ga16.png", HandPNG.make(width: 2, height: 1, depth: 16, colorType: 4, rows: [be16([3, 0xFFFF, 255, 0])]))
        XCTAssertEqual(try ImageIO.readMask(path: ga16).pixels, [3, 255])
        XCTAssertEqual(try ImageIO.readRGB(path: ga16).pixels, [0, 0, 0, 1, 1, 1])
        // 16-bit RGBA image: scaled to 8 bits, alpha dropped; refused as a mask.
        let rgba16 = try write("rgba16.png", HandPNG.make(width: 1, height: 1, depth: 16, colorType: 6,
                                                          rows: [be16([0xFFFF, 0x8080, 0, 0x1234])]))
        XCTAssertEqual(try ImageIO.readRGB(path: rgba16).pixels, [255, 128, 0])
        assertImagingError(try ImageIO.readMask(path: rgba16), kind: .unsupported, path: rgba16, contains: ["RGBA PNG"])
        // 1-bit gray mask: raw 0/1 values.
        let bits = try write("bits.png", HandPNG.make(width: 8, height: 1, depth: 1, colorType: 0, rows: [[0b1010_0001]]))
        XCTAssertEqual(try ImageIO.readMask(path: bits).pixels, [1, 0, 1, 0, 0, 0, 0, 1])
    }

    func testTruncatedAndZeroByteFilesAtEveryLength() throws {
        // Every prefix of a hand-written PNG and of the CMYK JPEG fails cleanly, naming the file.
        let png = HandPNG.make(width: 4, height: 4, depth: 8, colorType: 3, rows: [[UInt8]](repeating: [0, 1, 0, 1], count: 4),
                               palette: [(1, 2, 3), (4, 5, 6)])
        let cmyk = try Data(contentsOf: URL(fileURLWithPath: Fixture.path("cmyk.jpg")))
        for (name, data) in [("p.png", png), ("c.jpg", cmyk)] {
            for n in 0..<(data.count - 12) {
                let path = try write(name, data.prefix(n))
                XCTAssertThrowsError(try ImageIO.readRGB(path: path)) { e in
                    XCTAssertEqual((e as? ImagingError)?.path, path)
                }
            }
        }
    }
}
