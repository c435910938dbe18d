import Foundation
import XCTest
@testable import SegflowImaging

// MARK: - Fixtures, temporary files, helpers

enum Fixture {
    /// Tests/Fixtures/imaging, found from this file's location.
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/imaging")

    static func path(_ name: String) -> String {
        folder.appendingPathComponent(name).path
    }

    /// The CamVid copy at /work/shared/data/camvid or ../shared/data/camvid beside the
    /// package root; nil when neither exists.
    static var camvid: String? {
        let packageRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let candidates = [
            "/work/shared/data/camvid",
            packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data/camvid").path,
        ]
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/train") }
    }
}

/// A fresh temporary folder, removed when the test ends.
func temporaryFolder(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("segflow-imaging-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// Parses a binary PPM (P6) or PGM (P5) with maxval 255: (width, height, channels, bytes).
func readNetpbm(_ path: String) throws -> (Int, Int, Int, [UInt8]) {
    let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    var fields: [String] = []
    var i = 0
    while fields.count < 4 {
        while data[i] == 0x20 || data[i] == 0x0A || data[i] == 0x0D || data[i] == 0x09 { i += 1 }
        var s = ""
        while !(data[i] == 0x20 || data[i] == 0x0A || data[i] == 0x0D || data[i] == 0x09) {
            s.append(Character(UnicodeScalar(data[i])))
            i += 1
        }
        fields.append(s)
    }
    i += 1
    let channels = fields[0] == "P6" ? 3 : 1
    return (Int(fields[1])!, Int(fields[2])!, channels, Array(data[i...]))
}

/// Runs python3 with `script`; skips the test when python3 or numpy is missing.
@discardableResult
func runPython(_ script: String, needsNumpy: Bool = true) throws -> String {
    func run(_ code: String) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", code]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        do { try p.run() } catch { throw XCTSkip("python3 not available: \(error)") }
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: out, as: UTF8.self))
    }
    if needsNumpy {
        let (rc, out) = try run("import numpy")
        if rc != 0 { throw XCTSkip("numpy not available: \(out)") }
    }
    let (rc, out) = try run(script)
    guard rc == 0 else {
        XCTFail("python3 failed (\(rc)): \(out)")
        return out
    }
    return out
}

/// Asserts that `body` throws an ImagingError of `kind` whose description names `path`
/// and contains every fragment.
func assertImagingError<T>(_ body: @autoclosure () throws -> T, kind: ImagingError.Kind, path: String,
                           contains fragments: [String] = [], file: StaticString = #filePath,
                           line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected an ImagingError for \(path)", file: file, line: line)
    } catch let e as ImagingError {
        XCTAssertEqual(e.kind, kind, "\(e)", file: file, line: line)
        XCTAssertTrue(e.description.hasPrefix(path + ": "), "\(e)", file: file, line: line)
        for f in fragments {
            XCTAssertTrue(e.description.contains(f), "'\(f)' missing from: \(e)", file: file, line: line)
        }
        XCTAssertFalse(e.hint.isEmpty, "no fix hint in: \(e)", file: file, line: line)
    } catch {
        XCTFail("expected ImagingError, got \(error)", file: file, line: line)
    }
}

/// (bit depth, colour type) from a PNG's IHDR.
func pngDepthAndType(_ data: Data) -> (Int, Int) {
    let b = [UInt8](data.prefix(26))
    return (Int(b[24]), Int(b[25]))
}
