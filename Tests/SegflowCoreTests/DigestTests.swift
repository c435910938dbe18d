import Foundation
import XCTest
@testable import SegflowCore

/// The digest type and the diagnostics every user error goes through.
final class DigestTests: XCTestCase {
    func testHexRoundTripAndOrdering() {
        let d = Digest.of(Data("abc".utf8))
        XCTAssertEqual(d.hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(Digest(hex: d.hex), d)
        XCTAssertEqual(Digest(hex: d.hex.uppercased()), d)
        XCTAssertNil(Digest(hex: "xyz"))
        XCTAssertNil(Digest(hex: String(d.hex.dropLast()) + "g"))
        // Every character next to the hex ranges, at the start, middle and end of a digest.
        for bad in ["/", ":", "@", "G", "`", "g", " ", "\u{7f}"] {
            for at in [0, 31, 63] {
                var chars = Array(d.hex)
                chars[at] = Character(bad)
                XCTAssertNil(Digest(hex: String(chars)), "'\(bad)' at \(at)")
            }
        }
        // Mixed case parses to the same digest.
        XCTAssertEqual(Digest(hex: String(d.hex.enumerated().map { $0.offset % 2 == 0 ? Character($0.element.uppercased()) : $0.element })), d)
        XCTAssertEqual(Digest(bytes: d.bytes), d)
        let lo = Digest(hex: String(repeating: "0", count: 63) + "1")!, hi = Digest(hex: "1" + String(repeating: "0", count: 63))!
        XCTAssertLessThan(lo, hi)
    }

    func testFileDigestStreamsAndNamesAMissingFile() throws {
        let path = NSTemporaryDirectory() + "digest-\(UUID().uuidString)"
        try Data(repeating: 7, count: 3 << 20).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(try Digest.ofFile(at: path), Digest.of(Data(repeating: 7, count: 3 << 20)))
        XCTAssertThrowsError(try Digest.ofFile(at: path + ".missing")) { XCTAssertTrue("\($0)".contains(".missing")) }
    }

    func testDiagnosticsSortByLocationAndCount() {
        var bag = DiagnosticBag()
        bag.error("second", at: SourceLocation(file: "p.yaml", line: 9, column: 1))
        bag.error("first", at: SourceLocation(file: "p.yaml", line: 2, column: 5), hint: "do this")
        XCTAssertThrowsError(try bag.throwIfErrors()) { e in
            XCTAssertEqual("\(e)", "p.yaml:2:5: error: first\n  fix: do this\np.yaml:9:1: error: second\n2 errors")
        }
        XCTAssertEqual(Suggest.closest(to: "gradcamp", in: ["cam", "gradcampp", "hirescam"]), "gradcampp")
        XCTAssertNil(Suggest.closest(to: "zzzzzz", in: ["cam", "crf"]))
    }
}

/// Folder listings by readdir.
final class DirectoryTests: XCTestCase {
    func testEntriesNameFilesAndFoldersAndSkipDotFiles() throws {
        let dir = NSTemporaryDirectory() + "segflow-dir-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        let long = String(repeating: "n", count: 200) + ".png"
        for name in ["a.png", ".hidden", long] { FileManager.default.createFile(atPath: "\(dir)/\(name)", contents: Data()) }
        let entries = try Directory.entries(of: dir).sorted { $0.name < $1.name }
        XCTAssertEqual(entries.map(\.name), ["a.png", long, "sub"])
        XCTAssertEqual(entries.map(\.isDirectory), [false, false, true])
        XCTAssertEqual(try Directory.entries(of: dir, hidden: true).count, 4)
        XCTAssertThrowsError(try Directory.entries(of: dir + "/missing")) { error in
            XCTAssertTrue("\(error)".contains("missing"), "\(error)")
        }
    }
}
