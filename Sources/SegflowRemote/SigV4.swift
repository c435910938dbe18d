import Crypto
import Foundation

/// AWS credentials. `description` never shows the secret or the token: they must not reach logs.
public struct AWSCredentials: Sendable, CustomStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?
    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID; self.secretAccessKey = secretAccessKey; self.sessionToken = sessionToken
    }
    public var description: String { "AWSCredentials(\(accessKeyID.prefix(4))..., secret hidden)" }
}

/// AWS Signature Version 4 (header form), as specified in "Signature Version 4 signing process" and
/// checked against AWS's published test suite (Tests/Fixtures/sigv4).
///
/// Written by hand because no Swift AWS SDK is available here; HMAC-SHA256 comes from swift-crypto.
public struct SigV4Signer: Sendable {
    public let credentials: AWSCredentials
    public let region: String
    public let service: String

    public init(credentials: AWSCredentials, region: String, service: String = "s3") {
        self.credentials = credentials; self.region = region; self.service = service
    }

    /// SHA-256 of the empty payload.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// The signed request's parts, each step visible for the test vectors.
    public struct Signed: Sendable {
        public var canonicalRequest: String
        public var stringToSign: String
        public var signature: String
        public var authorization: String
        public var signedHeaders: String
    }

    /// Signs a request. `path` is the URI path as sent (already percent-encoded); `query` holds decoded
    /// names and values; `headers` must include `host` and `x-amz-date` (see `amzDate`), plus
    /// `x-amz-security-token` when the credentials carry a session token.
    public func sign(method: String, path: String, query: [(String, String)], headers: [(String, String)],
                     payloadHash: String, date: Date) -> Signed {
        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(headers)
        let creq = [method, path.isEmpty ? "/" : path, Self.canonicalQuery(query), canonicalHeaders,
                    signedHeaders, payloadHash].joined(separator: "\n")
        let day = Self.day(date)
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let sts = ["AWS4-HMAC-SHA256", Self.amzDate(date), scope, Self.hex(SHA256.hash(data: Data(creq.utf8)))]
            .joined(separator: "\n")
        var key = SymmetricKey(data: Data(("AWS4" + credentials.secretAccessKey).utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Data(sts.utf8), using: key))
        let auth = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return Signed(canonicalRequest: creq, stringToSign: sts, signature: signature, authorization: auth,
                      signedHeaders: signedHeaders)
    }

    // MARK: - Canonical forms

    /// Lowercase names sorted; values trimmed, inner runs of spaces collapsed; repeated names joined by ','.
    static func canonicalHeaders(_ headers: [(String, String)]) -> (String, String) {
        var byName: [String: [String]] = [:]
        for (name, value) in headers {
            let collapsed = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            byName[name.lowercased(), default: []].append(collapsed.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let names = byName.keys.sorted()
        let lines = names.map { "\($0):\(byName[$0]!.joined(separator: ","))\n" }.joined()
        return (lines, names.joined(separator: ";"))
    }

    /// Names and values URI-encoded, sorted by name then value.
    static func canonicalQuery(_ query: [(String, String)]) -> String {
        query.map { (uriEncode($0.0), uriEncode($0.1)) }
            .sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
            .map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// RFC 3986 percent-encoding of everything but unreserved characters (and '/' when `keepSlash`).
    public static func uriEncode(_ s: String, keepSlash: Bool = false) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(Character(UnicodeScalar(b)))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out += String(format: "%%%02X", b)
            }
        }
        return out
    }

    // MARK: - Dates and hex

    /// `20150830T123600Z`.
    public static func amzDate(_ date: Date) -> String {
        let (day, t) = utcParts(date)
        return day + "T" + pad(t.tm_hour) + pad(t.tm_min) + pad(t.tm_sec) + "Z"
    }
    static func day(_ date: Date) -> String { utcParts(date).day }

    /// gmtime_r, not a DateFormatter: one per request made ICU a visible share of a push's CPU.
    private static func utcParts(_ date: Date) -> (day: String, tm) {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var t = tm()
        gmtime_r(&seconds, &t)
        return (String(t.tm_year + 1900) + pad(t.tm_mon + 1) + pad(t.tm_mday), t)
    }

    private static func pad(_ n: Int32) -> String { n < 10 ? "0" + String(n) : String(n) }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for b in bytes { out.append(hexDigits[Int(b >> 4)]); out.append(hexDigits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Lowercase hex SHA-256 of bytes (a payload hash).
    public static func payloadHash<D: DataProtocol>(_ data: D) -> String { hex(SHA256.hash(data: data)) }
}
