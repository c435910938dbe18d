import Foundation
import XCTest
@testable import SegflowRemote

/// The signer against AWS's published SigV4 test suite (Tests/Fixtures/sigv4, see SOURCE.md there).
final class SigV4Tests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/sigv4")

    /// The suite's own credentials, region, service and time.
    static let suite = (key: "AKIDEXAMPLE", secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", region: "us-east-1",
                        service: "service", date: "20150830T123600Z")

    struct Request { var method: String; var path: String; var query: [(String, String)]; var headers: [(String, String)]; var body: Data }

    /// Parses a `.req` file: `METHOD PATH?QUERY HTTP/1.1`, `Name:value` lines, a blank line, the body.
    static func parse(_ text: String) -> Request {
        let (head, body): (Substring, Substring) = {
            if let r = text.range(of: "\n\n") { return (text[..<r.lowerBound], text[r.upperBound...]) }
            return (text[...], "")
        }()
        var lines = head.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let first = lines.removeFirst().split(separator: " ")
        let target = String(first[1])
        let (path, rawQuery) = target.firstIndex(of: "?").map { (String(target[..<$0]), String(target[target.index(after: $0)...])) } ?? (target, "")
        let query: [(String, String)] = rawQuery.isEmpty ? [] : rawQuery.split(separator: "&").map { pair in
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(kv[0]).removingPercentEncoding!, kv.count > 1 ? String(kv[1]).removingPercentEncoding! : "")
        }
        let headers = lines.map { line -> (String, String) in
            let colon = line.firstIndex(of: ":")!
            return (String(line[..<colon]), String(line[line.index(after: colon)...]))
        }
        return Request(method: String(first[0]), path: path, query: query, headers: headers, body: Data(body.utf8))
    }

    static func date(_ s: String) -> Date {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX"); f.timeZone = TimeZone(identifier: "UTC"); f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return f.date(from: s)!
    }

    func check(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = Self.fixtures.appendingPathComponent(name)
        func read(_ ext: String) -> String? { try? String(contentsOf: dir.appendingPathComponent("\(name).\(ext)"), encoding: .utf8) }
        var ctx = Self.suite
        if let c = try? String(contentsOf: dir.appendingPathComponent("context"), encoding: .utf8) {
            let f = c.split(separator: " ").map(String.init)
            ctx = (f[0], f[1], f[2], f[3], f[4])
        }
        let req = Self.parse(try XCTUnwrap(read("req"), "\(name).req missing"))
        let signer = SigV4Signer(credentials: AWSCredentials(accessKeyID: ctx.key, secretAccessKey: ctx.secret),
                                 region: ctx.region, service: ctx.service)
        let s = signer.sign(method: req.method, path: req.path, query: req.query, headers: req.headers,
                            payloadHash: SigV4Signer.payloadHash(req.body), date: Self.date(ctx.date))
        if let creq = read("creq") { XCTAssertEqual(s.canonicalRequest, creq, "\(name): canonical request", file: file, line: line) }
        if let sts = read("sts") { XCTAssertEqual(s.stringToSign, sts, "\(name): string to sign", file: file, line: line) }
        XCTAssertEqual(s.authorization, try XCTUnwrap(read("authz")), "\(name): authorization", file: file, line: line)
    }

    func testGetVanilla() throws { try check("get-vanilla") }
    func testQueryOrderKeyCase() throws { try check("get-vanilla-query-order-key-case") }
    func testQueryOrderKey() throws { try check("get-vanilla-query-order-key") }
    func testQueryUnreserved() throws { try check("get-vanilla-query-unreserved") }
    func testHeaderValueTrim() throws { try check("get-header-value-trim") }
    func testPostFormURLEncoded() throws { try check("post-x-www-form-urlencoded") }
    func testSessionTokenSigned() throws { try check("post-sts-header-before") }
    func testS3GetObjectExample() throws { try check("s3-get-object") }

    /// Every fixture folder has a test above (a vector added without one would prove nothing).
    func testEveryFixtureIsChecked() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.fixtures.path).filter { !$0.hasSuffix(".md") }.sorted()
        XCTAssertEqual(names, ["get-header-value-trim", "get-vanilla", "get-vanilla-query-order-key", "get-vanilla-query-order-key-case",
                               "get-vanilla-query-unreserved", "post-sts-header-before", "post-x-www-form-urlencoded", "s3-get-object"])
    }

    func testCredentialsNeverPrintTheSecret() {
        let c = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sessionToken: "TOKEN123")
        XCTAssertFalse("\(c)".contains("wJalr"))
        XCTAssertFalse("\(c)".contains("TOKEN123"))
    }
}
