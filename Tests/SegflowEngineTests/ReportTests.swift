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
}
