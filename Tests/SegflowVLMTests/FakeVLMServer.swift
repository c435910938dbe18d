import Foundation
import XCTest
@testable import SegflowVLM

/// Starts `Tests/Fixtures/vlm/fake_vlm_server.py` on a free port of 127.0.0.1 and reads what it received.
final class FakeVLMServer {
    let process = Process()
    /// The server exits when this closes, even if the test runner dies.
    private let input = Pipe()
    let port: Int
    let logURL: URL
    private let dir: URL
    var url: String { "http://127.0.0.1:\(port)" }

    static var scriptPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/vlm/fake_vlm_server.py").path
    }

    /// `rules` as described in the script's docstring.
    init(rules: [[String: Any]]) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("fakevlm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let scriptURL = dir.appendingPathComponent("script.json")
        logURL = dir.appendingPathComponent("log.jsonl")
        try JSONSerialization.data(withJSONObject: ["rules": rules]).write(to: scriptURL)
        let out = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.scriptPath, scriptURL.path, logURL.path, "--lifetime", "120"]
        process.standardOutput = out
        process.standardInput = input
        do { try process.run() } catch { throw XCTSkip("python3 is needed for the fake VLM server: \(error)") }
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let p = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            throw XCTSkip("the fake VLM server did not start (is python3 installed?)")
        }
        port = p
    }

    /// Every request received, in order: `method`, `path`, `headers` (lowercase names), `body`.
    func requests() -> [[String: Any]] {
        guard let text = try? String(contentsOf: logURL, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }

    func bodies() -> [[String: Any]] { requests().compactMap { $0["body"] as? [String: Any] } }

    func stop() {
        try? input.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(3)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        try? FileManager.default.removeItem(at: dir)
    }

    deinit { stop() }
}

// MARK: - Shared fixtures

enum Fixture {
    static let vocabulary = ["cement road", "red paved path", "yellow paved path", "soil", "lawn", "water", "curb", "others"]
    static let synonyms = ["grass": "lawn", "curd": "curb", "brick road": "red paved path"]
    static let directPrompt = "Which of these surfaces are in the image?\n{{classes}}\nAnswer with JSON {\"annotations\": [...]}."
    static let describePrompt = "Describe the scene from the perspective of the terrain, surface by surface."
    static let pickPrompt = "Description:\n{{description}}\n\nPick from:\n{{classes}}\nJSON {\"annotations\": [...]}"

    static func item(_ stem: String) -> VLMItem {
        VLMItem(stem: stem, imageData: Data("PNG-bytes-of-\(stem)".utf8), mimeType: "image/png")
    }

    static func config(_ server: FakeVLMServer?, backend: CoTConfig.Backend = .ollama, model: String = "llava:13b",
                       url: String? = nil) -> CoTConfig {
        var c = CoTConfig(backend: backend, url: url ?? server?.url, model: model, temperature: 0.5, seed: 7,
                          timeout: 5, concurrency: 2, retries: 2, retryBaseDelay: 0.01, retryMaxDelay: 0.05,
                          strategy: .direct, prompt: directPrompt, vocabulary: vocabulary, synonyms: synonyms)
        c.describePrompt = describePrompt
        c.pickPrompt = pickPrompt
        return c
    }

    static func run(_ config: CoTConfig, _ items: [VLMItem]) async throws -> [ItemLabels] {
        try await CoTLabeler(config: config).label(items, progress: { _, _ in })
    }
}
