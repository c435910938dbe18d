import XCTest
@testable import SegflowVision

/// COCO polygons by the pixel-centre rule, and RLE decoding (the pycocotools-made strings are checked
/// end to end in AnnotationSourceTests).
final class AnnotationRasterTests: XCTestCase {
    func testARectangleOnPixelEdgesCoversExactlyItsBoxPixels() {
        let m = AnnotationRaster.polygon([2, 1, 7, 1, 7, 4, 2, 4], width: 10, height: 6)
        for y in 0..<6 { for x in 0..<10 { XCTAssertEqual(m[y * 10 + x], (2..<7).contains(x) && (1..<4).contains(y), "(\(x), \(y))") } }
        // The same rectangle clockwise, and partly outside the image, clipped.
        XCTAssertEqual(AnnotationRaster.polygon([2, 4, 7, 4, 7, 1, 2, 1], width: 10, height: 6), m)
        let clipped = AnnotationRaster.polygon([-3, -3, 4, -3, 4, 2, -3, 2], width: 10, height: 6)
        XCTAssertEqual(clipped.enumerated().filter(\.element).map(\.offset), [0, 1, 2, 3, 10, 11, 12, 13])
    }

    func testATriangleTakesThePixelsWhoseCentresAreInside() {
        // Right triangle (0,0)-(4,0)-(0,4): centre (x+.5, y+.5) inside when x + y + 1 < 4.
        let m = AnnotationRaster.polygon([0, 0, 4, 0, 0, 4], width: 5, height: 5)
        for y in 0..<5 { for x in 0..<5 { XCTAssertEqual(m[y * 5 + x], x + y + 1 < 4, "(\(x), \(y))") } }
        // Fewer than three points cover nothing.
        XCTAssertEqual(AnnotationRaster.polygon([0, 0, 4, 4], width: 5, height: 5), [Bool](repeating: false, count: 25))
    }

    func testRLEIsColumnMajorAndMustCoverTheImage() throws {
        // 3 wide, 2 high: runs 1 out, 2 in, 3 out -> column-major pixels 1 and 2 = (0, 1) and (1, 0).
        let m = try AnnotationRaster.rle(counts: [1, 2, 3], width: 3, height: 2)
        XCTAssertEqual(m, [false, true, false, true, false, false])
        XCTAssertThrowsError(try AnnotationRaster.rle(counts: [1, 2], width: 3, height: 2))
        XCTAssertThrowsError(try AnnotationRaster.rle(counts: [1, 9], width: 3, height: 2))
        XCTAssertThrowsError(try AnnotationRaster.rle(counts: [1, -1, 6], width: 3, height: 2))
        // pycocotools.mask.encode of runs 1, 2, 3, 4 (a 2x5 image) is "1232": from the fourth run on each is
        // written as its difference to the run two before (4 - 2 = 2).
        XCTAssertEqual(try AnnotationRaster.rleCounts(compressed: "1232"), [1, 2, 3, 4])
        XCTAssertThrowsError(try AnnotationRaster.rleCounts(compressed: "1o"), "a continuation bit at the end")
    }

    /// Hostile annotation files (issue 13): coordinates and runs that overflow Int must not trap.
    func testHugeCoordinatesAndRunsAreClampedOrRefusedNotATrap() throws {
        // A triangle reaching 1e300 beyond both sides: the crossings clamp to the image's edges.
        let m = AnnotationRaster.polygon([-1e300, -1, 1e300, -1, 0, 1e300], width: 4, height: 3)
        XCTAssertEqual(m.filter { $0 }.count, 12, "covers the whole image")
        XCTAssertEqual(AnnotationRaster.pixelEdge(.infinity, limit: 7), 7)
        XCTAssertEqual(AnnotationRaster.pixelEdge(-.infinity, limit: 7), 0)
        XCTAssertEqual(AnnotationRaster.pixelEdge(.nan, limit: 7), 0)
        // A run of 2^63 - 1 pixels: `pos + run` overflowed (a trap) before this check.
        XCTAssertThrowsError(try AnnotationRaster.rle(counts: [1, Int.max], width: 3, height: 2)) {
            XCTAssertTrue("\($0)".contains("cover more than"), "\($0)")
        }
    }
}
