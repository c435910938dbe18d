import Foundation
import XCTest
import SegflowCore
import SegflowGraph
@testable import SegflowStages

/// imageFolder's listing: which names count as images, and the files it pairs.
final class ImageFolderListingTests: XCTestCase {
    func testImageNamesByExtensionInAnyCase() {
        for name in ["a.png", "a.PNG", "b.jpg", "b.JpG", "c.jpeg", "c.JPEG", "x.y.png", "..png"] {
            XCTAssertTrue(ImageFolderStage.isImageName(name), name)
        }
        for name in ["png", ".png", "a.pn", "a.pngx", "a.jpe", "a.gif", "a.txt", "a.", "a", "", "apng", "a.p0g", "a.PNG~"] {
            XCTAssertFalse(ImageFolderStage.isImageName(name), name)
        }
        // Agrees with the extension rule it replaces on every name above.
        for name in ["a.png", "a.PNG", "c.JPEG", ".png", "png", "a.pngx", "..png", "a."] {
            let old = ["png", "jpg", "jpeg"].contains(FileTree.extension(of: name).lowercased())
            XCTAssertEqual(ImageFolderStage.isImageName(name), old, name)
        }
    }

    func testListingPairsMasksBySteminSortedOrder() throws {
        let dir = NSTemporaryDirectory() + "segflow-list-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for sub in ["img", "msk"] { try FileManager.default.createDirectory(atPath: "\(dir)/\(sub)", withIntermediateDirectories: true) }
        for name in ["b.jpg", "a.png", "c.PNG", "notes.txt", ".hidden.png"] { FileManager.default.createFile(atPath: "\(dir)/img/\(name)", contents: Data()) }
        for name in ["a.png", "c.png", "z.png"] { FileManager.default.createFile(atPath: "\(dir)/msk/\(name)", contents: Data()) }
        let files = try ImageFolderStage().enumerate(params: ["images": .string("\(dir)/img"), "masks": .string("\(dir)/msk")])
        XCTAssertEqual(files.map { "\($0.port):\($0.name)" }, ["images:a.png", "masks:a.png", "images:b.jpg", "images:c.PNG", "masks:c.png"])
        XCTAssertThrowsError(try ImageFolderStage().enumerate(params: ["images": .string("\(dir)/img"), "masks": .string("\(dir)/none")]))
    }
}
