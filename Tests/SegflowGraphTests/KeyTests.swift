import Foundation
import XCTest
import SegflowCore
import SegflowGraph
import SegflowSpec
import SegflowStages

/// Keys: pinned golden digests, and one test per component proving it changes the key.
final class KeyTests: XCTestCase {
    let descriptor = StageDescriptor(
        name: "crf", version: 1, inputs: [PortSpec("images", .images), PortSpec("cams", .cams)], outputs: [PortSpec("masks", .masks)],
        params: [ParamSpec("iterations", .int, default: .int(10)), ParamSpec("srgb", .float, default: .double(13)),
                 ParamSpec("prompt", .file, default: .string("")), ParamSpec("data", .directory, default: .string(""))],
        granularity: .map, summary: "")
    let classes = ClassList(classes: [.init(id: 0, name: "sky", color: [1, 2, 3])], ignore: 11, background: nil, source: "x").canonical
    let d1 = Digest.of(Data("image".utf8)), d2 = Digest.of(Data("cam".utf8))

    func key(descriptor: StageDescriptor? = nil, params: [String: CanonicalValue] = ["iterations": .int(10), "srgb": .double(13)],
             classes: CanonicalValue? = nil, files: [String: Digest] = [:], image: Digest? = nil, stem: String = "a",
             whole: [(port: String, tree: Digest)] = []) -> Digest {
        let prefix = KeyBuilder.nodePrefix(descriptor: descriptor ?? self.descriptor, params: params,
                                           classes: classes ?? self.classes, fileDigests: files)
        return KeyBuilder.itemKey(prefix: prefix, wholeInputs: whole,
                                  itemInputs: [("cams", "\(stem).npy", d2), ("images", "\(stem).png", image ?? d1)], stem: stem)
    }

    func testGoldenDigests() {
        XCTAssertEqual(Digest.of(Data()).hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(CanonicalValue.map(["b": .int(1), "a": .list([.string("x"), .bool(true), .null])]).digest(domain: "t").hex,
                       "f7b3cab85cbd93b8f98c9870203e7901fe78f2f8e6c2743843f99812ed48ee6f")
        XCTAssertEqual(key().hex, "d58de97042016616ccaae326df6fcb99eb143209912389187c1a9e1fd9d710ef")
        XCTAssertEqual(FileTree(["a.png": d1, "b.png": d2]).digest.hex, "e7a71ec7231f00fd56a1dcb2a6ff24eb28d4d38d8cf40eedd50b35128ede02eb")
    }

    func testEncodingIsUnambiguous() {
        XCTAssertNotEqual(CanonicalValue.list([.string("ab")]).digest(domain: "t"), CanonicalValue.list([.string("a"), .string("b")]).digest(domain: "t"))
        XCTAssertNotEqual(CanonicalValue.string("1").digest(domain: "t"), CanonicalValue.int(1).digest(domain: "t"))
        XCTAssertNotEqual(CanonicalValue.int(1).digest(domain: "t"), CanonicalValue.int(1).digest(domain: "u"))
        XCTAssertEqual(CanonicalValue.double(3).digest(domain: "t"), CanonicalValue.int(3).digest(domain: "t"), "3 and 3.0 are one value")
    }

    func testEveryComponentChangesTheKey() {
        let base = key()
        var d = descriptor; d.name = "crf2"
        XCTAssertNotEqual(key(descriptor: d), base, "stage type")
        d = descriptor; d.version = 2
        XCTAssertNotEqual(key(descriptor: d), base, "stage version")
        d = descriptor; d.implementationFingerprint = Digest.of(Data("plugin".utf8))
        XCTAssertNotEqual(key(descriptor: d), base, "implementation fingerprint")
        XCTAssertNotEqual(key(params: ["iterations": .int(5), "srgb": .double(13)]), base, "params")
        XCTAssertNotEqual(key(classes: .map(["classes": .list([])])), base, "classes")
        XCTAssertNotEqual(key(params: ["iterations": .int(10), "srgb": .double(13), "prompt": .string("/p")],
                              files: ["prompt": Digest.of(Data("v2".utf8))]),
                          key(params: ["iterations": .int(10), "srgb": .double(13), "prompt": .string("/p")],
                              files: ["prompt": Digest.of(Data("v1".utf8))]), "file param content")
        XCTAssertNotEqual(key(image: Digest.of(Data("other".utf8))), base, "item input")
        XCTAssertNotEqual(key(stem: "b"), base, "item stem")
        XCTAssertNotEqual(key(whole: [("model", d1)]), base, "whole input")
    }

    func testParamsThatDoNotAffectOutputsStayOutOfKeys() {
        var d = descriptor
        d.params.append(ParamSpec("timeout", .float, default: .double(120), affectsOutput: false))
        let a = KeyBuilder.nodePrefix(descriptor: d, params: ["iterations": .int(10), "timeout": .double(5)], classes: classes, fileDigests: [:]).finalize()
        let b = KeyBuilder.nodePrefix(descriptor: d, params: ["iterations": .int(10), "timeout": .double(600)], classes: classes, fileDigests: [:]).finalize()
        XCTAssertEqual(a, b)
    }

    func testThingsThatMustNotChangeTheKey() {
        let p = ["iterations": CanonicalValue.int(10), "srgb": .double(13), "prompt": .string("/a/prompt.md"), "data": .string("/a/data")]
        let q = ["iterations": CanonicalValue.int(10), "srgb": .double(13), "prompt": .string("/elsewhere/prompt.md"), "data": .string("/b/data")]
        let f = ["prompt": Digest.of(Data("same".utf8))]
        XCTAssertEqual(key(params: p, files: f), key(params: q, files: f), "paths of files and folders do not enter keys")
    }

    /// Writing a default explicitly, or reordering YAML keys, gives the same node key.
    func testDefaultsAndKeyOrderDoNotMatter() throws {
        func nodeParams(_ yaml: String) throws -> [String: CanonicalValue] {
            let dir = NSTemporaryDirectory() + "segflow-keys-\(UUID().uuidString.prefix(6))"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let path = dir + "/p.yaml"
            try yaml.write(toFile: path, atomically: true, encoding: .utf8)
            let graph = try PipelineGraph(spec: try PipelineSpec.load(path: path), registry: DiagnosticSnapshotTests.registry)
            return graph.node("refine")!.params
        }
        let head = "version: 1\nname: t\nclasses: [a]\nstages:\n  images: {type: imageFolder, params: {images: .}}\n  heat: {type: cam, inputs: {images: images.images}}\n"
        let a = try nodeParams(head + "  refine: {type: crf, inputs: {images: images.images, cams: heat.cams}}\n")
        let b = try nodeParams(head + "  refine: {type: crf, params: {srgb: 13.0, iterations: 10}, inputs: {cams: heat.cams, images: images.images}}\n")
        let c = try nodeParams(head + "  refine: {type: crf, params: {iterations: 11}, inputs: {cams: heat.cams, images: images.images}}\n")
        XCTAssertEqual(CanonicalValue.map(a).digest(domain: "t"), CanonicalValue.map(b).digest(domain: "t"))
        XCTAssertNotEqual(CanonicalValue.map(a).digest(domain: "t"), CanonicalValue.map(c).digest(domain: "t"))
    }
}
