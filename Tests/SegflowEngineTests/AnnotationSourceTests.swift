import Foundation
import XCTest
import SegflowTestSupport
import SegflowCore
import SegflowGraph
import SegflowImaging
import SegflowSpec
import SegflowStages
@testable import SegflowEngine

/// COCO, YOLO and Label Studio files written here from CamVid fixture masks (pipelines/data/camvid-tiny):
/// the boxes they import are byte for byte the boxes `maskBoxes` gives for those masks, COCO's RLE
/// (compressed and uncompressed, made by pycocotools: Tests/Fixtures/coco/make_rle.py) decodes to the
/// mask, and a Label Studio brush folder merges into it. Class names come in other spellings
/// (plurals, lower case, a synonym) and go through cotLabel's normaliser.
final class AnnotationSourceTests: XCTestCase {
    var dir: String!
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let tiny = root.appendingPathComponent("pipelines/data/camvid-tiny").path
    let stems = ["0001TP_006690", "0006R0_f01050", "0016E5_00780"]
    let spellings = ["skies", "buildings", "poles", "roads", "pavements", "trees", "signsymbols", "fences", "cars", "person", "bicyclists"]

    override func setUpWithError() throws {
        dir = try makeTemporaryFolder("annot")
        for sub in ["images", "masks", "yolo", "brush"] { try FileManager.default.createDirectory(atPath: "\(dir!)/\(sub)", withIntermediateDirectories: true) }
        for s in stems {
            try FileManager.default.copyItem(atPath: "\(Self.tiny)/train/\(s).png", toPath: "\(dir!)/images/\(s).png")
            try FileManager.default.copyItem(atPath: "\(Self.tiny)/trainannot/\(s).png", toPath: "\(dir!)/masks/\(s).png")
        }
    }

    func run(_ stages: String) async throws -> (RunSummary, Workspace) {
        try """
        version: 1
        name: annot
        classes: \(Self.tiny)/classes.yaml
        stages:
        \(stages)
        """.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        let workspace = try Workspace(root: dir + "/cache")
        let engine = Engine(workspace: workspace, catalog: try .standard(pluginRoots: []))
        let graph = try PipelineGraph(spec: try PipelineSpec.load(path: dir + "/p.yaml"), registry: engine.catalog.registry)
        return (try await engine.run(graph), workspace)
    }

    func bytes(_ s: RunSummary, _ ws: Workspace, _ node: String, _ port: String, _ file: String) throws -> Data {
        let d = try XCTUnwrap(s.node(node)?.outputs[port]?.files[file], "\(node) has no \(port)/\(file); \(s.node(node)?.error ?? "")")
        return try ws.objects.read(d)
    }

    /// The fixture mask with the dataset's void id (11) as 255: what an import of its classes must give.
    func expectedMask(_ stem: String) throws -> GrayImage {
        var m = try ImageIO.readMask(path: "\(dir!)/masks/\(stem).png")
        for i in m.pixels.indices where m.pixels[i] == 11 { m.pixels[i] = 255 }
        return m
    }

    func testCOCOAndYOLOGiveMaskBoxesBoxesAndCOCORLEGivesTheMask() async throws {
        let (s0, ws0) = try await run("  truth: {type: imageFolder, params: {images: images, masks: masks}}\n  boxes: {type: maskBoxes, inputs: {masks: truth.masks}}")
        var expected: [String: Data] = [:]
        var images: [[String: Any]] = [], annotations: [[String: Any]] = []
        for (k, stem) in stems.enumerated() {
            let data = try bytes(s0, ws0, "boxes", "boxes", "\(stem).json")
            expected[stem] = data
            let boxes = (try JSONSerialization.jsonObject(with: data) as! [String: Any])["boxes"] as! [[String: Any]]
            XCTAssertGreaterThan(boxes.count, 3, stem)
            let size = try ImageIO.imageSize(path: "\(dir!)/images/\(stem).png")
            images.append(["id": 100 + k, "file_name": "\(stem).png", "width": size.width, "height": size.height])
            var yolo = ""
            for b in boxes {
                let ch = ["Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol", "Fence", "Car", "Pedestrian", "Bicyclist"]
                    .firstIndex(of: b["class"] as! String)!
                let (x0, y0, x1, y1) = (b["x0"] as! Int, b["y0"] as! Int, b["x1"] as! Int, b["y1"] as! Int)
                annotations.append(["id": annotations.count + 1, "image_id": 100 + k, "category_id": ch + 1, "iscrowd": 0,
                                    "bbox": [x0, y0, x1 - x0, y1 - y0], "area": (x1 - x0) * (y1 - y0)])
                let (w, h) = (Double(size.width), Double(size.height))
                yolo += String(format: "%d %.6f %.6f %.6f %.6f\n", ch, Double(x0 + x1) / 2 / w, Double(y0 + y1) / 2 / h,
                               Double(x1 - x0) / w, Double(y1 - y0) / h)
            }
            try yolo.write(toFile: "\(dir!)/yolo/\(stem).txt", atomically: true, encoding: .utf8)
        }
        // pycocotools' RLE of every class of the first mask, as segmentation-only annotations (no bbox,
        // so the boxes stay maskBoxes'), alternately compressed and uncompressed.
        let rle = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.root.appendingPathComponent("Tests/Fixtures/coco/rle.json"))) as! [String: Any]
        XCTAssertEqual(rle["mask"] as? String, "0001TP_006690.png")
        let size = [rle["height"] as! Int, rle["width"] as! Int]
        for (n, r) in (rle["regions"] as! [[String: Any]]).enumerated() {
            let counts: Any = n % 2 == 0 ? r["compressed"]! : r["counts"]!
            annotations.append(["id": annotations.count + 1, "image_id": 100, "category_id": (r["id"] as! Int) + 1, "iscrowd": 1,
                                "segmentation": ["counts": counts, "size": size]])
        }
        let categories = spellings.enumerated().map { ["id": $0.offset + 1, "name": $0.element] as [String: Any] }
        try JSONSerialization.data(withJSONObject: ["images": images, "annotations": annotations, "categories": categories])
            .write(to: URL(fileURLWithPath: dir + "/coco.json"))
        let names = "[" + spellings.joined(separator: ", ") + "]"
        let (s, ws) = try await run("""
          coco: {type: cocoAnnotations, params: {file: coco.json, images: images, synonyms: {person: Pedestrian}}}
          yolo: {type: yoloLabels, params: {images: images, labels: yolo, names: \(names), synonyms: {person: Pedestrian}}}
        """)
        for stem in stems {
            XCTAssertEqual(String(decoding: try bytes(s, ws, "coco", "boxes", "\(stem).json"), as: UTF8.self),
                           String(decoding: expected[stem]!, as: UTF8.self), "coco \(stem)")
            XCTAssertEqual(String(decoding: try bytes(s, ws, "yolo", "boxes", "\(stem).json"), as: UTF8.self),
                           String(decoding: expected[stem]!, as: UTF8.self), "yolo \(stem)")
            XCTAssertEqual(try bytes(s, ws, "coco", "images", "\(stem).png"), try Data(contentsOf: URL(fileURLWithPath: "\(dir!)/images/\(stem).png")))
        }
        let mask = try ImageIO.decodeMask(data: try bytes(s, ws, "coco", "masks", "0001TP_006690.png"), name: "coco mask")
        XCTAssertEqual(mask, try expectedMask("0001TP_006690"))
        // Images whose annotations carry no segmentation have no mask.
        XCTAssertEqual(s.node("coco")?.outputs["masks"]?.files.keys.sorted(), ["0001TP_006690.png"])
    }

    func testLabelStudioBrushFolderMergesIntoTheMask() async throws {
        let stem = "0001TP_006690"
        let truth = try ImageIO.readMask(path: "\(dir!)/masks/\(stem).png")
        let (w, h) = (truth.width, truth.height)
        func brush(_ painted: (Int) -> Bool) -> GrayImage {
            GrayImage(width: w, height: h, pixels: (0..<(w * h)).map { painted($0) ? 255 : 0 })
        }
        // The latest annotation (3): one PNG per class present; a tag name with a dash.
        for id in Set(truth.pixels) where id != 11 {
            try ImageIO.writePNG(brush { truth.pixels[$0] == id }, to: "\(dir!)/brush/task-7-annotation-3-by-1-tag-brush-tag-\(spellings[Int(id)])-0.png")
        }
        // A second Car stroke over a square: where it covers other classes the annotation disagrees with itself
        // (255); where it covers unpainted pixels (void in the truth) they become Car.
        let square = { (i: Int) in (40..<60).contains(i % w) && (100..<120).contains(i / w) }
        try ImageIO.writePNG(brush(square), to: "\(dir!)/brush/task-7-annotation-3-by-1-tag-brush-tag-cars-1.png")
        // An older annotation of the same task is ignored.
        try ImageIO.writePNG(brush { _ in true }, to: "\(dir!)/brush/task-7-annotation-2-by-1-tag-brush-tag-skies-0.png")
        try #"[{"id": 7, "data": {"image": "/data/upload/1/3f2a9c1e-0001TP_006690.png"}}]"#.write(toFile: dir + "/tasks.json", atomically: true, encoding: .utf8)
        let (s, ws) = try await run("  brush: {type: labelStudioBrush, params: {export: brush, images: images, taskImages: tasks.json, synonyms: {person: Pedestrian}}}")
        var expected = try expectedMask(stem)
        for i in expected.pixels.indices where square(i) { expected.pixels[i] = truth.pixels[i] == 8 || truth.pixels[i] == 11 ? 8 : 255 }
        let merged = try ImageIO.decodeMask(data: try bytes(s, ws, "brush", "masks", "\(stem).png"), name: "merged")
        XCTAssertEqual(merged, expected)
        XCTAssertEqual(s.node("brush")?.outputs["images"]?.files.keys.sorted(), ["\(stem).png"])
    }

    func testAnUnknownClassNameIsAnErrorListingTheFileAndTheKnownNames() async throws {
        try #"{"images": [], "annotations": [], "categories": [{"id": 1, "name": "unicorn"}]}"#.write(toFile: dir + "/coco.json", atomically: true, encoding: .utf8)
        do {
            _ = try await run("  coco: {type: cocoAnnotations, params: {file: coco.json, images: images}}")
            XCTFail("no error")
        } catch {
            let message = "\(error)"
            XCTAssertTrue(message.contains(dir + "/coco.json categories[0]: class 'unicorn' maps to no class"), message)
            XCTAssertTrue(message.contains("known: Sky, Building, Pole"), message)
        }
        try "0 0.5 0.5 0.2 0.2\n".write(toFile: "\(dir!)/yolo/\(stems[0]).txt", atomically: true, encoding: .utf8)
        do {
            _ = try await run("  yolo: {type: yoloLabels, params: {images: images, labels: yolo, names: [sky, dragon]}}")
            XCTFail("no error")
        } catch {
            XCTAssertTrue("\(error)".contains("names[1]: class 'dragon' maps to no class"), "\(error)")
        }
        // Annotations made on another size of the image are refused, naming both.
        try #"{"images": [{"id": 1, "file_name": "0001TP_006690.png", "width": 480, "height": 360}], "annotations": [], "categories": []}"#
            .write(toFile: dir + "/coco.json", atomically: true, encoding: .utf8)
        do {
            _ = try await run("  coco: {type: cocoAnnotations, params: {file: coco.json, images: images}}")
            XCTFail("no error")
        } catch {
            XCTAssertTrue("\(error)".contains("images[0] says 0001TP_006690.png is 480x360, but \(dir!)/images/0001TP_006690.png is 240x180"), "\(error)")
        }
    }
}
