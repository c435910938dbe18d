import Foundation
import XCTest
@testable import SegflowImaging

/// Real dataset files: an RGB photo and its 8-bit label mask.
final class CamVidTests: XCTestCase {
    private func camvid() throws -> String {
        guard let root = Fixture.camvid else { throw XCTSkip("CamVid not found") }
        return root
    }

    func testReadImage() throws {
        let path = try camvid() + "/train/0001TP_006690.png"
        let img = try ImageIO.readRGB(path: path)
        XCTAssertEqual(img.width, 480)
        XCTAssertEqual(img.height, 360)
        XCTAssertEqual(img.pixels.count, 480 * 360 * 3)
        XCTAssertTrue(try ImageIO.imageSize(path: path) == (480, 360))
        // A road scene is neither blank nor saturated.
        let mean = img.pixels.reduce(0) { $0 + Int($1) } / img.pixels.count
        XCTAssertTrue((30...220).contains(mean), "mean \(mean)")
    }

    func testReadMask() throws {
        let path = try camvid() + "/trainannot/0001TP_006690.png"
        let mask = try ImageIO.readMask(path: path)
        XCTAssertEqual(mask.width, 480)
        XCTAssertEqual(mask.height, 360)
        let values = Set(mask.pixels)
        XCTAssertTrue(values.isSubset(of: Set(0...11)), "values \(values.sorted())")
        XCTAssertGreaterThan(values.count, 3)
    }

    func testConcurrentReadsAgreeWithSerialOnes() throws {
        let root = try camvid()
        let names = try FileManager.default.contentsOfDirectory(atPath: root + "/train")
            .filter { $0.hasSuffix(".png") }.sorted().prefix(8).map { root + "/train/" + $0 }
        let serial = try names.map { try ImageIO.readRGB(path: $0) }
        var parallel = [RGBImage?](repeating: nil, count: names.count)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: names.count) { i in
            let img = try? ImageIO.readRGB(path: names[i])
            lock.lock()
            parallel[i] = img
            lock.unlock()
        }
        XCTAssertEqual(parallel.compactMap { $0 }, serial)
    }

    func testMaskRoundTripAndOverlay() throws {
        let root = try camvid()
        let dir = try temporaryFolder(self)
        let img = try ImageIO.readRGB(path: root + "/train/0001TP_006690.png")
        let mask = try ImageIO.readMask(path: root + "/trainannot/0001TP_006690.png")
        let out = dir.appendingPathComponent("mask.png").path
        try ImageIO.writePNG(mask, to: out)
        XCTAssertEqual(try ImageIO.readMask(path: out), mask)
        let colors: [UInt8: (UInt8, UInt8, UInt8)] = [0: (128, 128, 128), 3: (128, 64, 128)]
        let overlay = maskOverlay(image: img, mask: mask, colors: colors, alpha: 0.5)
        try ImageIO.writePNG(overlay, to: dir.appendingPathComponent("overlay.png").path)
        XCTAssertEqual(overlay.width, 480)
    }
}
