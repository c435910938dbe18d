import Foundation
import XCTest

/// The release build opens libcurl on first use (Sources/CCurlLoader): it must not be among the
/// libraries loaded at start, and HTTP must still work through it, here a real request over a socket.
final class HTTPLibraryTests: XCTestCase {
    /// `$SEGFLOW_TEST_BINARY`, else the release build (`make test` builds it with the Makefile's flags).
    func releaseBinary() throws -> String {
        if let p = ProcessInfo.processInfo.environment["SEGFLOW_TEST_BINARY"], !p.isEmpty { return p }
        let release = CLI.repo + "/.build/release/segflow"
        guard FileManager.default.isExecutableFile(atPath: release) else {
            throw XCTSkip("no release segflow: build it with `make release` (make test does), or set SEGFLOW_TEST_BINARY")
        }
        return release
    }

    func testReleaseBinaryStartsWithoutLibcurl() throws {
        let binary = try releaseBinary()
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/readelf") else { throw XCTSkip("no readelf (binutils)") }
        let r = try CLI.run(["/usr/bin/readelf", "-d", binary])
        XCTAssertEqual(r.status, 0, r.stderr)
        let needed = r.stdout.split(separator: "\n").filter { $0.contains("(NEEDED)") }
        XCTAssertFalse(needed.isEmpty, r.stdout)
        XCTAssertFalse(needed.contains { $0.contains("libcurl") },
                       "libcurl is loaded at every start again (build with `make release`: RELEASE_FLAGS drops it): \(needed)")
    }

    func testReleaseBinarySpeaksHTTPThroughLibcurlOpenedOnFirstUse() throws {
        let binary = try releaseBinary()
        let server = try RefusingS3Server(message: "marker-\(UUID().uuidString.prefix(8))")
        defer { server.stop() }
        let dir = try CLI.tempDir("http")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/imgs", withIntermediateDirectories: true)
        try Data([0x89, 0x50, 0x4E, 0x47]).write(to: URL(fileURLWithPath: dir + "/imgs/a.png"))
        try """
        version: 1
        name: http
        classes: [a, b]
        stages:
          images: {type: imageFolder, params: {images: imgs}}
        """.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        let env = CLI.environment(without: ["SEGFLOW_PLUGIN_PATH", "SEGFLOW_CACHE", "SEGFLOW_REMOTE", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"],
                                  setting: ["AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"])
        let r = try CLI.run([binary, "pull", "p.yaml", "--remote", "s3://bucket", "--endpoint", "http://127.0.0.1:\(server.port)"],
                            cwd: dir, environment: env)
        // The bucket listing reached the server and its answer came back: the S3 error's message, not a stop
        // inside Foundation for want of libcurl.
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("AccessDenied: \(server.message)"), r.stderr)
        XCTAssertGreaterThan(server.requests, 0)
    }
}

/// Answers every HTTP request with S3's 403 AccessDenied error carrying `message`, one connection at a
/// time, on 127.0.0.1 (a port the system picks).
final class RefusingS3Server: @unchecked Sendable {
    let message: String
    let port: UInt16
    private let fd: Int32
    private let lock = NSLock()
    private var served = 0
    var requests: Int { lock.lock(); defer { lock.unlock() }; return served }

    init(message: String) throws {
        self.message = message
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound, listen(fd, 16) == 0 else { close(fd); throw POSIXError(.EADDRINUSE) }
        self.fd = fd
        port = UInt16(bigEndian: addr.sin_port)
        Thread { [self] in serve() }.start()
    }

    private func serve() {
        while true {
            let c = accept(fd, nil, nil)
            guard c >= 0 else { return }  // stop() closed the socket
            var request = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !request.suffix(4).elementsEqual([13, 10, 13, 10]) {
                let n = read(c, &buffer, buffer.count)
                if n <= 0 { break }
                request += buffer[0..<n]
            }
            let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>\(message)</Message></Error>"
            let reply = "HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body
            _ = reply.withCString { write(c, $0, strlen($0)) }
            close(c)
            lock.lock(); served += 1; lock.unlock()
        }
    }

    func stop() { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }
}
