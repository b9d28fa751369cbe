public import Foundation
import Synchronization

/// What the template and the process say about credentials and region.
public struct CredentialsSettings: Sendable {
  public var accessKey = ""
  public var secretKey = ""
  public var token = ""
  /// The template's `profile`; when set, environment keys are not used (as in the AWS CLI).
  public var profile = ""
  public var sharedCredentialsFile = ""
  public var region = ""
  public var assumeRole: STSClient.AssumeRoleRequest?
  public var customEndpointSTS = ""
  public var environment: [String: String] = ProcessInfo.processInfo.environment
  /// Where `~` and the default `~/.aws/` files are: as set here, else `HOME` from
  /// `environment` (as the AWS CLI expands `~`), else the account's home directory.
  public var home: String {
    get {
      if let homeOverride { return homeOverride }
      if let home = environment["HOME"], !home.isEmpty { return home }
      return FileManager.default.homeDirectoryForCurrentUser.path
    }
    set { homeOverride = newValue }
  }
  private var homeOverride: String?
  /// How long a profile's `credential_process` may run before it is killed (tests shorten it).
  package var credentialProcessTimeout: Duration = .seconds(60)

  public init() {}

  /// The profile: the template's `profile`, else `AWS_PROFILE`, `AWS_DEFAULT_PROFILE`, else
  /// `default`.
  public var profileName: String {
    [profile, environment["AWS_PROFILE"] ?? "", environment["AWS_DEFAULT_PROFILE"] ?? ""].first { !$0.isEmpty } ?? "default"
  }

  /// The shared `credentials` and `config` files these settings name.
  public var sharedFiles: SharedConfigFiles {
    SharedConfigFiles(environment: environment, home: home, credentialsPath: sharedCredentialsFile)
  }

  /// The CA bundle that TLS to AWS endpoints trusts instead of the system's: `AWS_CA_BUNDLE`,
  /// else the profile's `ca_bundle` (the AWS CLI's order), `~` expanded; nil when neither is
  /// set. Give it to `CurlHTTPClient.Options.caBundle`.
  public var caBundle: String? {
    if let path = environment["AWS_CA_BUNDLE"], !path.isEmpty { return SharedConfigFiles.expand(path, home: home) }
    guard let path = sharedFiles.profiles[profileName]?["ca_bundle"], !path.isEmpty else { return nil }
    return SharedConfigFiles.expand(path, home: home)
  }
}

/// Finds credentials in the AWS CLI's order, and refreshes temporary ones before they expire:
///
/// 1. the template's `access_key`/`secret_key`/`token`;
/// 2. the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`),
///    unless the template names a `profile`;
/// 3. the profile (`profile`, `AWS_PROFILE`, or `default`) in the shared `credentials` and
///    `config` files: `role_arn` with `source_profile` or `credential_source`,
///    `web_identity_token_file`, static keys, `credential_process`;
/// 4. web identity from `AWS_WEB_IDENTITY_TOKEN_FILE` and `AWS_ROLE_ARN` (CI OIDC);
/// 5. container credentials (`AWS_CONTAINER_CREDENTIALS_FULL_URI`/`RELATIVE_URI`);
/// 6. the instance role through IMDSv2 (a session token first), unless
///    `AWS_EC2_METADATA_DISABLED=true`.
///
/// The template's `assume_role` block then assumes that role with whatever was found. When
/// nothing gives credentials, the error lists every source tried and why it did not apply.
/// Secret values are never part of a message.
public final class CredentialsChain: CredentialsProvider {
  public let settings: CredentialsSettings
  let http: any HTTPClient
  let metadataHTTP: any HTTPClient
  let log: AWSClientLog?
  private let cache = Mutex<TemporaryCredentials?>(nil)
  private let describedSource = Mutex<String?>(nil)
  /// Refresh this long before expiry.
  public static let refreshMargin: TimeInterval = 300

  /// - Parameter log: hears the retries of the STS calls the chain makes.
  public init(settings: CredentialsSettings, http: any HTTPClient, metadataHTTP: (any HTTPClient)? = nil, log: AWSClientLog? = nil) throws {
    self.settings = settings
    self.http = http
    self.log = log
    var quick = CurlHTTPClient.Options()
    quick.connectTimeout = .seconds(1)
    quick.totalTimeout = .seconds(3)
    quick.maxResponseBytes = 1024 * 1024
    quick.caBundle = settings.caBundle
    self.metadataHTTP = try metadataHTTP ?? CurlHTTPClient(options: quick)
  }

  /// Where the current credentials came from, e.g. "environment" or "profile ci (assume role …)".
  public var source: String? { describedSource.withLock { $0 } }

  public func credentials() async throws -> SigV4.Credentials {
    if let cached = cache.withLock({ $0 }), !Self.needsRefresh(cached) { return cached.credentials }
    let (fresh, source) = try await resolve()
    cache.withLock { $0 = fresh }
    describedSource.withLock { $0 = source }
    return fresh.credentials
  }

  static func needsRefresh(_ credentials: TemporaryCredentials, now: Date = Date()) -> Bool {
    guard let expiration = credentials.expiration else { return false }
    return expiration.timeIntervalSince(now) < refreshMargin
  }

  /// Region: the template's, then `AWS_REGION`, `AWS_DEFAULT_REGION`, then the profile's.
  public func region() -> String? {
    let env = settings.environment
    for candidate in [settings.region, env["AWS_REGION"] ?? "", env["AWS_DEFAULT_REGION"] ?? ""] where !candidate.isEmpty {
      return candidate
    }
    return settings.sharedFiles.profiles[profileName]?["region"]
  }

  var profileName: String { settings.profileName }

  // MARK: - Resolution

  func resolve() async throws -> (TemporaryCredentials, String) {
    var (base, source) = try await resolveBase()
    if let role = settings.assumeRole {
      let sts = try stsClient(StaticCredentialsProvider(base.credentials))
      base = try await sts.assumeRole(role)
      source += ", then assume_role \(role.roleARN)"
    }
    return (base, source)
  }

  private func resolveBase() async throws -> (TemporaryCredentials, String) {
    var tried: [String] = []
    let env = settings.environment

    if !settings.accessKey.isEmpty || !settings.secretKey.isEmpty {
      guard !settings.accessKey.isEmpty, !settings.secretKey.isEmpty else {
        throw AWSConfigurationError("the template sets only one of 'access_key' and 'secret_key'")
      }
      return (Self.permanent(settings.accessKey, settings.secretKey, settings.token), "template access_key")
    }
    tried.append("template keys: not set")

    if settings.profile.isEmpty {
      let key = env["AWS_ACCESS_KEY_ID"] ?? env["AWS_ACCESS_KEY"] ?? ""
      let secret = env["AWS_SECRET_ACCESS_KEY"] ?? env["AWS_SECRET_KEY"] ?? ""
      if !key.isEmpty, !secret.isEmpty {
        return (Self.permanent(key, secret, env["AWS_SESSION_TOKEN"] ?? ""), "environment")
      }
      tried.append("environment: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY not set")
    } else {
      tried.append("environment: skipped because the template names profile '\(settings.profile)'")
    }

    let files = settings.sharedFiles
    let explicitProfile = !settings.profile.isEmpty || !(env["AWS_PROFILE"] ?? "").isEmpty
    if files.profiles[profileName] != nil {
      return try await fromProfile(profileName, files, chain: [])
    }
    if explicitProfile {
      throw AWSConfigurationError("profile '\(profileName)' was not found in \(files.credentialsPath) or \(files.configPath)")
    }
    tried.append("shared files: no profile 'default' in \(files.credentialsPath) or \(files.configPath)")

    if let tokenFile = env["AWS_WEB_IDENTITY_TOKEN_FILE"], let role = env["AWS_ROLE_ARN"], !tokenFile.isEmpty, !role.isEmpty {
      let session = env["AWS_ROLE_SESSION_NAME"] ?? "kiln-\(Int(Date().timeIntervalSince1970))"
      return (try await webIdentity(role: role, tokenFile: tokenFile, session: session), "web identity \(role)")
    }
    tried.append("web identity: AWS_WEB_IDENTITY_TOKEN_FILE/AWS_ROLE_ARN not set")

    if let container = try await containerCredentials(&tried) { return (container, "container credentials") }

    if (env["AWS_EC2_METADATA_DISABLED"] ?? "").lowercased() == "true" {
      tried.append("instance role: AWS_EC2_METADATA_DISABLED=true")
    } else {
      do {
        return (try await instanceRole(), "instance role (IMDSv2)")
      } catch {
        tried.append("instance role: \(error)")
      }
    }
    throw AWSConfigurationError("no AWS credentials found; tried, in order:\n  - " + tried.joined(separator: "\n  - "))
  }

  private func fromProfile(_ name: String, _ files: SharedConfigFiles, chain: [String]) async throws -> (TemporaryCredentials, String) {
    guard let profile = files.profiles[name] else {
      throw AWSConfigurationError(
        "profile '\(name)' (source of profile '\(chain.last ?? "")') was not found in \(files.credentialsPath) or \(files.configPath)")
    }
    guard !chain.contains(name) else {
      throw AWSConfigurationError("profiles form a loop: \((chain + [name]).joined(separator: " -> "))")
    }
    let session = profile["role_session_name"] ?? "kiln-\(Int(Date().timeIntervalSince1970))"
    if let role = profile["role_arn"], !role.isEmpty {
      if let tokenFile = profile["web_identity_token_file"], !tokenFile.isEmpty {
        return (try await webIdentity(role: role, tokenFile: tokenFile, session: session), "profile \(name) (web identity \(role))")
      }
      let base: TemporaryCredentials
      if let source = profile["source_profile"], !source.isEmpty {
        // A source profile's own role is not followed again when it names itself with keys.
        if source == name, let key = profile["aws_access_key_id"], let secret = profile["aws_secret_access_key"] {
          base = Self.permanent(key, secret, profile["aws_session_token"] ?? "")
        } else {
          base = try await fromProfile(source, files, chain: chain + [name]).0
        }
      } else if let source = profile["credential_source"] {
        var settings = self.settings
        settings.profile = ""
        settings.assumeRole = nil
        switch source {
        case "Environment":
          let env = settings.environment
          guard let key = env["AWS_ACCESS_KEY_ID"], let secret = env["AWS_SECRET_ACCESS_KEY"] else {
            throw AWSConfigurationError(
              "profile '\(name)' has credential_source Environment, but AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set")
          }
          base = Self.permanent(key, secret, env["AWS_SESSION_TOKEN"] ?? "")
        case "Ec2InstanceMetadata":
          base = try await instanceRole()
        case "EcsContainer":
          var ignored: [String] = []
          guard let container = try await containerCredentials(&ignored) else {
            throw AWSConfigurationError("profile '\(name)' has credential_source EcsContainer, but no container credentials are configured")
          }
          base = container
        default:
          throw AWSConfigurationError("profile '\(name)': unknown credential_source '\(source)' (Environment, Ec2InstanceMetadata or EcsContainer)")
        }
      } else {
        throw AWSConfigurationError("profile '\(name)' has role_arn but neither source_profile nor credential_source")
      }
      var request = STSClient.AssumeRoleRequest(roleARN: role, sessionName: session)
      request.externalID = profile["external_id"]
      request.durationSeconds = profile["duration_seconds"].flatMap { Int($0) }
      let assumed = try await stsClient(StaticCredentialsProvider(base.credentials)).assumeRole(request)
      return (assumed, "profile \(name) (assume role \(role))")
    }
    if let key = profile["aws_access_key_id"], let secret = profile["aws_secret_access_key"], !key.isEmpty, !secret.isEmpty {
      return (Self.permanent(key, secret, profile["aws_session_token"] ?? ""), "profile \(name)")
    }
    if let command = profile["credential_process"], !command.isEmpty {
      let process = CredentialProcess(command: command, profile: name, timeout: settings.credentialProcessTimeout)
      return (try await process.credentials(), "profile \(name) (credential_process)")
    }
    throw AWSConfigurationError(
      "profile '\(name)' has no credentials: it needs aws_access_key_id and aws_secret_access_key, role_arn, web_identity_token_file or credential_process"
    )
  }

  private func stsClient(_ credentials: any CredentialsProvider) throws -> STSClient {
    try STSClient(
      region: region() ?? "us-east-1", customEndpoint: settings.customEndpointSTS.isEmpty ? nil : settings.customEndpointSTS,
      variant: try settings.endpointVariant(), http: http, credentials: credentials, log: log)
  }

  private func webIdentity(role: String, tokenFile: String, session: String) async throws -> TemporaryCredentials {
    guard let token = try? String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty else {
      throw AWSConfigurationError("cannot read the web identity token file \(tokenFile)")
    }
    return try await stsClient(StaticCredentialsProvider(SigV4.Credentials(accessKeyID: "", secretAccessKey: "")))
      .assumeRoleWithWebIdentity(roleARN: role, sessionName: session, token: token)
  }

  /// Container credentials (ECS, EKS Pod Identity, CodeBuild).
  private func containerCredentials(_ tried: inout [String]) async throws -> TemporaryCredentials? {
    let env = settings.environment
    let url: URL
    if let relative = env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"], !relative.isEmpty {
      guard let parsed = URL(string: "http://169.254.170.2" + relative), parsed.host != nil else {
        throw AWSConfigurationError("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI \"\(relative)\" does not make a URL with http://169.254.170.2")
      }
      url = parsed
    } else if let full = env["AWS_CONTAINER_CREDENTIALS_FULL_URI"], !full.isEmpty {
      guard let parsed = URL(string: full), parsed.host != nil else {
        throw AWSConfigurationError("AWS_CONTAINER_CREDENTIALS_FULL_URI \"\(full)\" is not a URL")
      }
      url = parsed
    } else {
      tried.append("container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/FULL_URI not set")
      return nil
    }
    var headers: [(name: String, value: String)] = []
    if let file = env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"], let token = try? String(contentsOfFile: file, encoding: .utf8) {
      headers.append(("Authorization", token.trimmingCharacters(in: .whitespacesAndNewlines)))
    } else if let token = env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] {
      headers.append(("Authorization", token))
    }
    let response = try await metadataHTTP.send(HTTPRequest(method: "GET", url: url, headers: headers))
    guard response.status == 200 else {
      throw AWSConfigurationError("container credentials endpoint \(url.absoluteString) answered HTTP \(response.status)")
    }
    return try Self.decodeJSONCredentials(response.body, source: "container credentials endpoint")
  }

  /// IMDSv2: a session token first, then the role name, then its credentials.
  private func instanceRole() async throws -> TemporaryCredentials {
    let base = settings.environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? "http://169.254.169.254"
    guard let root = URL(string: base.hasSuffix("/") ? String(base.dropLast()) : base) else {
      throw AWSConfigurationError("AWS_EC2_METADATA_SERVICE_ENDPOINT is not a URL")
    }
    let tokenResponse = try await metadataHTTP.send(
      HTTPRequest(
        method: "PUT", url: root.appendingPathComponent("latest/api/token"), headers: [("X-aws-ec2-metadata-token-ttl-seconds", "21600")]))
    guard tokenResponse.status == 200 else { throw AWSConfigurationError("IMDSv2 token request answered HTTP \(tokenResponse.status)") }
    let token = tokenResponse.text
    let auth = [("X-aws-ec2-metadata-token", token)]
    let rolesURL = root.appendingPathComponent("latest/meta-data/iam/security-credentials/")
    let roles = try await metadataHTTP.send(HTTPRequest(method: "GET", url: rolesURL, headers: auth))
    guard roles.status == 200, let role = roles.text.split(whereSeparator: \.isNewline).first else {
      throw AWSConfigurationError("the instance has no IAM role (HTTP \(roles.status))")
    }
    let response = try await metadataHTTP.send(HTTPRequest(method: "GET", url: rolesURL.appendingPathComponent(String(role)), headers: auth))
    guard response.status == 200 else { throw AWSConfigurationError("instance role credentials answered HTTP \(response.status)") }
    return try Self.decodeJSONCredentials(response.body, source: "instance metadata")
  }

  static func decodeJSONCredentials(_ body: [UInt8], source: String) throws -> TemporaryCredentials {
    guard let json = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
      let key = json["AccessKeyId"] as? String, let secret = json["SecretAccessKey"] as? String
    else {
      throw AWSConfigurationError("\(source) did not return credentials (AccessKeyId and SecretAccessKey)")
    }
    let token = (json["Token"] as? String) ?? (json["SessionToken"] as? String)
    return TemporaryCredentials(
      credentials: SigV4.Credentials(accessKeyID: key, secretAccessKey: secret, sessionToken: token),
      expiration: (json["Expiration"] as? String).flatMap(parseAWSDate))
  }

  static func permanent(_ key: String, _ secret: String, _ token: String) -> TemporaryCredentials {
    TemporaryCredentials(credentials: SigV4.Credentials(accessKeyID: key, secretAccessKey: secret, sessionToken: token), expiration: nil)
  }
}

extension SigV4.Credentials: CustomStringConvertible, CustomDebugStringConvertible {
  /// Never the secret: the key id, and whether there is a session token.
  public var description: String {
    "credentials \(accessKeyID) (secret hidden\(sessionToken == nil ? "" : ", with session token"))"
  }

  public var debugDescription: String { description }
}
