import Foundation
import XCTest
import SegflowCore
@testable import SegflowRemote
@testable import SegflowEngine

/// `segflow push` as a user runs it: killed mid-way it resumes without re-sending; bad credentials
/// give one clear line naming the remote.
final class RemoteCommandTests: XCTestCase {
    /// `env` is added to this process's environment (SEGFLOW_REMOTE and the AWS settings left out).
    func segflow(_ args: [String], env: [String: String], in directory: String? = nil) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try segflowExecutable())
        p.arguments = args
        var e = ProcessInfo.processInfo.environment.filter { $0.key != "SEGFLOW_REMOTE" && !$0.key.hasPrefix("AWS_") }
        for (k, v) in env { e[k] = v }
        p.environment = e
        if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
        return p
    }

    func runToEnd(_ args: [String], env: [String: String], in directory: String? = nil) throws -> (status: Int32, out: String, err: String) {
        let p = try segflow(args, env: env, in: directory)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// "N objects sent (...), M skipped" from the summary line.
    func counts(_ out: String) -> (sent: Int, skipped: Int, rows: Int, rowsSkipped: Int)? {
        let n = out.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        guard out.contains("objects sent"), n.count >= 5 else { return nil }
        // push to s3://lab/kill: S objects sent (B), K skipped (already there), F failed; R results sent, RS skipped
        let words = out.components(separatedBy: " ")
        func before(_ w: String) -> Int? { words.firstIndex(of: w).flatMap { Int(words[$0 - 1]) } }
        guard let s = before("objects"), let k = words.firstIndex(of: "skipped").flatMap({ Int(words[$0 - 1]) }) else { return nil }
        let r = before("results") ?? 0
        let rs = words.lastIndex(of: "skipped").flatMap { Int(words[$0 - 1]) } ?? 0
        return (s, k, r, rs)
    }

    func testKilledPushResumesWithoutResending() async throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        try await moto.createBucket("lab")
        let f = try RemoteFixture(items: 400)
        _ = try await f.run(cache: "cache")
        let env = moto.environment()
        let args = ["push", "--cache", f.dir + "/cache", "--remote", "s3://lab/kill", "--transfers", "4"]
        // Kill it once a fifth of the objects are reported sent (progress lines go to stderr).
        let p = try segflow(args, env: env)
        let err = Pipe()
        p.standardError = err; p.standardOutput = FileHandle.nullDevice
        try p.run()
        var seen = ""
        while p.isRunning {
            let chunk = err.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
            if seen.contains("push: 81/401 objects") || seen.contains("push: 121/401 objects") { kill(p.processIdentifier, SIGKILL); break }
        }
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .uncaughtSignal, "the push was killed mid-way: \(seen)")
        let remote = try RemoteURL.open("s3://lab/kill", environment: env)
        let arrived = try await remote.list("objects/").count
        XCTAssertGreaterThan(arrived, 0); XCTAssertLessThan(arrived, 401)

        let second = try runToEnd(args, env: env)
        XCTAssertEqual(second.status, 0, second.err)
        let c = try XCTUnwrap(counts(second.out), second.out)
        XCTAssertEqual(c.skipped, arrived, "what arrived is not sent again")
        XCTAssertEqual(c.sent, 401 - arrived)
        XCTAssertEqual(c.rows, 401, "rows go up only after every object: none arrived before the kill")
        let after = try await remote.list("objects/")
        XCTAssertEqual(after.count, 401)
    }

    func testWrongCredentialsGiveAClearErrorNamingTheRemote() async throws {
        // With authentication on (after the one request that creates the bucket), moto checks every key and signature.
        let moto = try MotoServer(environment: ["INITIAL_NO_AUTH_ACTION_COUNT": "1"])
        defer { moto.stop() }
        try await moto.createBucket("lab")
        let f = try RemoteFixture(items: 2)
        _ = try await f.run(cache: "cache")
        let secret = "not-the-secret-1234"
        let r = try runToEnd(["push", "--cache", f.dir + "/cache", "--remote", "s3://lab/x"],
                             env: moto.environment(key: "AKIAWRONGKEY", secret: secret))
        XCTAssertEqual(r.status, 2, r.err)
        XCTAssertTrue(r.err.contains("remote s3://lab/x refused"), r.err)
        XCTAssertTrue(r.err.contains("InvalidAccessKeyId"), r.err)
        XCTAssertTrue(r.err.contains("fix: check the credentials"), r.err)
        XCTAssertFalse(r.err.contains("<?xml") || r.err.contains("<Error>"), r.err)
        XCTAssertFalse((r.err + r.out).contains(secret))
        XCTAssertLessThan(r.err.split(separator: "\n").count, 6, r.err)
    }

    /// As a user in a project folder: credentials from ~/.aws/credentials (AWS_PROFILE), the remote from
    /// SEGFLOW_REMOTE, `--endpoint`; `pull` without a pipeline pulls for every pipelines/*.yaml, skipping
    /// one that cannot be planned here; the secret is nowhere in either cache.
    func testPullWithoutAPipelineCoversTheProjectsPipelines() async throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        try await moto.createBucket("lab")
        let f = try RemoteFixture(items: 1)
        let project = f.dir + "/project", home = f.dir + "/home"
        try FileManager.default.createDirectory(atPath: project + "/pipelines", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: home + "/.aws", withIntermediateDirectories: true)
        let secret = "profile-secret-5f3a9c"
        try "[default]\naws_access_key_id = WRONG\naws_secret_access_key = wrong\n[lab]\naws_access_key_id = LABKEY\naws_secret_access_key = \(secret)\n"
            .write(toFile: home + "/.aws/credentials", atomically: true, encoding: .utf8)
        let tiny = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("pipelines/data/camvid-tiny").path
        func pipeline(_ name: String, images: String) -> String {
            """
            version: 1
            name: \(name)
            classes: \(tiny)/classes.yaml
            stages:
              images: {type: imageFolder, params: {images: \(images)/train, masks: \(images)/trainannot}}
              clicks: {type: maskPoints, inputs: {masks: images.masks}, params: {minArea: 1}}
            """
        }
        try pipeline("tiny", images: tiny).write(toFile: project + "/pipelines/tiny.yaml", atomically: true, encoding: .utf8)
        try pipeline("elsewhere", images: f.dir + "/not-here").write(toFile: project + "/pipelines/elsewhere.yaml", atomically: true, encoding: .utf8)
        let env = ["HOME": home, "AWS_PROFILE": "lab", "SEGFLOW_REMOTE": "s3://lab/project"]
        let endpoint = ["--endpoint", moto.endpoint]

        let ran = try runToEnd(["run", "pipelines/tiny.yaml", "--cache", f.dir + "/a"], env: [:], in: project)
        XCTAssertEqual(ran.status, 0, ran.err)
        let push = try runToEnd(["push", "--cache", f.dir + "/a"] + endpoint, env: env, in: project)
        XCTAssertEqual(push.status, 0, push.err)
        XCTAssertTrue(push.out.contains("push to s3://lab/project:"), push.out)
        let c = try XCTUnwrap(counts(push.out), push.out)
        XCTAssertGreaterThan(c.sent, 0); XCTAssertEqual(c.skipped, 0); XCTAssertGreaterThan(c.rows, 0)

        let pull = try runToEnd(["pull", "--cache", f.dir + "/b"] + endpoint, env: env, in: project)
        XCTAssertEqual(pull.status, 0, pull.err)
        XCTAssertTrue(pull.out.contains("tiny: \(c.rows) results adopted; the next run computes 0 work unit(s)"), pull.out)
        XCTAssertTrue(pull.err.contains("skipped pipelines/elsewhere.yaml"), pull.err)
        XCTAssertTrue(pull.out.contains("pull from s3://lab/project: \(c.sent) objects received"), pull.out)
        // Named pipelines are pulled as given: one that cannot be planned is an error.
        let named = try runToEnd(["pull", "pipelines/elsewhere.yaml", "--cache", f.dir + "/b"] + endpoint, env: env, in: project)
        XCTAssertEqual(named.status, 2, named.err)

        for cache in ["a", "b"] {
            let walker = FileManager.default.enumerator(atPath: f.dir + "/" + cache)
            while let rel = walker?.nextObject() as? String {
                guard let data = FileManager.default.contents(atPath: f.dir + "/" + cache + "/" + rel) else { continue }
                XCTAssertNil(data.range(of: Data(secret.utf8)), "the secret is in \(cache)/\(rel)")
            }
        }
        XCTAssertFalse((push.out + push.err + pull.out + pull.err).contains(secret))
    }

    /// A transfer that fails is counted in the summary, the rest still moves, and the exit code is 2.
    func testAFailedTransferIsCountedAndExitsWith2() async throws {
        let f = try RemoteFixture(items: 3)
        let (a, first, _) = try await f.run(cache: "cache")
        let lost = try XCTUnwrap(first.node("stamp")?.outputs["labels"]?.files["img00001.json"])
        unlink(a.workspace.objects.path(of: lost))
        let r = try runToEnd(["push", "--cache", f.dir + "/cache", "--remote", "file://\(f.dir)/shared"], env: [:])
        XCTAssertEqual(r.status, 2, r.err)
        XCTAssertTrue(r.out.contains("3 objects sent") && r.out.contains("1 failed"), r.out)
        XCTAssertTrue(r.err.contains("object \(lost.short) is missing from the local store"), r.err)
        XCTAssertTrue(r.err.contains("fix: run the command again"), r.err)
    }

    func testNoRemoteGivenIsAUserError() throws {
        let f = try RemoteFixture(items: 1)
        let r = try runToEnd(["push", "--cache", f.dir + "/cache"], env: [:])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("no finished run") || r.err.contains("no remote given"), r.err)
    }
}

/// Credentials and region from the standard places.
final class AWSConfigTests: XCTestCase {
    func testEnvironmentFirstThenProfileFile() throws {
        let dir = NSTemporaryDirectory() + "segflow-aws-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir + "/.aws", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "[default]\naws_access_key_id = DEFKEY\naws_secret_access_key = defsecret\n\n[lab]\naws_access_key_id=LABKEY\naws_secret_access_key=labsecret\naws_session_token = tok\n"
            .write(toFile: dir + "/.aws/credentials", atomically: true, encoding: .utf8)
        try "[profile lab]\nregion = eu-west-3\n".write(toFile: dir + "/.aws/config", atomically: true, encoding: .utf8)
        let lab = try AWSConfig.resolve(remote: "s3://b", environment: ["HOME": dir, "AWS_PROFILE": "lab"])
        XCTAssertEqual(lab.credentials.accessKeyID, "LABKEY"); XCTAssertEqual(lab.credentials.sessionToken, "tok")
        XCTAssertEqual(lab.region, "eu-west-3"); XCTAssertNil(lab.endpoint)
        let def = try AWSConfig.resolve(remote: "s3://b", environment: ["HOME": dir, "AWS_DEFAULT_REGION": "us-west-2"])
        XCTAssertEqual(def.credentials.accessKeyID, "DEFKEY"); XCTAssertEqual(def.region, "us-west-2")
        let env = try AWSConfig.resolve(remote: "s3://b", endpoint: "http://127.0.0.1:9000",
                                        environment: ["HOME": dir, "AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "s",
                                                      "AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "x", "AWS_ENDPOINT_URL": "http://other:1"])
        XCTAssertEqual(env.credentials.accessKeyID, "ENVKEY"); XCTAssertEqual(env.region, "ap-south-1")
        XCTAssertEqual(env.endpoint?.absoluteString, "http://127.0.0.1:9000", "--endpoint wins over AWS_ENDPOINT_URL")
        XCTAssertThrowsError(try AWSConfig.resolve(remote: "s3://b/p", environment: ["HOME": dir + "/none"])) { e in
            XCTAssertTrue("\(e)".contains("no AWS credentials for the remote s3://b/p"), "\(e)")
        }
    }

    func testRemoteURLs() throws {
        XCTAssertThrowsError(try RemoteURL.open("ftp://x", environment: [:])) { XCTAssertTrue("\($0)".contains("not a remote URL")) }
        XCTAssertThrowsError(try RemoteURL.open("file://relative/path", environment: [:])) { XCTAssertTrue("\($0)".contains("absolute path")) }
        XCTAssertThrowsError(try RemoteURL.open("s3://Bad_Bucket/p", environment: ["AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"])) {
            XCTAssertTrue("\($0)".contains("not an S3 bucket name"))
        }
        let s3 = try XCTUnwrap(try RemoteURL.open("s3://lab-cache/a/b/", environment: ["AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s",
                                                                                      "AWS_ENDPOINT_URL": "http://127.0.0.1:9000"]) as? S3Remote)
        XCTAssertEqual(s3.prefix, "a/b")
        let loc = s3.client.location("a/b/objects/ab/cd")
        XCTAssertEqual(loc.base + loc.path, "http://127.0.0.1:9000/lab-cache/a/b/objects/ab/cd", "path-style for a custom endpoint")
        let aws = try XCTUnwrap(try RemoteURL.open("s3://lab-cache", environment: ["AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s",
                                                                                 "AWS_REGION": "eu-central-1", "HOME": "/nonexistent"]) as? S3Remote)
        XCTAssertEqual(aws.client.location("k").base, "https://lab-cache.s3.eu-central-1.amazonaws.com")
    }
}
