import Foundation
import KilnAWS
import Testing

/// AWS's SigV4 test suite (`../shared/sigv4-testsuite/`): every intermediate file reproduced
/// byte for byte, in header mode and in query (presigned) mode.
@Suite struct SigV4TestSuiteTests {
  static let directory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("shared/sigv4-testsuite")

  static var cases: [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
      .filter { FileManager.default.fileExists(atPath: directory.appendingPathComponent("\($0)/context.json").path) }
      .sorted()
  }

  struct Vector {
    var request: SigV4.Request
    var requestLine: String
    var rawHeaderLines: [String]
    var credentials: SigV4.Credentials
    var scope: SigV4.Scope
    var options: SigV4.Options
    var expires: Int
    var directory: URL

    func file(_ name: String) throws -> String {
      try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }
  }

  static func load(_ name: String) throws -> Vector {
    let folder = directory.appendingPathComponent(name)
    let context = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("context.json"))) as? [String: Any])
    let credentials = try #require(context["credentials"] as? [String: String])
    let raw = try String(contentsOf: folder.appendingPathComponent("request.txt"), encoding: .utf8)
    let (head, body): (Substring, Substring) = {
      guard let range = raw.range(of: "\n\n") else { return (Substring(raw), "") }
      return (raw[..<range.lowerBound], raw[range.upperBound...])
    }()
    var lines = head.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let requestLine = lines.removeFirst()
    let words = requestLine.split(separator: " ")
    let target = words.dropFirst().dropLast().joined(separator: " ")
    let (path, query) = target.firstIndex(of: "?").map { (String(target[..<$0]), String(target[target.index(after: $0)...])) } ?? (target, "")
    var headers: [(name: String, value: String)] = []
    for line in lines where !line.isEmpty {
      if line.first == " " || line.first == "\t", !headers.isEmpty {
        headers[headers.count - 1].value += " " + line
      } else if let colon = line.firstIndex(of: ":") {
        headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
      }
    }
    let formatter = ISO8601DateFormatter()
    return Vector(
      request: SigV4.Request(method: String(words[0]), path: path, query: query, headers: headers, body: Array(body.utf8)),
      requestLine: requestLine, rawHeaderLines: lines.filter { !$0.isEmpty },
      credentials: SigV4.Credentials(
        accessKeyID: credentials["access_key_id"]!, secretAccessKey: credentials["secret_access_key"]!, sessionToken: credentials["token"]),
      scope: SigV4.Scope(
        date: try #require(formatter.date(from: context["timestamp"] as! String)), region: context["region"] as! String,
        service: context["service"] as! String),
      options: SigV4.Options(
        normalizePath: context["normalize"] as? Bool ?? true, signBody: context["sign_body"] as? Bool ?? false,
        omitSessionToken: context["omit_session_token"] as? Bool ?? false),
      expires: context["expiration_in_seconds"] as? Int ?? 3600, directory: folder)
  }

  @Test func suiteIsPresent() {
    #expect(Self.cases.count >= 30, "expected the vectors at \(Self.directory.path)")
  }

  @Test(arguments: cases)
  func headerSigning(name: String) throws {
    let vector = try Self.load(name)
    let signing = try SigV4.sign(vector.request, credentials: vector.credentials, scope: vector.scope, options: vector.options)
    #expect(signing.canonicalRequest == (try vector.file("header-canonical-request.txt")))
    #expect(signing.stringToSign == (try vector.file("header-string-to-sign.txt")))
    #expect(signing.signature == (try vector.file("header-signature.txt")))
    let signed =
      ([vector.requestLine] + vector.rawHeaderLines + signing.addedHeaders.map { "\($0.name):\($0.value)" }).joined(separator: "\n")
      + "\n\n" + String(decoding: vector.request.body, as: UTF8.self)
    #expect(signed == (try vector.file("header-signed-request.txt")))
  }

  @Test(arguments: cases)
  func querySigning(name: String) throws {
    let vector = try Self.load(name)
    let signing = try SigV4.presign(
      vector.request, credentials: vector.credentials, scope: vector.scope, expires: vector.expires, options: vector.options)
    #expect(signing.canonicalRequest == (try vector.file("query-canonical-request.txt")))
    #expect(signing.stringToSign == (try vector.file("query-string-to-sign.txt")))
    #expect(signing.signature == (try vector.file("query-signature.txt")))
    let words = vector.requestLine.split(separator: " ")
    let line = "\(words[0]) \(vector.request.path)?\(signing.query) \(words.last!)"
    let signed = ([line] + vector.rawHeaderLines).joined(separator: "\n") + "\n\n" + String(decoding: vector.request.body, as: UTF8.self)
    #expect(signed == (try vector.file("query-signed-request.txt")))
  }
}
