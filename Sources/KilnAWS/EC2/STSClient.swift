public import Foundation

/// The STS actions Kiln uses (API version 2011-06-15).
public struct STSClient: Sendable {
  public static let apiVersion = "2011-06-15"
  public let query: AWSQueryClient

  public init(query: AWSQueryClient) { self.query = query }

  public init(
    region: String, customEndpoint: String? = nil, variant: EndpointVariant = EndpointVariant(), http: any HTTPClient,
    credentials: any CredentialsProvider, retry: RetryPolicy = RetryPolicy(),
    log: AWSClientLog? = nil
  ) throws {
    // STS is global at sts.amazonaws.com, but the regional endpoints are preferred.
    query = try AWSQueryClient(
      service: "sts", apiVersion: Self.apiVersion, region: region.isEmpty ? "us-east-1" : region,
      customEndpoint: customEndpoint, variant: variant, http: http, credentials: credentials, retry: retry, log: log)
  }

  public struct CallerIdentity: Sendable, Equatable {
    public var account: String
    public var arn: String
    public var userID: String
  }

  public func getCallerIdentity() async throws -> CallerIdentity {
    let result = try await query.call("GetCallerIdentity").find("GetCallerIdentityResult")
    return CallerIdentity(account: result?.string("Account") ?? "", arn: result?.string("Arn") ?? "", userID: result?.string("UserId") ?? "")
  }

  /// What an encoded authorization failure message says (the `DecodedMessage` JSON: whether
  /// an explicit Deny refused the request, the statements that matched, and the request's
  /// principal, action, resource and condition values). The caller needs
  /// `sts:DecodeAuthorizationMessage`; without it STS answers `AccessDenied`.
  public func decodeAuthorizationMessage(_ encoded: String) async throws -> String {
    var p = QueryParameters()
    p.add("EncodedMessage", encoded)
    let response = try await query.call("DecodeAuthorizationMessage", p)
    guard let decoded = response.find("DecodeAuthorizationMessageResult")?.string("DecodedMessage") else {
      throw AWSServiceError(
        service: "sts", action: "DecodeAuthorizationMessage", status: 200, code: "MalformedResponse", message: "no DecodedMessage in the response",
        requestID: "")
    }
    return decoded
  }

  public struct AssumeRoleRequest: Sendable {
    public var roleARN: String
    public var sessionName: String
    public var externalID: String?
    public var durationSeconds: Int?
    public var policy: String?
    public var policyARNs: [String] = []
    public var tags: [EC2Tag] = []
    public var transitiveTagKeys: [String] = []

    public init(roleARN: String, sessionName: String) {
      self.roleARN = roleARN
      self.sessionName = sessionName
    }
  }

  public func assumeRole(_ request: AssumeRoleRequest) async throws -> TemporaryCredentials {
    var p = QueryParameters()
    p.add("RoleArn", request.roleARN)
    p.add("RoleSessionName", request.sessionName)
    p.add("ExternalId", request.externalID)
    p.add("DurationSeconds", request.durationSeconds)
    p.add("Policy", request.policy)
    for (index, arn) in request.policyARNs.enumerated() { p.add("PolicyArns.member.\(index + 1).arn", arn) }
    for (index, tag) in request.tags.enumerated() {
      p.add("Tags.member.\(index + 1).Key", tag.key)
      p.add("Tags.member.\(index + 1).Value", tag.value)
    }
    p.add(list: "TransitiveTagKeys.member", request.transitiveTagKeys)
    return try Self.decodeCredentials(try await query.call("AssumeRole", p), action: "AssumeRole")
  }

  /// Exchanges an OIDC token (GitHub Actions, EKS service accounts) for role credentials. The
  /// call is not signed: the token is the proof.
  public func assumeRoleWithWebIdentity(roleARN: String, sessionName: String, token: String, durationSeconds: Int? = nil) async throws
    -> TemporaryCredentials
  {
    var p = QueryParameters()
    p.add("RoleArn", roleARN)
    p.add("RoleSessionName", sessionName)
    p.add("WebIdentityToken", token)
    p.add("DurationSeconds", durationSeconds)
    return try Self.decodeCredentials(try await query.callUnsigned("AssumeRoleWithWebIdentity", p), action: "AssumeRoleWithWebIdentity")
  }

  static func decodeCredentials(_ response: XMLElementNode, action: String) throws -> TemporaryCredentials {
    guard let credentials = response.find("Credentials"), let key = credentials.string("AccessKeyId"),
      let secret = credentials.string("SecretAccessKey")
    else {
      throw AWSServiceError(
        service: "sts", action: action, status: 200, code: "MalformedResponse", message: "no Credentials in the response", requestID: "")
    }
    return TemporaryCredentials(
      credentials: SigV4.Credentials(accessKeyID: key, secretAccessKey: secret, sessionToken: credentials.string("SessionToken")),
      expiration: credentials.string("Expiration").flatMap(parseAWSDate))
  }
}

extension STSClient: AuthorizationMessageDecoder {}

/// Credentials with an expiry (STS, containers, instance roles, credential_process).
public struct TemporaryCredentials: Sendable, Equatable {
  public var credentials: SigV4.Credentials
  public var expiration: Date?

  public init(credentials: SigV4.Credentials, expiration: Date?) {
    self.credentials = credentials
    self.expiration = expiration
  }
}

/// ISO 8601 with or without fractional seconds, as AWS services write times.
func parseAWSDate(_ text: String) -> Date? {
  let formatter = ISO8601DateFormatter()
  if let date = formatter.date(from: text) { return date }
  formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
  return formatter.date(from: text)
}
