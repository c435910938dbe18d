import Foundation
import XCTest
import SegflowCore
@testable import SegflowSpec

/// A pipeline's name is a folder under results/: it may not climb out of it or look like a run's
/// temporary folder.
final class PipelineNameTests: XCTestCase {
    func load(name: String) throws -> PipelineSpec {
        let path = NSTemporaryDirectory() + "segflow-name-\(UUID().uuidString.prefix(8)).yaml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "version: 1\nname: \"\(name)\"\nclasses: [a]\nstages: {}\n".write(toFile: path, atomically: true, encoding: .utf8)
        return try PipelineSpec.load(path: path)
    }

    /// Structural problems are kept in `diagnostics` (reported with the graph's, all at once).
    func nameErrors(_ spec: PipelineSpec) -> [String] {
        spec.diagnostics.map(\.message).filter { $0.contains("'name' must be") }
    }

    func testNamesThatWouldEscapeResultsAreRefused() throws {
        for bad in ["..", ".", ".hidden", "a/b", ""] {
            XCTAssertEqual(nameErrors(try load(name: bad)).count, 1, bad)
        }
    }

    func testOrdinaryNamesLoad() throws {
        let spec = try load(name: "camvid-weak.v2_b")
        XCTAssertEqual(spec.name, "camvid-weak.v2_b")
        XCTAssertEqual(nameErrors(spec), [])
    }
}
