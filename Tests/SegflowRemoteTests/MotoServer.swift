import Foundation
import XCTest
@testable import SegflowRemote

/// moto's S3 server on a free port of 127.0.0.1: the real S3 protocol, for the remote's tests.
///
/// Found as $SEGFLOW_MOTO_SERVER, ~/.cache/segflow/moto/bin/moto_server (what .ci/run installs) or
/// `moto_server` on PATH. Absent: the test skips, except under CI=true, where it fails.
final class MotoServer {
    let process = Process()
    private var motoPID: Int32 = 0
    let port: Int
    var endpoint: String { "http://127.0.0.1:\(port)" }

    static func executable() -> String? {
        let env = ProcessInfo.processInfo.environment
        var candidates = [env["SEGFLOW_MOTO_SERVER"] ?? "", NSHomeDirectory() + "/.cache/segflow/moto/bin/moto_server"]
        candidates += (env["PATH"] ?? "").split(separator: ":").map { "\($0)/moto_server" }
        return candidates.first { !$0.isEmpty && FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// `environment` adds settings such as INITIAL_NO_AUTH_ACTION_COUNT.
    init(environment: [String: String] = [:]) throws {
        guard let exe = Self.executable() else {
            let message = "moto_server not found (pip install \"moto[server]\"; see .ci/run)"
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail(message) }
            throw XCTSkip(message)
        }
        port = try Self.freePort()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        // The wrapper prints moto's pid and stops it when this test process is gone (even after a crash).
        process.arguments = ["-c", "\"$0\" -H 127.0.0.1 -p \(port) >/dev/null 2>&1 & pid=$!; echo $pid; "
                             + "while kill -0 \(getpid()) 2>/dev/null && kill -0 $pid 2>/dev/null; do sleep 1; done; kill -9 $pid 2>/dev/null", exe]
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        motoPID = Int32(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        // Ready when it answers HTTP.
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if Self.accepts(port) { return }
            usleep(100_000)
        }
        stop()
        throw XCTSkip("moto_server did not start on port \(port)")
    }

    func stop() {
        // SIGKILL: a child of the test runner inherits its blocked signals, so SIGTERM may never arrive.
        if motoPID > 0 { kill(motoPID, SIGKILL); motoPID = 0 }
        process.waitUntilExit()
    }

    deinit { if process.isRunning { stop() } }

    /// Credentials and endpoint as a user would set them.
    func environment(key: String = "testing", secret: String = "testing-secret") -> [String: String] {
        ["AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret, "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint,
         "HOME": NSTemporaryDirectory()]
    }

    /// Creates a bucket (moto starts empty).
    func createBucket(_ name: String) async throws {
        let config = try AWSConfig.resolve(remote: "s3://\(name)", environment: environment())
        let r = try await S3Client(config: config, bucket: name, displayURL: "s3://\(name)").send("PUT", key: "")
        XCTAssertTrue((200..<300).contains(r.status), "create bucket: HTTP \(r.status)")
    }

    /// Whether something listens on the port (moto's HTTP server answers once it does).
    static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw XCTSkip("no free port") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
