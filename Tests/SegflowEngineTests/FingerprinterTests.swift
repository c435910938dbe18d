import Foundation
import XCTest
import SegflowTestSupport
import SegflowCore
import SegflowStages
@testable import SegflowStore
@testable import SegflowEngine

/// A first import's fingerprint save begun on another thread (`startSave`) while lookups go on: `save()`
/// leaves the index as one save at the end would have.
final class FingerprinterTests: XCTestCase {
    func testASaveBegunEarlyAndTheLookupsAfterItAllReachTheIndex() throws {
        let dir = try makeTemporaryFolder("fingerprinter")
        let data = dir + "/data/"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        for i in 0..<6 { try Data("image \(i)".utf8).write(to: URL(fileURLWithPath: data + "img\(i).png")) }
        let workspace = try Workspace(root: dir + "/cache")
        let prints = Fingerprinter(index: workspace.index)
        let first = (0..<4).map { SourceFile(port: "images", name: "img\($0).png", path: data + "img\($0).png") }
        let found = try prints.lookupAll(first, importingInto: workspace.objects)
        XCTAssertTrue(found.allSatisfy { $0.read })
        prints.startSave()
        // Lookups in the same folder while the save runs: a changed file and two new ones.
        try Data("image 0, edited".utf8).write(to: URL(fileURLWithPath: data + "img0.png"))
        for i in [0, 4, 5] { _ = try prints.lookup(data + "img\(i).png", into: workspace.objects) }
        try prints.save()
        let saved = try workspace.index.fingerprints(under: data)
        XCTAssertEqual(saved.keys.sorted(), (0..<6).map { "img\($0).png" })
        for i in 0..<6 {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: data + "img\(i).png"))
            XCTAssertEqual(saved["img\(i).png"]?.digest, Digest.of(bytes), "img\(i).png: its latest content")
            XCTAssertEqual(saved["img\(i).png"]?.imported, true, "img\(i).png: copied in while hashed")
            XCTAssertTrue(workspace.objects.isInline(Digest.of(bytes)), "img\(i).png's object committed with its fingerprint")
        }
        XCTAssertEqual(workspace.objects.small.pendingCount, 0)
        // Nothing is left to save: a second save writes nothing.
        try prints.save()
    }
}
