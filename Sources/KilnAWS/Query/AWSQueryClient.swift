public import Foundation
import KilnCore

/// Where credentials come from; the chain (`CredentialsChain`) is one conformance.
public protocol CredentialsProvider: Sendable {
  func credentials() async throws -> SigV4.Credentials
}

/// Decodes the encoded authorization failure message an `UnauthorizedOperation` carries
/// (STS DecodeAuthorizationMessage; `STSClient` is the conformance).
public protocol AuthorizationMessageDecoder: Sendable {
  /// The decoded document (JSON).
  func decodeAuthorizationMessage(_ encoded: String) async throws -> String
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
  /// The `Host` header (and signed host): the endpoint's host, with its port when it has one.
  let host: String
  let http: any HTTPClient
  let credentials: any CredentialsProvider
  public let retry: RetryPolicy
  let limiter: RateLimiter?
  /// Observes every attempt (action, attempt number, outcome), for tests.
  let observer: (@Sendable (String, Int, Result<Int, any Error>) -> Void)?
  /// Hears each retry (the debug log, and the console once a request keeps failing).
  let log: AWSClientLog?
  /// Decodes the encoded authorization failure message of a refused call, so the error says
  /// who may not do what and why (Packer leaves the blob: hashicorp/packer#5415).
  let authorizationDecoder: (any AuthorizationMessageDecoder)?

  /// - Throws: `AWSConfigurationError` when `region` is not an AWS region name or `endpoint`
  ///   has no host.
  public init(
    service: String, apiVersion: String, region: String, endpoint: URL, http: any HTTPClient,
    credentials: any CredentialsProvider, retry: RetryPolicy = RetryPolicy(), limiter: RateLimiter? = nil,
    log: AWSClientLog? = nil, authorizationDecoder: (any AuthorizationMessageDecoder)? = nil,
    observer: (@Sendable (String, Int, Result<Int, any Error>) -> Void)? = nil
  ) throws(AWSConfigurationError) {
    try AWSRegion.validate(region)
    self.host = try Self.hostHeader(of: endpoint, service: service)
    self.service = service
    self.apiVersion = apiVersion
    self.region = region
    self.endpoint = endpoint
    self.http = http
    self.credentials = credentials
    self.retry = retry
    self.limiter = limiter
    self.log = log
    self.authorizationDecoder = authorizationDecoder
    self.observer = observer
  }

  /// A client for `service` in `region`, at its public endpoint (in `variant`'s form) or at
  /// `customEndpoint`.
  public convenience init(
    service: String, apiVersion: String, region: String, customEndpoint: String?, variant: EndpointVariant = EndpointVariant(), http: any HTTPClient,
    credentials: any CredentialsProvider, retry: RetryPolicy = RetryPolicy(), limiter: RateLimiter? = nil,
    log: AWSClientLog? = nil, authorizationDecoder: (any AuthorizationMessageDecoder)? = nil
  ) throws(AWSConfigurationError) {
    try self.init(
      service: service, apiVersion: apiVersion, region: region,
      endpoint: try Self.endpoint(service: service, region: region, custom: customEndpoint, variant: variant),
      http: http, credentials: credentials, retry: retry, limiter: limiter, log: log, authorizationDecoder: authorizationDecoder)
  }

  /// The public endpoint of `service` in `region` in any partition (`AWSPartition`), or
  /// `custom` (a URL, or a host name that gets https://).
  public static func endpoint(
    service: String, region: String, custom: String?, variant: EndpointVariant = EndpointVariant()
  ) throws(AWSConfigurationError) -> URL {
    if let custom, !custom.isEmpty {
      let text = custom.contains("://") ? custom : "https://" + custom
      guard let url = URL(string: text), let host = url.host, !host.isEmpty else {
        throw AWSConfigurationError("custom endpoint \"\(custom)\" is not a URL")
      }
      return url
    }
    guard !region.isEmpty else { throw AWSConfigurationError("no region: set 'region' in the template, AWS_REGION, or a profile's region") }
    try AWSRegion.validate(region)
    guard let url = URL(string: AWSPartition.endpoint(service: service, region: region, variant: variant)) else {
      throw AWSConfigurationError("no \(service) endpoint can be made for region \"\(region)\"")
    }
    return url
  }

  /// The `Host` header (and signed host) for `endpoint`: its host, bracketed when it is an
  /// IPv6 address, with its port when it has one.
  ///
  /// - Throws: `AWSConfigurationError` when the endpoint has no host.
  static func hostHeader(of endpoint: URL, service: String) throws(AWSConfigurationError) -> String {
    guard let host = endpoint.host, !host.isEmpty else {
      throw AWSConfigurationError("the \(service) endpoint \"\(endpoint.absoluteString)\" has no host")
    }
    let bracketed = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
    return endpoint.port.map { "\(bracketed):\($0)" } ?? bracketed
  }

  /// Calls `action` and returns the response document. Retries what is worth retrying, saying
  /// each retry to `log`; throws `AWSServiceError` (with the answer's clock skew, and an
  /// encoded authorization failure decoded when `authorizationDecoder` can), `TransportError`
  /// (naming the action) or `CancellationError`.
  ///
  /// The request's parameters, a `ClientToken` among them, are the same on every attempt: a
  /// retry after a lost answer is the same request, which EC2 answers idempotently.
  public func call(_ action: String, _ parameters: QueryParameters = QueryParameters()) async throws -> XMLElementNode {
    try await call(action, parameters, signed: true)
  }

  private func call(_ action: String, _ parameters: QueryParameters, signed: Bool) async throws -> XMLElementNode {
    let body = Array(parameters.formBody(action: action, version: apiVersion).utf8)
    do {
      return try await retry.run(service: service, action: action, log: log, observer: observer) {
        try await send(action: action, body: body, signed: signed)
      } decode: { response in
        guard (200..<300).contains(response.status) else {
          throw AWSServiceError.decode(
            response.body, status: response.status, service: service, action: action, region: region, date: response.header("Date"))
        }
        do throws(XMLDecodingError) {
          return try XMLElementNode.parse(response.body)
        } catch {
          throw AWSServiceError(
            service: service, action: action, status: response.status, code: "MalformedResponse", message: error.description, requestID: "",
            region: region)
        }
      }
    } catch {
      throw await diagnosed(error)
    }
  }

  /// The final error, with its encoded authorization failure message decoded when there is
  /// one and a decoder: what STS said, or why it could not say.
  private func diagnosed(_ error: any Error) async -> any Error {
    guard var failure = error as? AWSServiceError, let encoded = failure.encodedAuthorizationMessage, let decoder = authorizationDecoder else {
      return error
    }
    do {
      let json = try await decoder.decodeAuthorizationMessage(encoded)
      if let decoded = DecodedAuthorizationMessage(json: json) {
        failure.authorization = .decoded(decoded)
      } else {
        failure.authorization = .failed("STS answered a document Kiln cannot read: \(json.prefix(200))")
      }
    } catch let refusal as AWSServiceError where ["AccessDenied", "AccessDeniedException", "UnauthorizedOperation"].contains(refusal.code) {
      failure.authorization = .notPermitted("STS: \(refusal.code): \(refusal.message)")
    } catch {
      failure.authorization = .failed("\(error)")
    }
    return failure
  }

  /// Calls an action that takes no signature (STS AssumeRoleWithWebIdentity).
  public func callUnsigned(_ action: String, _ parameters: QueryParameters = QueryParameters()) async throws -> XMLElementNode {
    try await call(action, parameters, signed: false)
  }

  private func send(action: String, body: [UInt8], signed: Bool) async throws -> HTTPResponse {
    let headers: [(name: String, value: String)] = [
      ("Host", host), ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
    ]
    return try await Self.post(
      body, headers: headers, to: endpoint, signedFor: signed ? (service, region, credentials) : nil, through: http, limiter: limiter)
  }

  /// One attempt of any AWS client (Query or JSON protocol): a token from the rate limiter,
  /// then the POST, signed with SigV4 for the service and region unless `signedFor` is nil.
  static func post(
    _ body: [UInt8], headers: [(name: String, value: String)], to endpoint: URL,
    signedFor signer: (service: String, region: String, credentials: any CredentialsProvider)?, through http: any HTTPClient,
    limiter: RateLimiter?
  ) async throws -> HTTPResponse {
    if let limiter { try await limiter.acquire() }
    guard let signer else {
      return try await http.send(HTTPRequest(method: "POST", url: endpoint, headers: headers, body: body))
    }
    let credentials = try await signer.credentials.credentials()
    let path = endpoint.path.isEmpty ? "/" : endpoint.path
    let request = SigV4.Request(method: "POST", path: path, headers: headers, body: body)
    let scope = SigV4.Scope(date: Date(), region: signer.region, service: signer.service)
    let signing = try SigV4.sign(request, credentials: credentials, scope: scope)
    return try await http.send(HTTPRequest(method: "POST", url: endpoint, headers: headers + signing.addedHeaders, body: body))
  }
}

/// AWS region names: what goes into endpoint host names and signing scopes.
public enum AWSRegion {
  /// Checks that `region` has the shape of an AWS region name (`us-east-1`, `cn-north-1`,
  /// `us-gov-west-1`): lowercase letters, digits and hyphens, starting and ending with a
  /// letter or digit, at most 63 characters (one DNS label).
  ///
  /// - Throws: `AWSConfigurationError` naming the region.
  public static func validate(_ region: String) throws(AWSConfigurationError) {
    let bytes = Array(region.utf8)
    func allowed(_ byte: UInt8) -> Bool {
      (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
    guard let first = bytes.first, let last = bytes.last, bytes.count <= 63, allowed(first), allowed(last),
      bytes.allSatisfy({ allowed($0) || $0 == UInt8(ascii: "-") })
    else {
      throw AWSConfigurationError(
        "region \"\(region)\" is not an AWS region name: it may hold only lowercase letters, digits and hyphens, like us-east-1")
    }
  }
}

/// One retry of an AWS request, as the log says it.
public struct AWSRetryNotice: Sendable, CustomStringConvertible {
  public var service: String
  public var action: String
  /// The attempt that failed, from 1.
  public var failedAttempt: Int
  /// How many attempts the retry policy allows in all.
  public var attempts: Int
  /// The wait before the next attempt.
  public var delay: Duration
  public var cause: any Error
  /// Since the first attempt of this request started.
  public var elapsed: Duration

  /// The cause (which names the service and action), then the attempt and the wait.
  public var description: String {
    let name = "\(service.uppercased()) \(action)"
    let cause = "\(self.cause)"
    let wait = delay < .seconds(1) ? "\(Int((delay.inSeconds * 1000).rounded()))ms" : "\((delay.inSeconds * 10).rounded() / 10)s"
    return (cause.hasPrefix(name) ? cause : "\(name): \(cause)")
      + "; attempt \(failedAttempt) of \(attempts) failed, retrying in \(wait) (\(Int(elapsed.inSeconds))s since the first attempt)"
  }
}

/// Where an AWS client says what it does besides answering: every retry goes to `debug` (the
/// `KILN_LOG` debug log); once a request has been failing for longer than `consoleAfter`
/// (counting the wait before the next attempt), its retries go to `console` too, so that a
/// build never sits silent through a long run of retries.
public struct AWSClientLog: Sendable {
  public var debug: (@Sendable (String) -> Void)?
  public var console: (@Sendable (String) -> Void)?
  public var consoleAfter: Duration

  public init(debug: (@Sendable (String) -> Void)?, console: (@Sendable (String) -> Void)?, consoleAfter: Duration = .seconds(5)) {
    self.debug = debug
    self.console = console
    self.consoleAfter = consoleAfter
  }

  func retrying(_ notice: AWSRetryNotice) {
    debug?(notice.description)
    if notice.elapsed + notice.delay > consoleAfter {
      console?(notice.description)
    }
  }
}

/// A configuration problem found before any request (no region, bad endpoint, no credentials).
public struct AWSConfigurationError: Error, CustomStringConvertible, Sendable {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}
