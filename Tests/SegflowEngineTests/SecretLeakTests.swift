import Foundation
import XCTest

/// A planted API key (cotLabel's `apiKeyEnv`) never lands anywhere segflow writes (issue 13): not in
/// keys, logs, the index, results, transcripts or the report, even when the server echoes it back in
/// answers and errors. The binary runs the pipeline, then every file of the cache and the report and
/// every line segflow printed is searched for the key's bytes and for its base64.
final class SecretLeakTests: XCTestCase {
    var dir: String!
    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "segflow-secret-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir + "/frames", withIntermediateDirectories: true)
        for s in ["A", "B", "C", "D"] { try Data("IMG_\(s) pixels".utf8).write(to: URL(fileURLWithPath: "\(dir!)/frames/\(s).png")) }
    }
    override func tearDownWithError() throws { if getenv("KEEP") == nil { try? FileManager.default.removeItem(atPath: dir) } }

    /// The byte strings that would betray `key`: itself, and its base64 at each of the three alignments
    /// it can have inside a longer base64 text (edge characters that depend on neighbours dropped).
    static func needles(_ key: String) -> [(String, Data)] {
        var out: [(String, Data)] = [("key", Data(key.utf8))]
        for pad in 0..<3 {
            let b64 = (Data(repeating: 0, count: pad) + Data(key.utf8)).base64EncodedString()
            let start = pad == 0 ? 0 : (pad * 8 + 5) / 6 + 1
            let end = b64.count - 4
            if end > start { out.append(("base64+\(pad)", Data(b64.dropFirst(start).prefix(end - start).utf8))) }
        }
        return out
    }

    func testAPlantedKeyAppearsInNoFileAndNoOutput() throws {
        let binary = try MeasuredProcess.segflowBinary()
        let key = "sk-segflow-test-\(UUID().uuidString.replacingOccurrences(of: "-", with: ""))"
        let ok = "{\"annotations\": [\"lawn\"]}"
        let server = try FakeVLMServer(rules: [
            // A model that repeats what it was sent, the key included, around a good answer.
            ["image": "IMG_A", "responses": [["text": "You said Authorization: Bearer {{authorization}}. \(ok)"]]],
            ["image": "IMG_B", "responses": [["text": ok]]],
            // A server error that quotes the key (as some APIs do for a malformed key).
            ["image": "IMG_C", "responses": [["status": 500, "text": "upstream rejected key {{authorization}}"]]],
            // An answer without JSON that contains the key: the item fails with its raw answer quoted.
            ["image": "IMG_D", "responses": [["text": "no idea, but your key is {{authorization}}"]]],
        ])
        defer { server.stop() }
        let yaml = """
        version: 1
        name: secret
        classes: [lawn, curb]
        stages:
          frames: {type: imageFolder, params: {images: frames}}
          cot:
            type: cotLabel
            inputs: {images: frames.images}
            params: {backend: openai, url: "\(server.url)", model: m, apiKeyEnv: SEGFLOW_TEST_API_KEY, retries: 0, prompt: prompt.md}

        """
        try yaml.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        try "Which of {{classes}} are in the image? JSON {\"annotations\": [...]}".write(toFile: dir + "/prompt.md", atomically: true, encoding: .utf8)
        var printed = ""
        func segflow(_ args: [String], key value: String) throws -> MeasuredProcess {
            let r = try MeasuredProcess.run(binary, args + ["--cache", dir + "/cache"], directory: dir,
                                            environment: ["SEGFLOW_TEST_API_KEY": value])
            printed += r.stdout + r.stderr
            return r
        }
        let run = try segflow(["run", "p.yaml"], key: key)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.contains("cot: 2 item(s) failed"), run.stderr)
        XCTAssertTrue(run.stderr.contains("<redacted>"), "the echoed key was replaced: \(run.stderr)")
        // The key was really sent: the server saw it, once per request.
        let auth = server.requests().compactMap { ($0["headers"] as? [String: Any])?["authorization"] as? String }
        XCTAssertEqual(auth, Array(repeating: "Bearer \(key)", count: 4))

        for args in [["plan", "p.yaml"], ["log"], ["why", "cot/A"], ["report", "p.yaml", "-o", dir + "/report"]] {
            let r = try segflow(args, key: key)
            XCTAssertEqual(r.status, 0, "\(args): \(r.stderr)")
        }
        // Another key: the successful items stay cached (the key is in no cache key).
        let rotated = "sk-segflow-rotated-\(UUID().uuidString.replacingOccurrences(of: "-", with: ""))"
        let again = try segflow(["run", "p.yaml"], key: rotated)
        XCTAssertTrue(again.stderr.contains("cot (cotLabel): 2 to run, 2 cached"), again.stderr)

        var files: [String] = []
        for root in [dir + "/cache", dir + "/report"] {
            let e = FileManager.default.enumerator(atPath: root)
            while let rel = e?.nextObject() as? String {
                var isDir: ObjCBool = false
                let path = root + "/" + rel
                if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue { files.append(path) }
            }
        }
        XCTAssertGreaterThan(files.count, 10, "the cache and the report were written")
        XCTAssertTrue(files.contains { $0.hasSuffix("index.sqlite") })
        XCTAssertTrue(files.contains { $0.contains("/transcripts/") })
        var blobs = files.map { ($0, (try? Data(contentsOf: URL(fileURLWithPath: $0))) ?? Data()) }
        blobs.append(("what segflow printed", Data(printed.utf8)))
        for (what, needle) in Self.needles(key) + Self.needles(rotated) {
            for (path, data) in blobs {
                XCTAssertNil(data.range(of: needle), "\(what) of the API key found in \(path)")
            }
        }
    }
}
