import Foundation
import KilnCore

/// An error response from an AWS service: its code, message and request id, as AWS sent them,
/// and what Kiln learned about it (the answer's clock, a decoded authorization failure), from
/// which `advice` says what happened and what to do (`AWSErrorAdvice.swift`).
public struct AWSServiceError: Error, CustomStringConvertible, Sendable, Equatable {
  public var service: String
  public var action: String
  public var status: Int
  public var code: String
  public var message: String
  public var requestID: String
  /// The region the request went to, when the client knows it.
  public var region: String
  /// The answer's `Date` header minus this host's clock when the answer came, in seconds:
  /// positive when this host's clock is behind AWS's. Nil when the answer had no `Date`.
  public var clockSkew: Double?
  /// For an error carrying an encoded authorization failure message: what STS
  /// DecodeAuthorizationMessage made of it, or why it could not be decoded.
  public var authorization: AuthorizationDiagnosis?

  public init(
    service: String, action: String, status: Int, code: String, message: String, requestID: String, region: String = "",
    clockSkew: Double? = nil, authorization: AuthorizationDiagnosis? = nil
  ) {
    self.service = service
    self.action = action
    self.status = status
    self.code = code
    self.message = message
    self.requestID = requestID
    self.region = region
    self.clockSkew = clockSkew
    self.authorization = authorization
  }

  /// AWS's words (an encoded authorization message shortened once it is decoded), then on
  /// the next line what happened and what to do, when Kiln knows (`advice`).
  public var description: String {
    var shown = message
    if case .decoded = authorization, let range = message.range(of: Self.encodedMessageMarker) {
      shown = message[..<range.lowerBound].trimmingCharacters(in: .whitespaces) + " (its encoded authorization failure message is decoded below)"
    }
    let line = "\(service.uppercased()) \(action): \(code): \(shown) (HTTP \(status)\(requestID.isEmpty ? "" : ", request id \(requestID)"))"
    return advice.map { line + "\n" + $0 } ?? line
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

  /// Capacity refusals: 5xx in AWS's error table ("Error codes for the Amazon EC2 API",
  /// server errors), whose advice is to wait a few minutes or to ask elsewhere (another zone
  /// or instance type). A resend milliseconds later meets the same shortage, so they are not
  /// retried; the amazon-ebs launch tries the next zone or type instead.
  static let capacityCodes: Set<String> = [
    "InsufficientInstanceCapacity", "InsufficientCapacity", "InsufficientHostCapacity", "InsufficientReservedInstanceCapacity",
  ]

  public var isThrottling: Bool { Self.throttlingCodes.contains(code) || status == 429 }

  /// Throttling, a transient service error, or any 5xx but a capacity refusal: worth retrying.
  public var isRetryable: Bool {
    isThrottling || Self.transientCodes.contains(code) || (status >= 500 && !Self.capacityCodes.contains(code))
  }

  /// What precedes the blob in an EC2 `UnauthorizedOperation` message.
  static let encodedMessageMarker = "Encoded authorization failure message:"

  /// The encoded authorization failure message in `message`, if it carries one (EC2 adds
  /// one to `UnauthorizedOperation` for calls its documentation says do).
  public var encodedAuthorizationMessage: String? {
    guard let range = message.range(of: Self.encodedMessageMarker) else { return nil }
    let blob = message[range.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)
    let token = blob.prefix { !$0.isWhitespace }
    return token.isEmpty ? nil : String(token)
  }

  /// Reads an EC2 (`<Response><Errors><Error>`) or STS/IAM (`<ErrorResponse><Error>`) error
  /// body; `date` is the answer's `Date` header, compared with `now` for the clock skew.
  static func decode(
    _ body: [UInt8], status: Int, service: String, action: String, region: String = "", date: String? = nil, now: Date = Date()
  ) -> AWSServiceError {
    let skew = date.flatMap(parseHTTPDate).map { $0.timeIntervalSince(now) }
    guard let root = try? XMLElementNode.parse(body), let error = root.find("Error") else {
      return undocumented(body, status: status, service: service, action: action, region: region, skew: skew)
    }
    return AWSServiceError(
      service: service, action: action, status: status, code: error.string("Code") ?? "HTTP\(status)",
      message: error.string("Message") ?? "", requestID: root.string("RequestID") ?? root.string("RequestId") ?? "", region: region, clockSkew: skew)
  }
}

extension AWSServiceError {
  /// An error answer that is no AWS error document (a proxy's page, an empty body): its
  /// status and the start of its body.
  static func undocumented(_ body: [UInt8], status: Int, service: String, action: String, region: String, skew: Double?) -> AWSServiceError {
    let text = String(decoding: body.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    let excerpt = text.split(whereSeparator: \.isNewline).prefix(2).joined(separator: " ")
    return AWSServiceError(
      service: service, action: action, status: status, code: "HTTP\(status)",
      message: "the service answered HTTP \(status) without an AWS error document" + (excerpt.isEmpty ? "" : " (body starts: \(excerpt))"),
      requestID: "", region: region, clockSkew: skew)
  }

  /// Reads a JSON-protocol error answer (SSM): `{"__type": "…#Code", "message": "…"}`, the
  /// code also in the `X-Amzn-ErrorType` header (the part before any `:`), the request id in
  /// `X-Amzn-RequestId`; `date` gives the clock skew as for `decode`.
  static func decodeJSON(
    _ body: [UInt8], status: Int, headers: (String) -> String?, service: String, action: String, region: String = "", now: Date = Date()
  ) -> AWSServiceError {
    let skew = headers("Date").flatMap(parseHTTPDate).map { $0.timeIntervalSince(now) }
    let document = (try? JSONReader.read(String(decoding: body, as: UTF8.self)).root)
    func shortCode(_ text: String) -> String {
      let afterHash = text.split(separator: "#").last.map(String.init) ?? text
      return afterHash.split(separator: ":").first.map(String.init) ?? afterHash
    }
    let code = (document?["__type"]?.stringValue ?? document?["code"]?.stringValue ?? headers("X-Amzn-ErrorType")).map(shortCode) ?? ""
    guard !code.isEmpty else {
      return undocumented(body, status: status, service: service, action: action, region: region, skew: skew)
    }
    return AWSServiceError(
      service: service, action: action, status: status, code: code,
      message: document?["message"]?.stringValue ?? document?["Message"]?.stringValue ?? "", requestID: headers("X-Amzn-RequestId") ?? "",
      region: region, clockSkew: skew)
  }
}

/// What became of an encoded authorization failure message.
public enum AuthorizationDiagnosis: Sendable, Equatable {
  /// STS decoded it.
  case decoded(DecodedAuthorizationMessage)
  /// STS refused: the caller may not call `sts:DecodeAuthorizationMessage`.
  case notPermitted(String)
  /// It could not be decoded for another reason (STS unreachable, the message expired).
  case failed(String)
}

/// An HTTP date (`Date` header): RFC 9110's IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`),
/// or the obsolete RFC 850 form.
func parseHTTPDate(_ text: String) -> Date? {
  let formatter = DateFormatter()
  formatter.locale = Locale(identifier: "en_US_POSIX")
  formatter.timeZone = TimeZone(identifier: "GMT")
  for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
    formatter.dateFormat = format
    if let date = formatter.date(from: text.trimmingCharacters(in: .whitespaces)) { return date }
  }
  return nil
}
