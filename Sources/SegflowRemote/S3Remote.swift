import Crypto
import Foundation
import SegflowCore

/// A remote in an S3-compatible bucket, under a key prefix.
public struct S3Remote: RemoteStore {
    public let client: S3Client
    /// Key prefix without slashes at either end ("" for the bucket root).
    public let prefix: String
    /// Objects larger than this go up in parts of this size (S3's minimum part is 5 MiB).
    public var partSize: Int64 = 16 << 20
    /// Parts of one object in flight at once.
    public var partsAtOnce = 4

    public init(client: S3Client, prefix: String) { self.client = client; self.prefix = prefix }

    public var displayURL: String { client.displayURL }

    func key(_ path: String) -> String { prefix.isEmpty ? path : prefix + "/" + path }

    public func exists(_ path: String) async throws -> Bool {
        let r = try await client.send("HEAD", key: key(path))
        switch r.status {
        case 200..<300: return true
        case 404: return false
        default:
            // A HEAD reply has no body: ask again with GET to name the cause (bad credentials, no bucket).
            let g = try await client.send("GET", key: key(path))
            if (200..<300).contains(g.status) { return true }
            if g.status == 404, S3Client.xmlValue("Code", in: g.body) == "NoSuchKey" { return false }
            throw client.failure(g, "HEAD \(path)")
        }
    }

    public func upload(_ path: String, data: Data) async throws {
        let r = try await client.send("PUT", key: key(path), body: data)
        guard (200..<300).contains(r.status) else { throw client.failure(r, "PUT \(path)") }
    }

    public func upload(_ path: String, file: String, size: Int64, sha256: String) async throws {
        if size > partSize { return try await multipart(path, file: file, size: size) }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw SegflowError.user("cannot read \(file) to upload it", hint: "run segflow verify on the cache")
        }
        // The object's digest is the SHA-256 of its bytes: S3 checks the payload against it.
        let r = try await client.send("PUT", key: key(path), body: data, payloadHash: sha256)
        guard (200..<300).contains(r.status) else { throw client.failure(r, "PUT \(path)") }
    }

    public func download(_ path: String) async throws -> Data? {
        let r = try await client.send("GET", key: key(path))
        if r.status == 404 && S3Client.xmlValue("Code", in: r.body) != "NoSuchBucket" { return nil }
        guard (200..<300).contains(r.status) else { throw client.failure(r, "GET \(path)") }
        return r.body
    }

    public func list(_ sub: String) async throws -> [String] {
        var out: [String] = []
        var token: String? = nil
        let full = key(sub)
        let strip = prefix.isEmpty ? 0 : prefix.count + 1
        repeat {
            var q: [(String, String)] = [("list-type", "2"), ("prefix", full)]
            if let token { q.append(("continuation-token", token)) }
            let r = try await client.send("GET", key: "", query: q)
            guard (200..<300).contains(r.status) else { throw client.failure(r, "LIST \(sub)") }
            out += S3Client.xmlValues("Key", in: r.body).map { String($0.dropFirst(strip)) }
            token = S3Client.xmlValue("IsTruncated", in: r.body) == "true" ? S3Client.xmlValue("NextContinuationToken", in: r.body) : nil
        } while token != nil
        return out
    }

    // MARK: - Multipart

    /// CreateMultipartUpload, parts (a few at once, each read from disk when sent), Complete; Abort on failure
    /// so no half upload lingers (and is billed) in the bucket.
    func multipart(_ path: String, file: String, size: Int64) async throws {
        let k = key(path)
        let created = try await client.send("POST", key: k, query: [("uploads", "")])
        guard (200..<300).contains(created.status), let uploadID = S3Client.xmlValue("UploadId", in: created.body) else {
            throw client.failure(created, "multipart upload of \(path)")
        }
        let parts = Int((size + partSize - 1) / partSize)
        do {
            var etags = [String](repeating: "", count: parts)
            try await withThrowingTaskGroup(of: (Int, String).self) { group in
                var next = 0
                func add() {
                    let n = next; next += 1
                    group.addTask { (n, try await self.uploadPart(n, of: file, key: k, uploadID: uploadID, size: size)) }
                }
                while next < min(parts, partsAtOnce) { add() }
                while let done = try await group.next() {
                    etags[done.0] = done.1
                    if next < parts { add() }
                }
            }
            let body = "<CompleteMultipartUpload>" + etags.enumerated().map {
                "<Part><PartNumber>\($0.offset + 1)</PartNumber><ETag>\($0.element)</ETag></Part>"
            }.joined() + "</CompleteMultipartUpload>"
            let done = try await client.send("POST", key: k, query: [("uploadId", uploadID)], body: Data(body.utf8))
            // S3 may answer 200 with an error document when completion fails late.
            guard (200..<300).contains(done.status), S3Client.xmlValue("Code", in: done.body) == nil else {
                throw client.failure(done, "completing the upload of \(path)")
            }
        } catch {
            _ = try? await client.send("DELETE", key: k, query: [("uploadId", uploadID)])
            throw error
        }
    }

    func uploadPart(_ n: Int, of file: String, key k: String, uploadID: String, size: Int64) async throws -> String {
        guard let h = FileHandle(forReadingAtPath: file) else { throw SegflowError.user("cannot read \(file) to upload it") }
        defer { try? h.close() }
        try h.seek(toOffset: UInt64(Int64(n) * partSize))
        let data = try h.read(upToCount: Int(min(partSize, size - Int64(n) * partSize))) ?? Data()
        let r = try await client.send("PUT", key: k, query: [("partNumber", "\(n + 1)"), ("uploadId", uploadID)], body: data)
        guard (200..<300).contains(r.status), let etag = r.headers["etag"] else { throw client.failure(r, "part \(n + 1) of \(k)") }
        return etag
    }
}
