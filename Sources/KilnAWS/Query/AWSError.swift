import Foundation

/// An error response from an AWS service: its code, message and request id, as AWS sent them.
public struct AWSServiceError: Error, CustomStringConvertible, Sendable, Equatable {
  public var service: String
  public var action: String
  public var status: Int
  public var code: String
  public var message: String
  public var requestID: String

  public init(service: String, action: String, status: Int, code: String, message: String, requestID: String) {
    self.service = service
    self.action = action
    self.status = status
    self.code = code
    self.message = message
    self.requestID = requestID
  }

  public var description: String {
    "\(service.uppercased()) \(action): \(code): \(message) (HTTP \(status)\(requestID.isEmpty ? "" : ", request id \(requestID)"))"
  }

  /// Throttling codes AWS uses across services.
  static let throttlingCodes: Set<String> = [
    "RequestLimitExceeded", "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled",
    "RequestThrottledException", "TooManyRequestsException", "ProvisionedThroughputExceededException",
    "TransactionInProgressException", "SlowDown", "BandwidthLimitExceeded", "EC2ThrottledException",
    "PriorRequestNotComplete",
  ]
  static let transientCodes: Set<String> = [
    "InternalError", "InternalFailure", "ServiceUnavailable", "Unavailable", "RequestTimeout",
    "RequestTimeoutException", "IDPCommunicationError",
  ]

  public var isThrottling: Bool { Self.throttlingCodes.contains(code) || status == 429 }

  /// Throttling, a transient service error, or any 5xx: worth retrying.
  public var isRetryable: Bool { isThrottling || Self.transientCodes.contains(code) || status >= 500 }

  /// Reads an EC2 (`<Response><Errors><Error>`) or STS/IAM (`<ErrorResponse><Error>`) error body.
  static func decode(_ body: [UInt8], status: Int, service: String, action: String) -> AWSServiceError {
    guard let root = try? XMLElementNode.parse(body), let error = root.find("Error") else {
      let text = String(decoding: body.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
      let excerpt = text.split(whereSeparator: \.isNewline).prefix(2).joined(separator: " ")
      return AWSServiceError(
        service: service, action: action, status: status, code: "HTTP\(status)",
        message: "the service answered HTTP \(status) without an AWS error document" + (excerpt.isEmpty ? "" : " (body starts: \(excerpt))"),
        requestID: "")
    }
    return AWSServiceError(
      service: service, action: action, status: status, code: error.string("Code") ?? "HTTP\(status)",
      message: error.string("Message") ?? "", requestID: root.string("RequestID") ?? root.string("RequestId") ?? "")
  }
}
