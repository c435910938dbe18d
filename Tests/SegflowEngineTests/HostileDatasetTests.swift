import Foundation
import XCTest
import SegflowTestSupport
import GRDB
import SegflowSpec
import SegflowGraph
import SegflowImaging
import SegflowStages
@testable import SegflowEngine

/// A dataset full of hostile files through a real run (issue 13): decompression bombs, truncated and
/// zero-byte files, a JPEG named .png, CMYK, 16-bit, a palette index past the palette. Each bad file
/// fails its own item with a message naming the dataset file; the other items are computed and
/// committed, the bad ones are not.
final class HostileDatasetTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/imaging").path

    var dir: String!
    override func setUpWithError() throws {
        dir = try makeTemporaryFolder("hostile-data")
        for sub in ["images", "masks"] { try FileManager.default.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true) }
    }

    func copy(_ fixture: String, to path: String) throws {
        try FileManager.default.copyItem(atPath: Self.fixtures + "/" + fixture, toPath: dir + "/" + path)
    }

    func testEveryBadFileFailsOnlyItsItemNamingTheFile() async throws {
        let good = GrayImage(width: 3, height: 1, pixels: [0, 1, 255])
        // stem: (image fixture or nil for a fresh RGB PNG, its file name; mask fixture or nil for `good`)
        let items: [(stem: String, image: String?, imageName: String, mask: String?)] = [
            ("ok", nil, "ok.png", nil),
            ("bomb", "huge.png", "bomb.png", "huge.png"),
            ("truncated", "truncated.jpg", "truncated.jpg", "truncated.png"),
            ("empty", "empty.png", "empty.png", "empty.png"),
            ("wrongext", "baseline.jpg", "wrongext.png", "baseline.jpg"),
            ("cmyk", "cmyk.jpg", "cmyk.jpg", nil),
            ("sixteen", "rgb16.png", "sixteen.png", "gray16.png"),
            ("palette", nil, "palette.png", "palette_out_of_range.png"),
            ("html", "html.png", "html.png", "html.png"),
        ]
        for it in items {
            if let image = it.image { try copy(image, to: "images/" + it.imageName) }
            else { try ImageIO.writePNG(RGBImage(width: 3, height: 1, fill: (9, 9, 9)), to: "\(dir!)/images/\(it.imageName)") }
            if let mask = it.mask {
                // A trailing byte (decoders stop at IEND / EOI) keeps a mask's digest apart from its image's,
                // so the message names the mask's own file.
                var bytes = try Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/" + mask))
                if !bytes.isEmpty { bytes.append(0) }
                try bytes.write(to: URL(fileURLWithPath: "\(dir!)/masks/\(it.stem).png"))
            } else { try ImageIO.writePNG(good, to: "\(dir!)/masks/\(it.stem).png") }
        }
        // A truncated label mask (the truncated.png fixture is RGB, refused before decoding).
        let mask = try ImageIO.encodePNG(GrayImage(width: 64, height: 64, pixels: (0..<4096).map { UInt8($0 % 2) }))
        try mask.prefix(mask.count / 2).write(to: URL(fileURLWithPath: "\(dir!)/masks/truncated.png"))
        let yaml = """
        version: 1
        name: hostile
        classes: [a, b, c, d, e, f, g, h]
        stages:
          data: {type: imageFolder, params: {images: images, masks: masks}}
          labels: {type: maskLabels, inputs: {masks: data.masks}}
          sheets: {type: visualize, inputs: {images: data.images}}
        """
        try yaml.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        let workspace = try Workspace(root: dir + "/cache")
        let engine = Engine(workspace: workspace, catalog: try .standard(pluginRoots: []))
        let graph = try PipelineGraph(spec: try PipelineSpec.load(path: dir + "/p.yaml"), registry: engine.catalog.registry)
        let summary = try await engine.run(graph, options: RunOptions())

        // What each stage must say about each bad file (masks / images).
        let maskProblems = ["bomb": "200000x200000 = 40000000000 pixels, above the limit", "truncated": "corrupt or truncated PNG",
                            "empty": "empty file (0 bytes)", "wrongext": "a JPEG, whose lossy compression changes class ids",
                            "palette": "palette index 9 at x=3 y=1 is beyond the palette's 3 entries",
                            "html": "not a PNG or JPEG file"]
        let imageProblems = ["bomb": "200000x200000", "truncated": "corrupt or truncated JPEG", "empty": "empty file (0 bytes)",
                             "html": "not a PNG or JPEG file"]
        for (node, problems, port) in [("labels", maskProblems, "masks"), ("sheets", imageProblems, "images")] {
            let s = try XCTUnwrap(summary.node(node))
            XCTAssertEqual(s.status, "partial", node)
            XCTAssertEqual(s.failed, problems.count, node)
            XCTAssertEqual(s.ran, items.count - problems.count, node)
            let failed = try workspace.index.executions(run: summary.runID, node: node).filter { $0.status == "failed" }
            XCTAssertEqual(Set(failed.compactMap(\.item)), Set(problems.keys), node)
            for f in failed {
                let message = f.error ?? ""
                XCTAssertTrue(message.contains(problems[f.item!]!), "\(node)/\(f.item!): \(message)")
                let file = port == "masks" ? "\(f.item!).png" : items.first { $0.stem == f.item }!.imageName
                // Both zero-byte files have one digest: either may be named.
                let named = f.item == "empty" ? "\(port)/\(file) is \(dir!)/" : "\(port)/\(file) is \(dir!)/\(port)/\(file)"
                XCTAssertTrue(message.contains(named), "names the dataset file: \(message)")
            }
            let committed = try await workspace.index.db.read {
                try String.fetchAll($0, sql: "SELECT item FROM results WHERE node = ?", arguments: [node])
            }
            XCTAssertEqual(Set(committed), Set(items.map(\.stem)).subtracting(problems.keys), "only the good items are committed")
        }
        // The decodable odd ones decoded: CMYK, 16-bit and the JPEG named .png have sheets.
        for stem in ["cmyk", "sixteen", "wrongext"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir!)/cache/results/hostile/sheets/sheets/\(stem).png"), stem)
        }
        XCTAssertEqual(try String(contentsOfFile: "\(dir!)/cache/results/hostile/labels/labels/sixteen.json", encoding: .utf8), "[\"a\",\"h\"]", "16-bit values 0 and 7")
    }
}
