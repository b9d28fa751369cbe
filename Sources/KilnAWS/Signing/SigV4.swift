public import Foundation
public import KilnCrypto

/// AWS Signature Version 4, as pure functions over a request.
///
/// Every intermediate step is exposed (`canonicalRequest`, `stringToSign`, `signature`) so the
/// signer can be checked byte for byte against AWS's published test suite. Cryptography is
/// OpenSSL's HMAC-SHA256 and SHA-256 (`Digest`).
public enum SigV4 {
  public static let algorithm = "AWS4-HMAC-SHA256"

  public struct Credentials: Sendable, Equatable {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
      self.accessKeyID = accessKeyID
      self.secretAccessKey = secretAccessKey
      self.sessionToken = sessionToken?.isEmpty == true ? nil : sessionToken
    }
  }

  /// A request to sign. `path` and `query` are as they will be sent (the query without `?`).
  public struct Request: Sendable {
    public var method: String
    public var path: String
    public var query: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(method: String, path: String, query: String = "", headers: [(name: String, value: String)], body: [UInt8] = []) {
      self.method = method
      self.path = path
      self.query = query
      self.headers = headers
      self.body = body
    }

    public func header(_ name: String) -> String? {
      headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
  }

  public struct Scope: Sendable {
    public var date: Date
    public var region: String
    public var service: String

    public init(date: Date, region: String, service: String) {
      self.date = date
      self.region = region
      self.service = service
    }

    /// `20150830T123600Z`
    public var timestamp: String { SigV4.basicISO8601(date) }
    /// `20150830/us-east-1/service/aws4_request`
    public var credentialScope: String { "\(String(SigV4.basicISO8601(date).prefix(8)))/\(region)/\(service)/aws4_request" }
  }

  public struct Options: Sendable {
    /// Remove `.`/`..` segments and repeated slashes from the path (every service but S3).
    public var normalizePath = true
    /// Add `x-amz-content-sha256` with the payload's hash.
    public var signBody = false
    /// Add the session token after signing instead of signing it (a few services want this).
    public var omitSessionToken = false

    public init(normalizePath: Bool = true, signBody: Bool = false, omitSessionToken: Bool = false) {
      self.normalizePath = normalizePath
      self.signBody = signBody
      self.omitSessionToken = omitSessionToken
    }
  }

  /// The result of signing, with the intermediate steps.
  public struct Signing: Sendable {
    public var canonicalRequest: String
    public var stringToSign: String
    public var signature: String
    /// Header mode: the headers to add, in order. Query mode: empty.
    public var addedHeaders: [(name: String, value: String)]
    /// Query mode: the full query string to send. Header mode: the request's query.
    public var query: String
  }

  // MARK: - Signing

  /// Signs with an `Authorization` header.
  public static func sign(
    _ request: Request, credentials: Credentials, scope: Scope, options: Options = Options()
  ) throws(OpenSSLError) -> Signing {
    var headers = request.headers
    var added: [(name: String, value: String)] = []
    if let token = credentials.sessionToken, !options.omitSessionToken {
      added.append(("X-Amz-Security-Token", token))
    }
    added.append(("X-Amz-Date", scope.timestamp))
    let payloadHash = Digest.hex(try Digest.sha256(request.body))
    if options.signBody { added.append(("x-amz-content-sha256", payloadHash)) }
    headers += added
    let (canonicalHeaders, signedHeaders) = canonicalize(headers: headers)
    let canonical = canonicalRequest(
      method: request.method, path: canonicalURI(request.path, normalize: options.normalizePath),
      query: canonicalQuery(parseQuery(request.query)), canonicalHeaders: canonicalHeaders,
      signedHeaders: signedHeaders, payloadHash: payloadHash)
    let toSign = try stringToSign(canonical, scope: scope)
    let signature = try self.signature(toSign, secret: credentials.secretAccessKey, scope: scope)
    if let token = credentials.sessionToken, options.omitSessionToken {
      added.insert(("X-Amz-Security-Token", token), at: 0)
    }
    added.append(
      (
        "Authorization",
        "\(algorithm) Credential=\(credentials.accessKeyID)/\(scope.credentialScope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
      ))
    return Signing(canonicalRequest: canonical, stringToSign: toSign, signature: signature, addedHeaders: added, query: request.query)
  }

  /// Signs with query parameters (a presigned URL valid for `expires` seconds).
  public static func presign(
    _ request: Request, credentials: Credentials, scope: Scope, expires: Int, options: Options = Options()
  ) throws(OpenSSLError) -> Signing {
    let (canonicalHeaders, signedHeaders) = canonicalize(headers: request.headers)
    var extra: [(String, String)] = [
      ("X-Amz-Algorithm", algorithm),
      ("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope.credentialScope)"),
      ("X-Amz-Date", scope.timestamp),
      ("X-Amz-SignedHeaders", signedHeaders),
      ("X-Amz-Expires", String(expires)),
    ]
    if let token = credentials.sessionToken, !options.omitSessionToken { extra.append(("X-Amz-Security-Token", token)) }
    let pairs = parseQuery(request.query) + extra
    // With `omitSessionToken` the token travels in the query but is not signed.
    if let token = credentials.sessionToken, options.omitSessionToken { extra.append(("X-Amz-Security-Token", token)) }
    let payloadHash = Digest.hex(try Digest.sha256(request.body))
    let canonical = canonicalRequest(
      method: request.method, path: canonicalURI(request.path, normalize: options.normalizePath),
      query: canonicalQuery(pairs), canonicalHeaders: canonicalHeaders, signedHeaders: signedHeaders,
      payloadHash: payloadHash)
    let toSign = try stringToSign(canonical, scope: scope)
    let signature = try self.signature(toSign, secret: credentials.secretAccessKey, scope: scope)
    let encodedExtra = (extra + [("X-Amz-Signature", signature)]).map { "\(encode($0.0))=\(encode($0.1))" }
    let query = ([request.query].filter { !$0.isEmpty } + encodedExtra).joined(separator: "&")
    return Signing(canonicalRequest: canonical, stringToSign: toSign, signature: signature, addedHeaders: [], query: query)
  }

  // MARK: - Steps

  public static func canonicalRequest(
    method: String, path: String, query: String, canonicalHeaders: String, signedHeaders: String, payloadHash: String
  ) -> String {
    [method, path, query, canonicalHeaders, "", signedHeaders, payloadHash].joined(separator: "\n")
  }

  public static func stringToSign(_ canonicalRequest: String, scope: Scope) throws(OpenSSLError) -> String {
    let hash = Digest.hex(try Digest.sha256(Array(canonicalRequest.utf8)))
    return [algorithm, scope.timestamp, scope.credentialScope, hash].joined(separator: "\n")
  }

  public static func signingKey(secret: String, scope: Scope) throws(OpenSSLError) -> [UInt8] {
    let day = String(basicISO8601(scope.date).prefix(8))
    var key = try Digest.hmacSHA256(key: Array("AWS4\(secret)".utf8), data: Array(day.utf8))
    key = try Digest.hmacSHA256(key: key, data: Array(scope.region.utf8))
    key = try Digest.hmacSHA256(key: key, data: Array(scope.service.utf8))
    return try Digest.hmacSHA256(key: key, data: Array("aws4_request".utf8))
  }

  public static func signature(_ stringToSign: String, secret: String, scope: Scope) throws(OpenSSLError) -> String {
    Digest.hex(try Digest.hmacSHA256(key: try signingKey(secret: secret, scope: scope), data: Array(stringToSign.utf8)))
  }

  // MARK: - Canonical forms

  /// Lower-cased names, sorted; values trimmed with inner runs of spaces collapsed; repeated
  /// headers joined with commas in order.
  public static func canonicalize(headers: [(name: String, value: String)]) -> (canonical: String, signed: String) {
    var merged: [String: [String]] = [:]
    for (name, value) in headers {
      let collapsed = value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).joined(separator: " ")
      merged[name.lowercased(), default: []].append(collapsed)
    }
    let sorted = merged.sorted { $0.key < $1.key }
    let canonical = sorted.map { "\($0.key):\($0.value.joined(separator: ","))" }.joined(separator: "\n")
    return (canonical, sorted.map(\.key).joined(separator: ";"))
  }

  /// The URI-encoded path; with `normalize`, dot segments and empty segments removed.
  public static func canonicalURI(_ path: String, normalize: Bool) -> String {
    let decoded = percentDecode(path.isEmpty ? "/" : path)
    var segments = decoded.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    if normalize {
      let trailing = decoded.hasSuffix("/") || decoded.hasSuffix("/.") || decoded.hasSuffix("/..")
      var stack: [String] = []
      for segment in segments {
        switch segment {
        case "", ".": continue
        case "..": _ = stack.popLast()
        default: stack.append(segment)
        }
      }
      segments = [""] + stack
      if trailing, !stack.isEmpty { segments.append("") }
      if stack.isEmpty { return "/" }
    }
    return segments.map { encode($0) }.joined(separator: "/")
  }

  /// Pairs sorted by encoded name, then encoded value.
  public static func canonicalQuery(_ pairs: [(String, String)]) -> String {
    let encoded: [(name: String, value: String)] = pairs.map { (encode($0.0), encode($0.1)) }
    let sorted = encoded.sorted { a, b in a.name == b.name ? a.value < b.value : a.name < b.name }
    return sorted.map { $0.name + "=" + $0.value }.joined(separator: "&")
  }

  /// Splits a raw query string into decoded pairs.
  public static func parseQuery(_ query: String) -> [(String, String)] {
    query.split(separator: "&").map { item in
      let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      return (percentDecode(String(parts[0])), parts.count > 1 ? percentDecode(String(parts[1])) : "")
    }
  }

  /// RFC 3986 encoding: everything but `A-Z a-z 0-9 - _ . ~` as `%XX`.
  public static func encode(_ text: String) -> String {
    var out = [UInt8]()
    out.reserveCapacity(text.utf8.count)
    let hex = Array("0123456789ABCDEF".utf8)
    for byte in text.utf8 {
      if unreserved[Int(byte)] {
        out.append(byte)
      } else {
        out.append(UInt8(ascii: "%"))
        out.append(hex[Int(byte >> 4)])
        out.append(hex[Int(byte & 0x0F)])
      }
    }
    return String(decoding: out, as: UTF8.self)
  }

  private static let unreserved: [Bool] = (0..<256).map { value in
    let byte = UInt8(value)
    let isLetter = (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    let isDigit = byte >= 0x30 && byte <= 0x39
    return isLetter || isDigit || byte == 0x2D || byte == 0x5F || byte == 0x2E || byte == 0x7E
  }

  static func percentDecode(_ text: String) -> String {
    guard text.contains("%") else { return text }
    var bytes: [UInt8] = []
    var iterator = Array(text.utf8)[...]
    while let byte = iterator.popFirst() {
      if byte == UInt8(ascii: "%"), iterator.count >= 2,
        let value = UInt8(String(decoding: iterator.prefix(2), as: UTF8.self), radix: 16)
      {
        bytes.append(value)
        iterator = iterator.dropFirst(2)
      } else {
        bytes.append(byte)
      }
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  /// `yyyyMMddTHHmmssZ` in UTC, from the C library's calendar: cheaper than a DateFormatter
  /// per request, and it keeps ICU's data out of the process.
  static func basicISO8601(_ date: Date) -> String {
    var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
    var parts = tm()
    gmtime_r(&seconds, &parts)
    func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
    return "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))T\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))Z"
  }
}
