import Foundation
import XCTest
import SegflowTestSupport
import SegflowCore
import SegflowGraph
import SegflowSpec
import SegflowStages
@testable import SegflowEngine

/// labelFile makes its items from CSV lines in memory: a plan writes nothing, a run stores them by
/// content, and an edited line reruns only its item downstream.
final class LabelFileSourceTests: XCTestCase {
    var dir: String!
    let counter = ExecutionCounter()

    override func setUpWithError() throws {
        dir = try makeTemporaryFolder("labelfile-test")
        try "stem,labels\nA,lawn;curb\nB,soil\nC,\n".write(toFile: dir + "/truth.csv", atomically: true, encoding: .utf8)
        try """
        version: 1
        name: lf
        classes: [lawn, curb, soil]
        stages:
          truth: {type: labelFile, params: {file: truth.csv}}
          copy: {type: copyLabels, inputs: {labels: truth.labels}}
        """.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
    }

    func engine() throws -> (Engine, PipelineGraph) {
        var catalog = try StageCatalog.standard(pluginRoots: [])
        catalog.add(CopyLabelsStage(counter: counter))
        let engine = Engine(workspace: try Workspace(root: dir + "/cache"), catalog: catalog)
        return (engine, try PipelineGraph(spec: try PipelineSpec.load(path: dir + "/p.yaml"), registry: catalog.registry))
    }

    func testPlanWritesNothingAndAnEditedLineRerunsOneItem() async throws {
        let (e, graph) = try engine()
        let plan = try e.plan(graph)
        let truth = plan.nodes.first { $0.node.id == "truth" }!
        XCTAssertEqual(truth.items.map(\.stem), ["A", "B", "C"])
        XCTAssertEqual(truth.items.map(\.reasons), [["new input: labels/A"], ["new input: labels/B"], ["new input: labels/C"]])
        XCTAssertEqual(e.workspace.objects.allObjects(), [], "a plan stores nothing")
        // Items come from the CSV's lines (named in messages and lineage), not from files written somewhere.
        XCTAssertEqual(truth.items.map { $0.sourceFiles.map(\.path) }, [[dir + "/truth.csv:2"], [dir + "/truth.csv:3"], [dir + "/truth.csv:4"]])
        XCTAssertTrue(truth.items.allSatisfy { $0.sourceFiles.allSatisfy { $0.content != nil } })

        let s1 = try await e.run(graph)
        XCTAssertEqual(counter.items("copyLabels"), ["A", "B", "C"])
        let a = try XCTUnwrap(s1.node("copy")?.outputs["labels"]?.files["A.json"])
        XCTAssertEqual(String(decoding: try e.workspace.objects.read(a), as: UTF8.self), #"["lawn","curb"]"#)
        // Content a source made is linked under results/ (it is nowhere else as a file); its lineage is its CSV line.
        let links = e.workspace.resultsDirectory + "/lf/truth/labels"
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: links).sorted(), ["A.json", "B.json", "C.json"])
        XCTAssertEqual(try Digest.ofFile(at: links + "/A.json"), s1.node("truth")?.outputs["labels"]?.files["A.json"])
        let made = try XCTUnwrap(s1.node("truth")?.outputs["labels"]?.files["B.json"])
        XCTAssertEqual(try Lineage.walk(from: made, target: "B.json", workspace: e.workspace, registry: e.catalog.registry)
                        .steps.first?.inputs.map(\.datasetFile), [dir + "/truth.csv:3"])
        counter.reset()
        let s2 = try await e.run(graph)
        XCTAssertEqual(s2.ran, 0)

        try "stem,labels\nA,lawn;curb\nB,soil;lawn\nC,\n".write(toFile: dir + "/truth.csv", atomically: true, encoding: .utf8)
        let (e2, graph2) = try engine()
        let edited = try e2.plan(graph2).nodes.first { $0.node.id == "truth" }!
        XCTAssertEqual(edited.items.filter { $0.status == .run }.map(\.stem), ["B"])
        _ = try await e2.run(graph2)
        XCTAssertEqual(counter.items("copyLabels"), ["B"])
    }

    func testABadLineNamesFileAndLine() throws {
        try "A,lawn\nno comma here\n".write(toFile: dir + "/truth.csv", atomically: true, encoding: .utf8)
        let (e, graph) = try engine()
        XCTAssertThrowsError(try e.plan(graph)) { error in
            XCTAssertTrue("\(error)".contains("truth.csv:2"), "\(error)")
        }
    }
}
