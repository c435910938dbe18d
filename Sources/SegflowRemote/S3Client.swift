import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SegflowCore

/// S3's REST API over HTTP, signed with SigV4: the handful of calls a remote cache needs.
///
/// Path-style addressing (`ENDPOINT/BUCKET/KEY`) for a custom endpoint, as MinIO, Ceph and moto
/// expect; virtual-hosted (`BUCKET.s3.REGION.amazonaws.com/KEY`) for AWS itself. Every request is
/// retried with exponential backoff on 5xx, 429 and dropped connections.
public final class S3Client: @unchecked Sendable {
    public let config: AWSConfig
    public let bucket: String
    public let displayURL: String
    let signer: SigV4Signer
    let session: URLSession
    /// Attempts per request (1 + retries) and the first backoff delay.
    public var attempts = 5
    public var baseDelay = 0.2

    /// Throws when libcurl, which URLSession needs, cannot be loaded.
    public init(config: AWSConfig, bucket: String, displayURL: String) throws {
        try HTTPLibrary.requireLoaded()
        self.config = config; self.bucket = bucket; self.displayURL = displayURL
        signer = SigV4Signer(credentials: config.credentials, region: config.region, service: "s3")
        let c = URLSessionConfiguration.ephemeral
        c.httpMaximumConnectionsPerHost = 32
        // An idle timer: a connection dropped mid-upload is noticed only when it fires.
        c.timeoutIntervalForRequest = 60
        c.requestCachePolicy = .reloadIgnoringLocalCacheData
        session = URLSession(configuration: c)
    }

    /// A reply: status, headers (lowercase names) and body.
    public struct Reply: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: Data
    }

    /// The URL and the canonical path (as signed) of a key.
    func location(_ key: String) -> (base: String, host: String, path: String) {
        let encodedKey = SigV4Signer.uriEncode(key, keepSlash: true)
        if let e = config.endpoint {
            var base = e.absoluteString
            while base.hasSuffix("/") { base.removeLast() }
            let basePath = e.path == "/" ? "" : e.path
            let host = e.port.map { "\(e.host!):\($0)" } ?? e.host!
            let path = "\(basePath)/\(bucket)" + (key.isEmpty ? "" : "/" + encodedKey)
            return (String(base.dropLast(basePath.count)), host, path)
        }
        let host = "\(bucket).s3.\(config.region).amazonaws.com"
        return ("https://\(host)", host, "/" + encodedKey)
    }

    /// Sends one signed request, retrying transient failures. Non-2xx replies other than those are returned.
    public func send(_ method: String, key: String, query: [(String, String)] = [], body: Data = Data(),
                     payloadHash: String? = nil, headers extra: [(String, String)] = []) async throws -> Reply {
        var attempt = 0
        while true {
            attempt += 1
            let outcome: Result<Reply, Error>
            do { outcome = .success(try await once(method, key: key, query: query, body: body, payloadHash: payloadHash, headers: extra)) }
            catch { outcome = .failure(error) }
            let retryable: Bool
            switch outcome {
            case .success(let r): retryable = r.status >= 500 || r.status == 429
            case .failure(let e): retryable = Self.isTransient(e)
            }
            if !retryable || attempt >= attempts {
                switch outcome {
                case .success(let r): return r
                case .failure(let e): throw transportError(e, method: method, key: key)
                }
            }
            // Full jitter: concurrent transfers that failed together do not retry together.
            let delay = min(8, baseDelay * pow(2, Double(attempt - 1))) * Double.random(in: 0.5...1)
            try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
        }
    }

    private func once(_ method: String, key: String, query: [(String, String)], body: Data, payloadHash: String?,
                      headers extra: [(String, String)]) async throws -> Reply {
        let (base, host, path) = location(key)
        let date = Date()
        let hash = payloadHash ?? SigV4Signer.payloadHash(body)
        var headers: [(String, String)] = [("host", host), ("x-amz-date", SigV4Signer.amzDate(date)), ("x-amz-content-sha256", hash)]
        if let token = config.credentials.sessionToken { headers.append(("x-amz-security-token", token)) }
        headers += extra
        let signed = signer.sign(method: method, path: path, query: query, headers: headers, payloadHash: hash, date: date)
        let queryString = SigV4Signer.canonicalQuery(query)
        guard let url = URL(string: base + path + (queryString.isEmpty ? "" : "?" + queryString)) else {
            throw SegflowError.internal("cannot build a URL for \(key)")
        }
        var request = URLRequest(url: url)
        request.httpMethod = method
        for (name, value) in headers where name != "host" { request.setValue(value, forHTTPHeaderField: name) }
        request.setValue(signed.authorization, forHTTPHeaderField: "Authorization")
        if !body.isEmpty || method == "PUT" || method == "POST" {
            request.httpBody = body
            // Without a type, URLSession calls a POST body a form, and servers that parse forms (moto) eat it.
            request.setValue(method == "POST" ? "application/xml" : "application/octet-stream", forHTTPHeaderField: "Content-Type")
        }
        return try await withCheckedThrowingContinuation { (k: CheckedContinuation<Reply, Error>) in
            session.dataTask(with: request) { data, response, error in
                if let error { k.resume(throwing: error); return }
                guard let http = response as? HTTPURLResponse else { k.resume(throwing: URLError(.badServerResponse)); return }
                var hs: [String: String] = [:]
                for (name, value) in http.allHeaderFields { hs["\(name)".lowercased()] = "\(value)" }
                k.resume(returning: Reply(status: http.statusCode, headers: hs, body: data ?? Data()))
            }.resume()
        }
    }

    /// Dropped or refused connections and timeouts: worth another attempt.
    static func isTransient(_ e: Error) -> Bool {
        guard let u = e as? URLError else { return false }
        switch u.code {
        case .cancelled, .badURL, .unsupportedURL: return false
        default: return true
        }
    }

    func transportError(_ e: Error, method: String, key: String) -> Error {
        if e is SegflowError { return e }
        let what = (e as? URLError).map { Self.describe($0) } ?? "\(e)"
        return SegflowError.user("remote \(displayURL): \(method) \(key) failed after \(attempts) attempts: \(what)",
                                 hint: config.endpoint.map { "check the endpoint \($0.absoluteString) is up (--endpoint, AWS_ENDPOINT_URL)" }
                                     ?? "check the network and the bucket's region (AWS_REGION)")
    }

    static func describe(_ u: URLError) -> String {
        switch u.code {
        case .cannotConnectToHost: return "connection refused"
        case .cannotFindHost, .dnsLookupFailed: return "host not found"
        case .timedOut: return "timed out"
        case .networkConnectionLost: return "connection lost"
        default: return u.localizedDescription
        }
    }

    // MARK: - Errors

    /// A failed reply as a user error naming the remote: S3's XML reduced to its code and message,
    /// with a fix for the common causes. Never echoes credentials.
    public func failure(_ r: Reply, _ what: String) -> SegflowError {
        let code = Self.xmlValue("Code", in: r.body) ?? "HTTP \(r.status)"
        var message = Self.xmlValue("Message", in: r.body).map { ": \($0)" } ?? ""
        for secret in [config.credentials.secretAccessKey, config.credentials.sessionToken ?? ""] where !secret.isEmpty {
            message = message.replacingOccurrences(of: secret, with: "***")
        }
        let hint: String
        switch code {
        case "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "AccessDenied", "InvalidClientTokenId":
            hint = "check the credentials for this remote: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), or AWS_PROFILE in ~/.aws/credentials"
        case "NoSuchBucket":
            hint = "create the bucket \(bucket) first, or fix the remote URL"
        case "AuthorizationHeaderMalformed", "PermanentRedirect":
            hint = "the bucket may live in another region: set AWS_REGION"
        default:
            hint = "run again; transfers resume where they stopped"
        }
        return SegflowError.user("remote \(displayURL) refused \(what): \(code)\(message)", hint: hint)
    }

    /// The text of the first `<name>...</name>` element (S3's replies are small and flat).
    static func xmlValue(_ name: String, in data: Data) -> String? { xmlValues(name, in: data).first }

    static func xmlValues(_ name: String, in data: Data) -> [String] {
        let text = String(decoding: data, as: UTF8.self)
        var out: [String] = []
        var rest = text[...]
        while let open = rest.range(of: "<\(name)>"), let close = rest.range(of: "</\(name)>", range: open.upperBound..<rest.endIndex) {
            out.append(unescape(String(rest[open.upperBound..<close.lowerBound])))
            rest = rest[close.upperBound...]
        }
        return out
    }

    static func unescape(_ s: String) -> String {
        s.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}
