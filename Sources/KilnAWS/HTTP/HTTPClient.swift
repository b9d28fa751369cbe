public import Foundation

/// One HTTP request, as the AWS client sends it.
public struct HTTPRequest: Sendable {
  public var method: String
  public var url: URL
  public var headers: [(name: String, value: String)]
  public var body: [UInt8]

  public init(method: String, url: URL, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
    self.method = method
    self.url = url
    self.headers = headers
    self.body = body
  }
}

public struct HTTPResponse: Sendable {
  public var status: Int
  public var headers: [(name: String, value: String)]
  public var body: [UInt8]

  public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
    self.status = status
    self.headers = headers
    self.body = body
  }

  public func header(_ name: String) -> String? {
    headers.last { $0.name.lowercased() == name.lowercased() }?.value
  }

  public var text: String { String(decoding: body, as: UTF8.self) }
}

/// The seam between the AWS client and the network: `CurlHTTPClient` in production, a
/// scripted double in fault-injection tests.
public protocol HTTPClient: Sendable {
  /// Sends the request. Throws `TransportError` when no response arrived (connection refused,
  /// TLS failure, timeout) and `CancellationError` when the task was cancelled.
  func send(_ request: HTTPRequest) async throws -> HTTPResponse
}

/// No HTTP response: the transport failed. Keeps curl's own words.
public struct TransportError: Error, CustomStringConvertible, Sendable {
  public enum Kind: Sendable {
    /// DNS, connect refused, connection reset: worth retrying.
    case connection
    /// Connect or total timeout: worth retrying.
    case timeout
    /// Certificate problems: not retried.
    case tls
    /// The answer was larger than the client takes (`CurlHTTPClient.Options.maxResponseBytes`):
    /// not retried.
    case responseTooLarge
    /// Anything else curl reports.
    case other
  }

  public var kind: Kind
  /// curl's error code (`CURLcode`).
  public var code: Int
  /// curl's message: its error buffer if it wrote one, else `curl_easy_strerror`.
  public var message: String
  public var url: String
  /// The request, e.g. "EC2 DescribeImages", when the AWS client knows it.
  public var action: String

  public init(kind: Kind, code: Int, message: String, url: String, action: String = "") {
    self.kind = kind
    self.code = code
    self.message = message
    self.url = url
    self.action = action
  }

  public var isRetryable: Bool { kind == .connection || kind == .timeout }

  public var description: String { (action.isEmpty ? "" : "\(action): ") + "\(message) (\(url), curl error \(code))" }
}
