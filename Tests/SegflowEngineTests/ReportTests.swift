import Foundation
import XCTest
import SegflowCore
import SegflowGraph
import SegflowSpec
import SegflowStages
@testable import SegflowEngine

/// `segflow report`: a static page that works from file://, rendered in a real headless Chromium.
final class ReportTests: XCTestCase {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    func testReportRendersWithTableImagesAndNoBrokenLinks() async throws {
        let dir = NSTemporaryDirectory() + "segflow-report-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let data = Self.repo + "/pipelines/data/camvid-tiny"
        let yaml = """
        version: 1
        name: report
        classes: \(data)/classes.yaml
        stages:
          train: {type: imageFolder, params: {images: \(data)/train, masks: \(data)/trainannot, limit: 3}}
          score: {type: evaluate, inputs: {masks: train.masks, truth: train.masks}}
          sheets: {type: visualize, inputs: {images: train.images, truth: train.masks}}
        """
        try yaml.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        let catalog = try StageCatalog.standard(pluginRoots: [])
        let ws = try Workspace(root: dir + "/cache")
        let graph = try PipelineGraph(spec: try PipelineSpec.load(path: dir + "/p.yaml"), registry: catalog.registry)
        _ = try await Engine(workspace: ws, catalog: catalog).run(graph)
        let index = try HTMLReport.write(graph: graph, workspace: ws, to: dir + "/report")
        let html = try String(contentsOfFile: index, encoding: .utf8)
        // The DAG is Graphviz's drawing (make deps installs graphviz), not the fallback columns.
        XCTAssertTrue(html.contains("<svg id=\"dag\"") && html.contains("class=\"node\""), "Graphviz drew the DAG")

        // Every relative link and image exists next to the page.
        let refs = html.components(separatedBy: "src=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
            + html.components(separatedBy: "href=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        XCTAssertEqual(refs.filter { $0.hasSuffix(".png") }.count, 6, "3 thumbnails, each linked")
        for r in refs { XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/report/" + r), "broken link \(r)") }

        guard let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: FileManager.default.isExecutableFile) else {
            throw XCTSkip("chromium is not installed (apt-get install chromium); the static checks above passed")
        }
        func chromiumRun(_ args: [String]) throws -> String {
            let p = Process(), out = Pipe()
            p.executableURL = URL(fileURLWithPath: chromium)
            p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
                           "--user-data-dir=\(dir)/chromium-profile"] + args + ["file://" + index]
            p.standardOutput = out; p.standardError = FileHandle.nullDevice
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        // The DOM after load: the table has its row, and every image decoded (naturalWidth > 0 is checked by
        // asking Chromium to print it through the title).
        let dom = try chromiumRun(["--dump-dom", "--virtual-time-budget=5000"])
        XCTAssertTrue(dom.contains("<table id=\"comparison\">"), "comparison table rendered")
        XCTAssertTrue(dom.contains("score.miou"))
        XCTAssertEqual(dom.components(separatedBy: "<img ").count - 1, 3)
        _ = try chromiumRun(["--screenshot=\(dir)/shot.png", "--window-size=1200,1600"])
        let shot = try Data(contentsOf: URL(fileURLWithPath: dir + "/shot.png"))
        XCTAssertGreaterThan(shot.count, 20_000, "a real screenshot, not a blank page")
    }

    // MARK: - The DAG drawing in a real browser

    /// Headless Chromium, or a skip.
    static func chromium() throws -> String {
        guard let c = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: FileManager.default.isExecutableFile) else {
            throw XCTSkip("chromium is not installed (apt-get install chromium)")
        }
        return c
    }

    /// Loads the report's DAG section for `graph` in Chromium at 1200 px and measures it there: every
    /// Graphviz node and cluster inside the SVG's box, and the SVG inside the page or its scrolling box.
    func assertDAGFits(_ graph: PipelineGraph, nodes: Int, clusters: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let chromium = try Self.chromium()
        let dir = NSTemporaryDirectory() + "segflow-dag-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let section = HTMLReport.dagSection(graph)
        XCTAssertTrue(section.contains("class=\"node\""), "Graphviz drew it (is graphviz installed? make deps)", file: file, line: line)
        let page = """
        <!doctype html><html><head><meta charset="utf-8"><title>pending</title></head><body style="margin:24px">\(section)
        <script>
        const svg = document.getElementById('dag'), box = document.getElementById('dag-box'), s = svg.getBoundingClientRect();
        let outside = 0;
        const parts = svg.querySelectorAll('g.node, g.cluster');
        for (const g of parts) {
          const r = g.getBoundingClientRect();
          if (r.left < s.left - 0.5 || r.top < s.top - 0.5 || r.right > s.right + 0.5 || r.bottom > s.bottom + 0.5) outside++;
        }
        const b = box.getBoundingClientRect();
        document.title = JSON.stringify({nodes: svg.querySelectorAll('g.node').length, clusters: svg.querySelectorAll('g.cluster').length,
          outside, svgWidth: s.width, boxRight: b.right, viewport: window.innerWidth, scrollWidth: box.scrollWidth,
          boxWidth: box.clientWidth, overflow: getComputedStyle(box).overflowX});
        </script></body></html>
        """
        try page.write(toFile: dir + "/dag.html", atomically: true, encoding: .utf8)
        let p = Process(), out = Pipe()
        p.executableURL = URL(fileURLWithPath: chromium)
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(dir)/profile", "--window-size=1200,900",
                       "--dump-dom", "--virtual-time-budget=3000", "file://\(dir)/dag.html"]
        p.standardOutput = out; p.standardError = FileHandle.nullDevice
        try p.run()
        let dom = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let title = try XCTUnwrap(dom.firstRange(of: "<title>").flatMap { start in dom[start.upperBound...].firstRange(of: "</title>").map { String(dom[start.upperBound..<$0.lowerBound]) } },
                                  "no title in the DOM", file: file, line: line)
        let m = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(title.replacingOccurrences(of: "&quot;", with: "\"").utf8)) as? [String: Any],
                              "the page's script did not run: \(title)", file: file, line: line)
        XCTAssertEqual(m["nodes"] as? Int, nodes, "every node drawn: \(m)", file: file, line: line)
        XCTAssertEqual(m["clusters"] as? Int, clusters, "one cluster per variant: \(m)", file: file, line: line)
        XCTAssertEqual(m["outside"] as? Int, 0, "nothing cut off by the SVG's edge: \(m)", file: file, line: line)
        let svgWidth = m["svgWidth"] as? Double ?? .infinity, boxRight = m["boxRight"] as? Double ?? .infinity
        XCTAssertLessThanOrEqual(boxRight, (m["viewport"] as? Double ?? 0) + 0.5, "the box stays inside the page: \(m)", file: file, line: line)
        // Wider than its box: the box scrolls to all of it.
        if svgWidth > (m["boxWidth"] as? Double ?? 0) + 0.5 {
            XCTAssertEqual(m["overflow"] as? String, "auto", "\(m)", file: file, line: line)
            XCTAssertGreaterThanOrEqual((m["scrollWidth"] as? Double ?? 0) + 1, svgWidth, "\(m)", file: file, line: line)
        }
    }

    func testQuickstartDAGFitsInTheBrowser() throws {
        let catalog = try StageCatalog.standard(pluginRoots: [Self.repo + "/plugins"])
        let graph = try PipelineGraph(spec: try PipelineSpec.load(path: Self.repo + "/pipelines/quickstart.yaml"), registry: catalog.registry)
        XCTAssertEqual(graph.nodes.count, 10 + 3 * 6)   // 10 shared stages, 6 per kind of mask
        try assertDAGFits(graph, nodes: graph.nodes.count, clusters: 3)
    }

    func testThreeByTwoMatrixDAGFitsInTheBrowser() throws {
        let dir = NSTemporaryDirectory() + "segflow-dag3x2-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = Self.repo + "/pipelines/data/camvid-tiny"
        try """
        version: 1
        name: grid
        classes: \(data)/classes.yaml
        matrix:
          width: [1, 3, 5]
          srgb: [3, 13]
        stages:
          train: {type: imageFolder, params: {images: \(data)/train, masks: \(data)/trainannot}}
          scribbles: {type: maskScribbles, inputs: {masks: train.masks}, params: {width: "${matrix.width}"}}
          dense: {type: seedCRF, inputs: {images: train.images, scribbles: scribbles.scribbles}, params: {srgb: "${matrix.srgb}"}}
          score: {type: evaluate, inputs: {masks: dense.masks, truth: train.masks}}
          sheets: {type: visualize, inputs: {images: train.images, masks: dense.masks, truth: train.masks}}
        """.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        let catalog = try StageCatalog.standard(pluginRoots: [])
        let graph = try PipelineGraph(spec: try PipelineSpec.load(path: dir + "/p.yaml"), registry: catalog.registry)
        // train; scribbles x3; dense, score and sheets x6.
        XCTAssertEqual(graph.nodes.count, 1 + 3 + 18)
        try assertDAGFits(graph, nodes: 22, clusters: 3 + 6)
    }
}
