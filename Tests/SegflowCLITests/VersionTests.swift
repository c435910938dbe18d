import Foundation
import XCTest

/// `segflow --version`: the package version and the commit of the build.
final class VersionTests: XCTestCase {
    func testVersionPrintsPackageVersionAndCommit() throws {
        let r = try CLI.run([CLI.binary, "--version"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let line = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let m = try XCTUnwrap(line.wholeMatch(of: #/segflow (\d+\.\d+\.\d+) \(commit ([0-9a-f]{12}(-dirty)?|unknown)\)/#), line)
        // The commit is what `make` wrote for this build, or "unknown" for a build without it.
        let header = CLI.repo + "/Sources/CBuildInfo/commit.h"
        if let text = try? String(contentsOfFile: header, encoding: .utf8), let written = text.firstMatch(of: #/"([^"]+)"/#) {
            // A header written after this binary was built may name a newer commit: then the binary is stale,
            // which the message says.
            XCTAssertEqual(String(m.2), String(written.1), "the binary's commit is the one make wrote (rebuild if stale)")
        } else {
            XCTAssertEqual(String(m.2), "unknown", "without make's commit.h the commit is unknown, never made up")
        }
    }
}
