import Foundation
import XCTest
import SegflowTestSupport
import SegflowCore
@testable import SegflowStore
import GRDB
import SegflowGraph
import SegflowSpec
import SegflowStages
@testable import SegflowEngine

/// Incremental behaviour, asserted by counting executions (redun/SwiftPM style).
final class IncrementalTests: XCTestCase {
    var dir: String!
    let counter = ExecutionCounter()

    override func setUpWithError() throws {
        dir = try makeTemporaryFolder("inc")
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        for i in 0..<5 { try Data(repeating: UInt8(i), count: 100 + i).write(to: URL(fileURLWithPath: "\(dir!)/data/img\(i).png")) }
    }

    func catalog() -> StageCatalog {
        var c = StageCatalog()
        c.add(source: ImageFolderStage())
        c.add(SizeLabelStage(counter: counter))
        c.add(CopyLabelsStage(counter: counter))
        c.add(CountStage(counter: counter))
        return c
    }

    func writePipeline(tag: String = "a", modulo: Int = 1_000_000) throws -> String {
        let yaml = """
        version: 1
        name: inc
        classes: [a, b]
        stages:
          images: {type: imageFolder, params: {images: data}}
          sizes: {type: sizeLabel, inputs: {images: images.images}, params: {tag: \(tag), modulo: \(modulo)}}
          copy: {type: copyLabels, inputs: {labels: sizes.labels}}
          count: {type: countLabels, inputs: {labels: copy.labels}}
        """
        let path = dir + "/p.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Replaces a stored object's bytes behind the store's back (objects are read-only).
    /// Damages an object in place: its file, or its bytes in its pack (small objects, SmallObjects.swift).
    func overwrite(_ d: Digest, in ws: Workspace, with text: String) throws {
        if ws.objects.isInline(d) {
            try ws.objects.small.damage(d, with: Data(text.utf8))
        }
        guard FileManager.default.fileExists(atPath: ws.objects.path(of: d)) || !ws.objects.isInline(d) else { return }
        chmod(ws.objects.path(of: d), 0o644)
        try Data(text.utf8).write(to: URL(fileURLWithPath: ws.objects.path(of: d)))
    }

    func run(_ path: String, force: Set<String> = []) async throws -> RunSummary {
        let engine = Engine(workspace: try Workspace(root: dir + "/cache"), catalog: catalog())
        let graph = try PipelineGraph(spec: try PipelineSpec.load(path: path), registry: engine.catalog.registry)
        return try await engine.run(graph, options: RunOptions(force: force))
    }

    func testFirstRunComputesEverythingAndSecondNothing() async throws {
        let p = try writePipeline()
        let s1 = try await run(p)
        XCTAssertEqual(counter.items("sizeLabel").count, 5)
        XCTAssertEqual(counter.items("copyLabels").count, 5)
        XCTAssertEqual(counter.calls("countLabels"), 1)
        XCTAssertEqual(s1.node("count")?.status, "ran")
        counter.reset()
        let s2 = try await run(p)
        XCTAssertEqual(counter.items("sizeLabel"), [])
        XCTAssertEqual(counter.calls("countLabels"), 0)
        XCTAssertEqual(s2.ran, 0)
        XCTAssertEqual(s2.cached, 5 + 5 + 5 + 1)
    }

    func testParamChangeRerunsNodeAndDependantsThenRevertRerunsNothing() async throws {
        _ = try await run(try writePipeline(tag: "a"))
        counter.reset()
        _ = try await run(try writePipeline(tag: "b"))
        XCTAssertEqual(counter.items("sizeLabel").count, 5)
        XCTAssertEqual(counter.items("copyLabels").count, 5)
        XCTAssertEqual(counter.calls("countLabels"), 1)
        counter.reset()
        _ = try await run(try writePipeline(tag: "a"))
        XCTAssertEqual(counter.items("sizeLabel"), [])
        XCTAssertEqual(counter.items("copyLabels"), [])
        XCTAssertEqual(counter.calls("countLabels"), 0)
    }

    func testPlanWritesNoObjectsAndARunImportsNewFilesWithLineage() async throws {
        let p = try writePipeline()
        let workspace = try Workspace(root: dir + "/cache")
        let engine = Engine(workspace: workspace, catalog: catalog())
        let graph = try PipelineGraph(spec: try PipelineSpec.load(path: p), registry: catalog().registry)
        let plan = try engine.plan(graph)
        XCTAssertEqual(plan.nodes.first?.items.filter { $0.status == .run }.count, 5)
        let objects = FileManager.default.enumerator(atPath: workspace.objects.objectsDirectory)?.allObjects.compactMap { $0 as? String } ?? []
        XCTAssertTrue(objects.allSatisfy { !$0.contains("/") }, "a plan stores nothing: \(objects)")
        let s = try await engine.run(graph)
        XCTAssertEqual(s.node("images")?.ran, 5, "files copied in while hashing are still imported, with records")
        let d = try Digest.ofFile(at: dir + "/data/img3.png")
        XCTAssertTrue(workspace.objects.isIntact(d))
        // A plain source keeps no result row per item (its fingerprints and recorded trees say it all);
        // lineage still names the source, the item and the dataset file.
        XCTAssertEqual(try workspace.index.results(producing: d).map(\.node), [])
        let lineage = try Lineage.walk(from: d, target: "img3.png", workspace: workspace, registry: catalog().registry)
        XCTAssertEqual(lineage.steps.map(\.node), ["images"])
        XCTAssertEqual(lineage.steps.first?.item, "img3")
        XCTAssertEqual(lineage.steps.first?.runID, s.runID)
        XCTAssertEqual(lineage.steps.first?.inputs.map(\.datasetFile), [URL(fileURLWithPath: dir + "/data/img3.png").standardized.path])
        // The image's digest in the execution record's key is the one lineage rebuilds.
        let executions = try workspace.index.executions(run: s.runID, node: "images")
        XCTAssertEqual(executions.count, 5)
        XCTAssertTrue(executions.contains { $0.item == "img3" && $0.key == lineage.steps.first?.key }, "\(executions.map(\.key))")
        // Imported files are marked with their fingerprints: the next plan stats no object and runs nothing.
        let again = try engine.plan(graph)
        XCTAssertEqual(again.nodes.first?.items.filter { $0.status == .run }.count, 0)
    }

    func testLineageOfADatasetFileWithTheBytesOfAnotherNamesTheOneAskedFor() async throws {
        try FileManager.default.createDirectory(atPath: dir + "/dup", withIntermediateDirectories: true)
        for name in ["b.png", "a.png", "c.png"] { try Data("same bytes".utf8).write(to: URL(fileURLWithPath: dir + "/dup/" + name)) }
        try "version: 1\nname: dup\nclasses: [a, b]\nstages:\n  images: {type: imageFolder, params: {images: dup}}\n"
            .write(toFile: dir + "/dup.yaml", atomically: true, encoding: .utf8)
        let workspace = try Workspace(root: dir + "/cache")
        let s = try await Engine(workspace: workspace, catalog: catalog())
            .run(try PipelineGraph(spec: try PipelineSpec.load(path: dir + "/dup.yaml"), registry: catalog().registry))
        XCTAssertEqual(s.node("images")?.ran, 3)
        let d = Digest.of(Data("same bytes".utf8))
        let byPath = try Lineage.walk(from: d, target: dir + "/dup/c.png", workspace: workspace, registry: catalog().registry)
        XCTAssertEqual(byPath.steps.map(\.item), ["c"])
        // By digest alone: the first file by name, every time (not whichever a dictionary gives first).
        for _ in 0..<3 {
            let byDigest = try Lineage.walk(from: d, target: d.hex, workspace: workspace, registry: catalog().registry)
            XCTAssertEqual(byDigest.steps.map(\.item), ["a"])
        }
    }

    func testResultLinksAreRewrittenOnlyWhenOutputsChange() async throws {
        let results = dir + "/cache/results/inc"
        func folderInode() throws -> UInt64 {
            try XCTUnwrap((try FileManager.default.attributesOfItem(atPath: results))[.systemFileNumber] as? UInt64)
        }
        _ = try await run(try writePipeline(tag: "a"))
        let first = try folderInode()
        // Result files are hard links to their objects: a new output is another inode.
        func fileInode() throws -> UInt64 {
            try XCTUnwrap((try FileManager.default.attributesOfItem(atPath: results + "/sizes/labels/img0.json"))[.systemFileNumber] as? UInt64)
        }
        let linkA = try fileInode()
        // The dataset files a plain source imported are the user's own: not linked (lineage names them).
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: results).sorted(), [".segflow-links", "copy", "count", "sizes"])
        _ = try await run(try writePipeline(tag: "a"))
        XCTAssertEqual(try folderInode(), first, "a cached run leaves the links alone")
        _ = try await run(try writePipeline(tag: "b"))
        XCTAssertNotEqual(try folderInode(), first, "new outputs: new links")
        XCTAssertNotEqual(try fileInode(), linkA)
    }

    func testReplacingOneImageRerunsOnlyThatItemAndReduces() async throws {
        let p = try writePipeline()
        _ = try await run(p)
        counter.reset()
        try Data(repeating: 9, count: 321).write(to: URL(fileURLWithPath: "\(dir!)/data/img2.png"))
        let plan = try Engine(workspace: try Workspace(root: dir + "/cache"), catalog: catalog())
            .plan(try PipelineGraph(spec: try PipelineSpec.load(path: p), registry: catalog().registry))
        XCTAssertEqual(plan.nodes.first { $0.node.id == "sizes" }?.items.first { $0.status == .run }?.reasons, ["changed input: images/img2"])
        _ = try await run(p)
        XCTAssertEqual(counter.items("sizeLabel"), ["img2"])
        XCTAssertEqual(counter.items("copyLabels"), ["img2"])
        XCTAssertEqual(counter.calls("countLabels"), 1)
    }

    func testIdenticalOutputKeepsDependantsCached() async throws {
        _ = try await run(try writePipeline(modulo: 1_000_000))
        counter.reset()
        // Sizes are 100...104, so modulo 1000 gives the same labels: sizes reruns, copy and count stay cached.
        let s = try await run(try writePipeline(modulo: 1000))
        XCTAssertEqual(counter.items("sizeLabel").count, 5)
        XCTAssertEqual(counter.items("copyLabels"), [])
        XCTAssertEqual(counter.calls("countLabels"), 0)
        XCTAssertEqual(s.node("copy")?.status, "cached")
    }

    func testForceRerunsOneStage() async throws {
        let p = try writePipeline()
        _ = try await run(p)
        counter.reset()
        _ = try await run(p, force: ["copy"])
        XCTAssertEqual(counter.items("sizeLabel"), [])
        XCTAssertEqual(counter.items("copyLabels").count, 5)
        XCTAssertEqual(counter.calls("countLabels"), 0, "same outputs: the reduce stays cached")
    }

    func testCorruptImportedImageIsImportedAgain() async throws {
        let p = try writePipeline()
        let s1 = try await run(p)
        let ws = try Workspace(root: dir + "/cache")
        let image = s1.node("images")!.outputs["images"]!.files["img3.png"]!
        try overwrite(image, in: ws, with: "garbage")
        counter.reset()
        _ = try await run(p, force: ["sizes"])
        XCTAssertTrue(ws.objects.isIntact(image), "the dataset file was copied into the store again")
        XCTAssertEqual(counter.items("sizeLabel").count, 5)
        counter.reset()
        let s3 = try await run(p)
        XCTAssertEqual(s3.ran, 0)
    }

    func testCorruptObjectIsDetectedAndRecomputed() async throws {
        let p = try writePipeline()
        let s1 = try await run(p)
        let ws = try Workspace(root: dir + "/cache")
        let labelDigest = s1.node("sizes")!.outputs["labels"]!.files["img1.json"]!
        try overwrite(labelDigest, in: ws, with: "[\"tampered\"]")
        counter.reset()
        // Force copy so it reads its inputs: the corrupt one must be caught and rebuilt, never used.
        let s2 = try await run(p, force: ["copy"])
        XCTAssertEqual(counter.items("sizeLabel"), ["img1"])
        XCTAssertTrue(ws.objects.isIntact(labelDigest))
        let copied = s2.node("copy")!.outputs["labels"]!.files["img1.json"]!
        XCTAssertEqual(copied, labelDigest)
    }
}

/// Nodes identical across variants share one key and run once.
final class MatrixRunTests: XCTestCase {
    func testSharedPrefixRunsOnceForSixVariants() async throws {
        let dir = try makeTemporaryFolder("mrun")
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        for i in 0..<4 { try Data(repeating: UInt8(i), count: 50 + i).write(to: URL(fileURLWithPath: "\(dir)/data/im\(i).png")) }
        let yaml = """
        version: 1
        name: ablation
        classes: [a]
        matrix:
          tag: [x, y, z]
          modulo: [1000, 1000000]
        stages:
          images: {type: imageFolder, params: {images: data}}
          shared: {type: sizeLabel, inputs: {images: images.images}, params: {tag: shared}}
          train: {type: countLabels, inputs: {labels: shared.labels}}
          heat: {type: sizeLabel, inputs: {images: images.images}, params: {tag: "${matrix.tag}", modulo: "${matrix.modulo}"}}
        """
        try yaml.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        let counter = ExecutionCounter()
        var c = StageCatalog()
        c.add(source: ImageFolderStage()); c.add(SizeLabelStage(counter: counter)); c.add(CountStage(counter: counter))
        let engine = Engine(workspace: try Workspace(root: dir + "/cache"), catalog: c)
        let graph = try PipelineGraph(spec: try PipelineSpec.load(path: dir + "/p.yaml"), registry: c.registry)
        XCTAssertEqual(graph.variants.count, 6)
        _ = try await engine.run(graph)
        XCTAssertEqual(counter.calls("countLabels"), 1, "the 'classifier' trains once for six variants")
        XCTAssertEqual(counter.items("sizeLabel").count, 4 + 6 * 4)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/cache/results/ablation/tag=y,modulo=1000/heat/labels/im1.json"))
    }

    func testTargetsRunOnlyWhatTheyNeedAndKeepOtherLinks() async throws {
        let dir = try makeTemporaryFolder("targets")
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        for i in 0..<3 { try Data(repeating: UInt8(i), count: 50 + i).write(to: URL(fileURLWithPath: "\(dir)/data/im\(i).png")) }
        func write(shared: String) throws {
            try """
            version: 1
            name: targets
            classes: [a]
            matrix:
              tag: [x, y]
            stages:
              images: {type: imageFolder, params: {images: data}}
              shared: {type: sizeLabel, inputs: {images: images.images}, params: {tag: \(shared)}}
              train: {type: countLabels, inputs: {labels: shared.labels}}
              heat: {type: sizeLabel, inputs: {images: images.images}, params: {tag: "${matrix.tag}"}}
            """.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        }
        let counter = ExecutionCounter()
        var c = StageCatalog()
        c.add(source: ImageFolderStage()); c.add(SizeLabelStage(counter: counter)); c.add(CountStage(counter: counter))
        let engine = Engine(workspace: try Workspace(root: dir + "/cache"), catalog: c)
        try write(shared: "s1")
        let graph = try PipelineGraph(spec: try PipelineSpec.load(path: dir + "/p.yaml"), registry: c.registry)

        // A stage name names its node in every variant; ancestors come along, nothing else.
        XCTAssertEqual(try graph.restricted(to: ["heat"]).nodes.map(\.id), ["images", "tag=x/heat", "tag=y/heat"])
        XCTAssertEqual(try graph.restricted(to: ["train"]).nodes.map(\.id), ["images", "shared", "train"])
        XCTAssertEqual(try graph.restricted(to: ["tag=y/heat"]).nodes.map(\.id), ["images", "tag=y/heat"])
        XCTAssertThrowsError(try graph.restricted(to: ["haet"])) { e in
            XCTAssertTrue("\(e)".contains("did you mean 'heat'"), "\(e)")
        }

        _ = try await engine.run(graph)
        counter.reset()
        try write(shared: "s2")
        let changed = try PipelineGraph(spec: try PipelineSpec.load(path: dir + "/p.yaml"), registry: c.registry)
        var options = RunOptions()
        options.partial = true
        _ = try await engine.run(try changed.restricted(to: ["shared"]), options: options)
        XCTAssertEqual(counter.items("sizeLabel").count, 3, "only shared reruns")
        XCTAssertEqual(counter.calls("countLabels"), 0, "train is not a target")
        let results = dir + "/cache/results/targets"
        let shared = try String(contentsOfFile: results + "/shared/labels/im0.json", encoding: .utf8)
        XCTAssertTrue(shared.contains("s2"), shared)
        XCTAssertTrue(FileManager.default.fileExists(atPath: results + "/tag=x/heat/labels/im0.json"), "other links stay")
        XCTAssertFalse(FileManager.default.fileExists(atPath: results + "/images"), "a plain source gets no folder on a partial run either")
        XCTAssertTrue(FileManager.default.fileExists(atPath: results + "/train/labels/count.json")
                      || ((try? FileManager.default.contentsOfDirectory(atPath: results + "/train")) ?? []).count > 0)
    }
}

/// Ctrl-C: finished chunks stay committed, the run stops, and the next run computes only the rest.
final class CancellationTests: XCTestCase {
    struct CancellingStage: StageImplementation {
        let counter: ExecutionCounter
        let cancellation: Cancellation
        var descriptor = StageDescriptor(
            name: "slowLabel", version: 1, inputs: [PortSpec("images", .images)], outputs: [PortSpec("labels", .labels)],
            params: [], granularity: .map, summary: "test stage")
        func run(_ call: StageCall) async throws -> StageOutcome {
            counter.record(descriptor.name, items: call.items)
            for stem in call.items {
                try Data("[]".utf8).write(to: URL(fileURLWithPath: try call.outputPath(port: "labels", file: "\(stem).json")))
            }
            if call.items.count == NodeExecutor.nativeChunk { cancellation.cancel() }   // Ctrl-C during the first chunk
            return StageOutcome()
        }
    }

    func testInterruptedRunKeepsFinishedChunksAndResumes() async throws {
        let dir = try makeTemporaryFolder("cancel")
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        for i in 0..<70 { try Data([UInt8(i)]).write(to: URL(fileURLWithPath: String(format: "%@/data/im%03d.png", dir, i))) }
        try "version: 1\nname: c\nclasses: [a]\nstages:\n  images: {type: imageFolder, params: {images: data}}\n  labels: {type: slowLabel, inputs: {images: images.images}}\n"
            .write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        let counter = ExecutionCounter()
        func run(_ cancellation: Cancellation) async throws -> RunSummary {
            var c = StageCatalog()
            c.add(source: ImageFolderStage()); c.add(CancellingStage(counter: counter, cancellation: cancellation))
            let engine = Engine(workspace: try Workspace(root: dir + "/cache"), catalog: c)
            return try await engine.run(try PipelineGraph(spec: try PipelineSpec.load(path: dir + "/p.yaml"), registry: c.registry),
                                        options: RunOptions(cancellation: cancellation))
        }
        do { _ = try await run(Cancellation()); XCTFail("expected the run to stop") } catch SegflowError.cancelled {}
        XCTAssertEqual(counter.items("slowLabel").count, NodeExecutor.nativeChunk)
        let ws = try Workspace(root: dir + "/cache")
        XCTAssertEqual(try ws.index.runs(limit: 1).first?.status, "cancelled")
        counter.reset()
        let s = try await run(Cancellation())
        XCTAssertEqual(counter.items("slowLabel").count, 70 - NodeExecutor.nativeChunk, "only the unfinished items run")
        XCTAssertEqual(s.node("labels")?.cached, NodeExecutor.nativeChunk)
    }
}
