import Foundation
import XCTest
import SegflowCore
import SegflowGraph
import SegflowSpec
import SegflowStages

/// Every kind of pipeline error, as the user sees it: file:line:column, message, fix.
/// Re-record with SEGFLOW_RECORD=1.
final class DiagnosticSnapshotTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/spec").path

    /// Stage types shaped like the real ones, so type checking has something to check.
    static var registry: StageRegistry {
        var r = StageRegistry()
        r.register(ImageFolderStage().descriptor)
        r.register(StageDescriptor(name: "cam", version: 1, inputs: [PortSpec("images", .images)], outputs: [PortSpec("cams", .cams)],
                                   params: [], granularity: .map, summary: ""))
        r.register(StageDescriptor(name: "gradcampp", version: 1, inputs: [PortSpec("images", .images)], outputs: [PortSpec("cams", .cams)],
                                   params: [], granularity: .map, summary: ""))
        r.register(StageDescriptor(name: "crf", version: 1, inputs: [PortSpec("images", .images), PortSpec("cams", .cams)],
                                   outputs: [PortSpec("masks", .masks)],
                                   params: [ParamSpec("iterations", .int, default: .int(10), min: 1),
                                            ParamSpec("srgb", .float, default: .double(13), min: 0.001),
                                            ParamSpec("unary", .string, default: .string("cams"), choices: ["cams", "probabilities"])],
                                   granularity: .map, summary: ""))
        r.register(StageDescriptor(name: "pseudo", version: 1, inputs: [PortSpec("cams", .cams)], outputs: [PortSpec("masks", .masks)],
                                   params: [], granularity: .map, summary: ""))
        r.register(StageDescriptor(name: "camFromMasks", version: 1, inputs: [PortSpec("masks", .masks)], outputs: [PortSpec("cams", .cams)],
                                   params: [], granularity: .map, summary: ""))
        r.register(StageDescriptor(name: "identityCams", version: 1, inputs: [PortSpec("cams", .cams)], outputs: [PortSpec("cams", .cams)],
                                   params: [], granularity: .map, summary: ""))
        return r
    }

    func diagnostics(for name: String) -> String {
        let path = "\(Self.fixtures)/\(name).yaml"
        do {
            let spec = try PipelineSpec.load(path: path)
            _ = try PipelineGraph(spec: spec, registry: Self.registry)
            return "no errors"
        } catch let e as SegflowError {
            return e.description.replacingOccurrences(of: Self.fixtures + "/", with: "")
        } catch {
            return "unexpected: \(error)"
        }
    }

    func assertSnapshot(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let actual = diagnostics(for: name) + "\n"
        let expectedPath = "\(Self.fixtures)/\(name).expected"
        if ProcessInfo.processInfo.environment["SEGFLOW_RECORD"] != nil || !FileManager.default.fileExists(atPath: expectedPath) {
            try actual.write(toFile: expectedPath, atomically: true, encoding: .utf8)
            if ProcessInfo.processInfo.environment["SEGFLOW_RECORD"] == nil { XCTFail("recorded a new snapshot \(name).expected; check it", file: file, line: line) }
            return
        }
        XCTAssertEqual(actual, try String(contentsOfFile: expectedPath, encoding: .utf8), "snapshot \(name)", file: file, line: line)
    }

    func testUnknownStageTypeSuggestsTheClosest() throws { try assertSnapshot("unknown-type") }
    func testParamErrorsAllAtOnce() throws { try assertSnapshot("params") }
    func testReferencesAndPortTypes() throws { try assertSnapshot("references") }
    func testCycleIsPrinted() throws { try assertSnapshot("cycle") }
    func testDuplicateNames() throws { try assertSnapshot("duplicate") }
    func testYAMLSyntaxError() throws { try assertSnapshot("syntax") }
    func testTopLevelErrors() throws { try assertSnapshot("toplevel") }

    func testUserErrorsExitTwoAndInternalSeventy() {
        XCTAssertEqual(SegflowError.user("x").exitCode, 2)
        XCTAssertEqual(SegflowError.internal("x").exitCode, 70)
    }
}
