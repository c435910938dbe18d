import Foundation
import SegflowCore

/// Where an S3 remote's credentials, region and endpoint come from: the standard AWS places, in the
/// order the AWS CLI reads them.
public struct AWSConfig: Sendable {
    public var credentials: AWSCredentials
    public var region: String
    /// A custom endpoint (MinIO, Ceph, moto): path-style addressing. Nil: AWS's virtual-hosted endpoint.
    public var endpoint: URL?

    public init(credentials: AWSCredentials, region: String, endpoint: URL?) {
        self.credentials = credentials; self.region = region; self.endpoint = endpoint
    }

    /// Resolves from `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`, else the
    /// `AWS_PROFILE` (or `default`) section of `~/.aws/credentials` (`AWS_SHARED_CREDENTIALS_FILE`);
    /// the region from `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile in `~/.aws/config`
    /// (`AWS_CONFIG_FILE`), else us-east-1; the endpoint from `endpoint` (`--endpoint`),
    /// `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`.
    public static func resolve(remote: String, endpoint: String? = nil,
                               environment env: [String: String] = ProcessInfo.processInfo.environment) throws -> AWSConfig {
        func value(_ name: String) -> String? { env[name].flatMap { $0.isEmpty ? nil : $0 } }
        let home = value("HOME") ?? NSHomeDirectory()
        let profile = value("AWS_PROFILE") ?? "default"
        let credentialsFile = value("AWS_SHARED_CREDENTIALS_FILE") ?? home + "/.aws/credentials"
        let configFile = value("AWS_CONFIG_FILE") ?? home + "/.aws/config"

        let credentials: AWSCredentials
        if let key = value("AWS_ACCESS_KEY_ID"), let secret = value("AWS_SECRET_ACCESS_KEY") {
            credentials = AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: value("AWS_SESSION_TOKEN"))
        } else if let section = try iniSection(file: credentialsFile, name: profile),
                  let key = section["aws_access_key_id"], let secret = section["aws_secret_access_key"] {
            credentials = AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: section["aws_session_token"])
        } else {
            throw SegflowError.user("no AWS credentials for the remote \(remote)",
                                    hint: "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with a [\(profile)] section in \(credentialsFile)")
        }
        let profileConfig = try iniSection(file: configFile, name: profile == "default" ? "default" : "profile \(profile)")
        let region = value("AWS_REGION") ?? value("AWS_DEFAULT_REGION") ?? profileConfig?["region"] ?? "us-east-1"
        var url: URL? = nil
        if let e = endpoint.flatMap({ $0.isEmpty ? nil : $0 }) ?? value("AWS_ENDPOINT_URL_S3") ?? value("AWS_ENDPOINT_URL") {
            guard let u = URL(string: e), let scheme = u.scheme, ["http", "https"].contains(scheme), u.host != nil else {
                throw SegflowError.user("the S3 endpoint '\(e)' is not an http(s) URL", hint: "e.g. --endpoint http://127.0.0.1:9000")
            }
            url = u
        }
        return AWSConfig(credentials: credentials, region: region, endpoint: url)
    }

    /// One `[name]` section of an INI file (`key = value` lines); nil when the file or section is absent.
    static func iniSection(file: String, name: String) throws -> [String: String]? {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        var current: String? = nil
        var out: [String: String]? = nil
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                current = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                if current == name && out == nil { out = [:] }
                continue
            }
            guard current == name, let eq = line.firstIndex(of: "=") else { continue }
            out?[line[..<eq].trimmingCharacters(in: .whitespaces).lowercased()] = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
        }
        return out
    }
}
