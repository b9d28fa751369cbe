public import Foundation

/// Where credentials come from; the chain (`CredentialsChain`) is one conformance.
public protocol CredentialsProvider: Sendable {
  func credentials() async throws -> SigV4.Credentials
}

/// Fixed credentials (template keys, tests).
public struct StaticCredentialsProvider: CredentialsProvider {
  public let value: SigV4.Credentials
  public init(_ value: SigV4.Credentials) { self.value = value }
  public func credentials() async throws -> SigV4.Credentials { value }
}

/// One signed path for every AWS Query API call (EC2, STS): form-encoded POST, SigV4,
/// retries with backoff, the shared rate limiter, and typed errors.
public final class AWSQueryClient: Sendable {
  public let service: String
  public let apiVersion: String
  public let region: String
  public let endpoint: URL
  let http: any HTTPClient
  let credentials: any CredentialsProvider
  public let retry: RetryPolicy
  let limiter: RateLimiter?
  /// Observes every attempt (action, attempt number, outcome), for `KILN_LOG` and tests.
  let observer: (@Sendable (String, Int, Result<Int, any Error>) -> Void)?

  public init(
    service: String, apiVersion: String, region: String, endpoint: URL, http: any HTTPClient,
    credentials: any CredentialsProvider, retry: RetryPolicy = RetryPolicy(), limiter: RateLimiter? = nil,
    observer: (@Sendable (String, Int, Result<Int, any Error>) -> Void)? = nil
  ) {
    self.service = service
    self.apiVersion = apiVersion
    self.region = region
    self.endpoint = endpoint
    self.http = http
    self.credentials = credentials
    self.retry = retry
    self.limiter = limiter
    self.observer = observer
  }

  /// A client for `service` in `region`, at its public endpoint or at `customEndpoint`.
  public convenience init(
    service: String, apiVersion: String, region: String, customEndpoint: String?, http: any HTTPClient,
    credentials: any CredentialsProvider, retry: RetryPolicy = RetryPolicy(), limiter: RateLimiter? = nil
  ) throws {
    self.init(
      service: service, apiVersion: apiVersion, region: region,
      endpoint: try Self.endpoint(service: service, region: region, custom: customEndpoint),
      http: http, credentials: credentials, retry: retry, limiter: limiter)
  }

  /// The public endpoint of `service` in `region`, or `custom` (a URL, or a host name that
  /// gets https://).
  public static func endpoint(service: String, region: String, custom: String?) throws -> URL {
    if let custom, !custom.isEmpty {
      let text = custom.contains("://") ? custom : "https://" + custom
      guard let url = URL(string: text), url.host != nil else {
        throw AWSConfigurationError("custom endpoint \"\(custom)\" is not a URL")
      }
      return url
    }
    guard !region.isEmpty else { throw AWSConfigurationError("no region: set 'region' in the template, AWS_REGION, or a profile's region") }
    let suffix = region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
    return URL(string: "https://\(service).\(region).\(suffix)")!
  }

  /// Calls `action` and returns the response document. Retries what is worth retrying;
  /// throws `AWSServiceError`, `TransportError` or `CancellationError`.
  public func call(_ action: String, _ parameters: QueryParameters = QueryParameters()) async throws -> XMLElementNode {
    try await call(action, parameters, signed: true)
  }

  private func call(_ action: String, _ parameters: QueryParameters, signed: Bool) async throws -> XMLElementNode {
    let body = Array(parameters.formBody(action: action, version: apiVersion).utf8)
    var attempt = 0
    while true {
      try Task.checkCancellation()
      do {
        let response = try await send(action: action, body: body, signed: signed)
        observer?(action, attempt, .success(response.status))
        guard (200..<300).contains(response.status) else {
          throw AWSServiceError.decode(response.body, status: response.status, service: service, action: action)
        }
        do {
          return try XMLElementNode.parse(response.body)
        } catch {
          throw AWSServiceError(service: service, action: action, status: response.status, code: "MalformedResponse", message: error.description, requestID: "")
        }
      } catch {
        if error is CancellationError { throw error }
        observer?(action, attempt, .failure(error))
        guard let delay = retry.delay(after: error, attempt: attempt) else { throw error }
        attempt += 1
        try await Task.sleep(for: delay)
      }
    }
  }

  /// Calls an action that takes no signature (STS AssumeRoleWithWebIdentity).
  public func callUnsigned(_ action: String, _ parameters: QueryParameters = QueryParameters()) async throws -> XMLElementNode {
    try await call(action, parameters, signed: false)
  }

  private func send(action: String, body: [UInt8], signed: Bool) async throws -> HTTPResponse {
    if let limiter { try await limiter.acquire() }
    let host = endpoint.port.map { "\(endpoint.host!):\($0)" } ?? endpoint.host!
    let headers: [(name: String, value: String)] = [
      ("Host", host), ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
    ]
    guard signed else {
      return try await http.send(HTTPRequest(method: "POST", url: endpoint, headers: headers, body: body))
    }
    let credentials = try await self.credentials.credentials()
    let path = endpoint.path.isEmpty ? "/" : endpoint.path
    let request = SigV4.Request(method: "POST", path: path, headers: headers, body: body)
    let signing = try SigV4.sign(request, credentials: credentials, scope: SigV4.Scope(date: Date(), region: region, service: service))
    return try await http.send(HTTPRequest(method: "POST", url: endpoint, headers: headers + signing.addedHeaders, body: body))
  }
}

/// A configuration problem found before any request (no region, bad endpoint, no credentials).
public struct AWSConfigurationError: Error, CustomStringConvertible, Sendable {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}
