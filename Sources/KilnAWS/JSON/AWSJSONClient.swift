public import Foundation
import KilnCore

/// One signed path for every AWS JSON-protocol call (SSM): `POST /` with the action in
/// `X-Amz-Target: <prefix>.<Action>` and a JSON body (`application/x-amz-json-1.1`), SigV4,
/// the same retries and rate limiting as `AWSQueryClient` (`RetryPolicy.run`), and typed
/// errors read from the JSON error answer (`__type`, `message`).
///
/// Nothing of an answer's body is logged or put into an error: a successful answer may hold a
/// secret (an SSM SecureString's value), so a malformed one is reported by position only.
public final class AWSJSONClient: Sendable {
  public let service: String
  /// The model's `targetPrefix` (`AmazonSSM`).
  public let targetPrefix: String
  /// The model's `jsonVersion` (`1.1`): the content type is `application/x-amz-json-<version>`.
  public let jsonVersion: String
  public let region: String
  public let endpoint: URL
  let host: String
  let http: any HTTPClient
  let credentials: any CredentialsProvider
  public let retry: RetryPolicy
  let limiter: RateLimiter?
  let log: AWSClientLog?
  let observer: (@Sendable (String, Int, Result<Int, any Error>) -> Void)?

  /// - Throws: `AWSConfigurationError` when `region` is not an AWS region name or `endpoint`
  ///   has no host.
  public init(
    service: String, targetPrefix: String, jsonVersion: String, region: String, endpoint: URL, http: any HTTPClient,
    credentials: any CredentialsProvider, retry: RetryPolicy = RetryPolicy(), limiter: RateLimiter? = nil, log: AWSClientLog? = nil,
    observer: (@Sendable (String, Int, Result<Int, any Error>) -> Void)? = nil
  ) throws(AWSConfigurationError) {
    try AWSRegion.validate(region)
    host = try AWSQueryClient.hostHeader(of: endpoint, service: service)
    self.service = service
    self.targetPrefix = targetPrefix
    self.jsonVersion = jsonVersion
    self.region = region
    self.endpoint = endpoint
    self.http = http
    self.credentials = credentials
    self.retry = retry
    self.limiter = limiter
    self.log = log
    self.observer = observer
  }

  /// Calls `action` with `input` (the operation's input members) and returns the answer's
  /// top-level object. Retries what is worth retrying; throws `AWSServiceError`,
  /// `TransportError` (naming the action) or `CancellationError`.
  public func call(_ action: String, _ input: [String: AWSJSONValue] = [:]) async throws -> AWSJSONObject {
    let body = Array(AWSJSONValue.object(input).encoded.utf8)
    return try await retry.run(service: service, action: action, log: log, observer: observer) {
      try await send(action: action, body: body)
    } decode: { response in
      guard (200..<300).contains(response.status) else {
        throw AWSServiceError.decodeJSON(
          response.body, status: response.status, headers: response.header, service: service, action: action, region: region)
      }
      let root: JSONNode
      do throws(Diagnostic) {
        root = try JSONReader.read(String(decoding: response.body, as: UTF8.self), path: "answer").root
      } catch {
        // The parser's message may quote the text; the position says enough.
        throw AWSServiceError(
          service: service, action: action, status: response.status, code: "MalformedResponse",
          message: "the answer is not a JSON document"
            + (error.location.map { " (at line \($0.line), column \($0.column))" } ?? ""), requestID: "",
          region: region)
      }
      guard root.members != nil else {
        throw AWSServiceError(
          service: service, action: action, status: response.status, code: "MalformedResponse",
          message: "the answer is \(root.typeNameWithArticle), not a JSON object", requestID: "", region: region)
      }
      return AWSJSONObject(root, path: "\(action)Response")
    }
  }

  private func send(action: String, body: [UInt8]) async throws -> HTTPResponse {
    let headers: [(name: String, value: String)] = [
      ("Host", host), ("Content-Type", "application/x-amz-json-\(jsonVersion)"), ("X-Amz-Target", "\(targetPrefix).\(action)"),
    ]
    return try await AWSQueryClient.post(
      body, headers: headers, to: endpoint, signedFor: (service, region, credentials), through: http, limiter: limiter)
  }
}

/// A value of a JSON-protocol request body.
public indirect enum AWSJSONValue: Sendable, Equatable {
  case string(String)
  case bool(Bool)
  case integer(Int)
  case list([AWSJSONValue])
  case object([String: AWSJSONValue])

  /// The value as JSON text (an object's members sorted by name, so a request is the same
  /// bytes on every attempt).
  public var encoded: String {
    // A top-level string or number is written as a one-element list, then unwrapped.
    guard let data = try? JSONSerialization.data(withJSONObject: [foundation], options: [.sortedKeys, .withoutEscapingSlashes]) else {
      return "null"
    }
    return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
  }

  /// The value as Foundation's JSON objects.
  private var foundation: Any {
    switch self {
    case .string(let text): text
    case .bool(let flag): flag
    case .integer(let number): number
    case .list(let elements): elements.map(\.foundation)
    case .object(let members): members.mapValues(\.foundation)
    }
  }
}

/// An object of a JSON-protocol answer. Every member a decoder asks for is recorded under
/// `XMLReads.$recorder` as `<Action>Response/<Member>/…`, like the Query clients' element
/// paths, so `ResponseModelTests` checks JSON reads against AWS's model too.
public struct AWSJSONObject: Sendable {
  let node: JSONNode
  /// The members' names from the answer's root (`GetParameterResponse/Parameter`).
  public let path: String

  init(_ node: JSONNode, path: String) {
    self.node = node
    self.path = path
  }

  private func member(_ key: String) -> JSONNode? {
    XMLReads.recorder?.record(path + "/" + key)
    guard let value = node[key], !value.isNull else { return nil }
    return value
  }

  /// The member `key` when it is an object.
  public func object(_ key: String) -> AWSJSONObject? {
    guard let value = member(key), value.members != nil else { return nil }
    return AWSJSONObject(value, path: path + "/" + key)
  }

  /// The member `key` when it is a string.
  public func string(_ key: String) -> String? { member(key)?.stringValue }

  /// The member `key` when it is a whole number.
  public func int(_ key: String) -> Int? {
    guard case .number(let text)? = member(key)?.value else { return nil }
    return Int(text) ?? Double(text).flatMap { $0 == $0.rounded() && abs($0) < 9e18 ? Int($0) : nil }
  }

  /// The member `key` when it is a number (an epoch time, say).
  public func double(_ key: String) -> Double? {
    guard case .number(let text)? = member(key)?.value else { return nil }
    return Double(text)
  }
}
