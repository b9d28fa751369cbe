public import Foundation

/// The SSM (Systems Manager) actions Kiln uses, over the JSON protocol (`AWSJSONClient`):
/// Parameter Store's `GetParameter`, which data sources use to read values such as the
/// EKS-optimized AMI id (`/aws/service/eks/optimized-ami/…`).
public struct SSMClient: Sendable {
  /// The model's `targetPrefix` and `jsonVersion` (`ssm/2014-11-06/service-2.json`).
  public static let targetPrefix = "AmazonSSM"
  public static let jsonVersion = "1.1"
  public let json: AWSJSONClient
  public var region: String { json.region }

  public init(json: AWSJSONClient) { self.json = json }

  /// A client for `region`, at SSM's public endpoint in `variant`'s form (`ssm-fips.…`,
  /// `ssm.….api.aws`) from the same partition rules as EC2's, or at `customEndpoint`, with
  /// the shared rate limiter of `limiterKey` and the region.
  public init(
    region: String, customEndpoint: String? = nil, variant: EndpointVariant = EndpointVariant(), http: any HTTPClient,
    credentials: any CredentialsProvider, retry: RetryPolicy = RetryPolicy(), limiterKey: String? = nil, log: AWSClientLog? = nil
  ) throws {
    json = try AWSJSONClient(
      service: "ssm", targetPrefix: Self.targetPrefix, jsonVersion: Self.jsonVersion, region: region,
      endpoint: try AWSQueryClient.endpoint(service: "ssm", region: region, custom: customEndpoint, variant: variant), http: http,
      credentials: credentials, retry: retry, limiter: limiterKey.map { RateLimiter.shared(for: "\($0)/ssm/\(region)") }, log: log)
  }

  /// The parameter `name`: a name or ARN, with a version (`name:3`) or label (`name:prod`)
  /// selector when one is wanted. With `withDecryption`, a SecureString's value comes back
  /// decrypted (SSM ignores the flag for String and StringList). Throws `AWSServiceError`:
  /// `ParameterNotFound`, `ParameterVersionNotFound`, `InvalidKeyId`, `AccessDeniedException`…
  public func getParameter(name: String, withDecryption: Bool) async throws -> SSMParameter {
    let answer = try await json.call("GetParameter", ["Name": .string(name), "WithDecryption": .bool(withDecryption)])
    guard let parameter = answer.object("Parameter"), let value = parameter.string("Value") else {
      throw AWSServiceError(
        service: "ssm", action: "GetParameter", status: 200, code: "MalformedResponse", message: "no Parameter with a Value in the answer",
        requestID: "", region: region)
    }
    return SSMParameter(
      name: parameter.string("Name") ?? name, type: parameter.string("Type") ?? "", value: value, version: parameter.int("Version") ?? 0,
      arn: parameter.string("ARN") ?? "", dataType: parameter.string("DataType") ?? "", selector: parameter.string("Selector"),
      lastModified: parameter.double("LastModifiedDate").map { Date(timeIntervalSince1970: $0) })
  }
}

/// One Parameter Store parameter, as `GetParameter` answers it.
///
/// The value of a `SecureString` is a secret: the parameter's `description`, debug
/// description and mirror (`dump`, `String(reflecting:)`, string interpolation) show it as
/// `<sensitive>`; only `value` itself gives it.
public struct SSMParameter: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
  public var name: String
  /// `String`, `StringList` or `SecureString`.
  public var type: String
  public var value: String
  public var version: Int
  public var arn: String
  /// `text`, `aws:ec2:image` or `aws:ssm:integration`.
  public var dataType: String
  /// The version or label selector the name carried (`:3`, `:prod`), when it had one.
  public var selector: String?
  public var lastModified: Date?

  public init(
    name: String, type: String, value: String, version: Int, arn: String, dataType: String = "text", selector: String? = nil,
    lastModified: Date? = nil
  ) {
    self.name = name
    self.type = type
    self.value = value
    self.version = version
    self.arn = arn
    self.dataType = dataType
    self.selector = selector
    self.lastModified = lastModified
  }

  /// A SecureString: its value is never shown.
  public var isSecure: Bool { type == "SecureString" }

  /// The value as it may be shown: itself, or `<sensitive>` for a SecureString.
  public var shownValue: String { isSecure ? "<sensitive>" : value }

  public var description: String { "\(name) (\(type), version \(version)): \(shownValue)" }
  public var debugDescription: String { "SSMParameter(\(description), arn: \(arn))" }
  public var customMirror: Mirror {
    Mirror(
      self,
      children: [
        "name": name, "type": type, "value": shownValue, "version": version, "arn": arn, "dataType": dataType, "selector": selector as Any,
        "lastModified": lastModified as Any,
      ])
  }
}
