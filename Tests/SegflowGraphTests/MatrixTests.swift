import Foundation
import XCTest
import SegflowCore
import SegflowGraph
import SegflowSpec

/// Matrix expansion: product, exclude, include, naming, and stage ids that carry only the axes they use.
final class MatrixTests: XCTestCase {
    func graph(_ yaml: String) throws -> PipelineGraph {
        let dir = NSTemporaryDirectory() + "segflow-matrix-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try yaml.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        return try PipelineGraph(spec: try PipelineSpec.load(path: dir + "/p.yaml"), registry: DiagnosticSnapshotTests.registry)
    }

    let stages = """
    stages:
      images: {type: imageFolder, params: {images: .}}
      heat: {type: "${matrix.cam}", inputs: {images: images.images}}
      pseudo: {type: pseudo, inputs: {cams: heat.cams}}
      refined: {type: crf, inputs: {images: images.images, cams: heat.cams}, params: {iterations: "${matrix.iters}"}}
    """

    func testProductExcludeIncludeAndNames() throws {
        let g = try graph("""
        version: 1
        name: m
        classes: [a]
        matrix:
          cam: [cam, gradcampp]
          iters: [5, 10]
          exclude:
            - {cam: cam, iters: 10}
          include:
            - {cam: gradcampp, iters: 20}
        """ + "\n" + stages)
        XCTAssertEqual(g.variants.map(\.name), ["cam=cam,iters=5", "cam=gradcampp,iters=5", "cam=gradcampp,iters=10", "cam=gradcampp,iters=20"])
        XCTAssertEqual(g.nodes.map(\.id).sorted(), [
            "cam=cam,iters=5/refined", "cam=cam/heat", "cam=cam/pseudo",
            "cam=gradcampp,iters=10/refined", "cam=gradcampp,iters=20/refined", "cam=gradcampp,iters=5/refined",
            "cam=gradcampp/heat", "cam=gradcampp/pseudo", "images",
        ])
        let refined = try XCTUnwrap(g.node("cam=gradcampp,iters=20/refined"))
        XCTAssertEqual(refined.params["iterations"], .int(20), "a whole-value matrix reference keeps its YAML type")
        XCTAssertEqual(refined.inputs["cams"]?.node, "cam=gradcampp/heat")
        XCTAssertEqual(g.node("cam=cam/heat")?.descriptor.name, "cam")
    }

    func testUnknownAxisIsReported() {
        XCTAssertThrowsError(try graph("version: 1\nname: m\nclasses: [a]\nmatrix: {cam: [cam]}\n" + stages)) { e in
            XCTAssertTrue("\(e)".contains("'${matrix.iters}', which is not a matrix axis"), "\(e)")
        }
    }
}
