import Foundation
import KilnAWS
import Synchronization
import Testing
import _KilnTestSupport

/// SSM GetParameter over the JSON protocol: against moto (signatures checked, every request
/// checked against AWS's `ssm` model by the fixture), and against a scripted transport for
/// the headers, retries, error decoding and secrecy.
@Suite(.serialized) struct SSMClientTests {
  static let moto = Shared { try await MotoServer() }

  static func client(secret: String? = nil, log: AWSClientLog? = nil) async throws -> SSMClient {
    let moto = try await moto.get()
    return try SSMClient(
      region: "us-east-1", customEndpoint: moto.endpoint.absoluteString, http: try CurlHTTPClient(),
      credentials: StaticCredentialsProvider(SigV4.Credentials(accessKeyID: moto.accessKeyID, secretAccessKey: secret ?? moto.secretAccessKey)),
      retry: RetryPolicy(maxRetries: 2, baseDelay: .milliseconds(10)), log: log)
  }

  @Test func readsAStringParameterAndAVersionOfIt() async throws {
    let moto = try await Self.moto.get()
    _ = try await moto.seed([
      ["op": "put_parameter", "name": "/kiln/test/ami", "value": "ami-0000000000000001", "type": "String"],
      ["op": "put_parameter", "name": "/kiln/test/ami", "value": "ami-0000000000000002", "type": "String"],
    ])
    let ssm = try await Self.client()
    let latest = try await ssm.getParameter(name: "/kiln/test/ami", withDecryption: false)
    #expect(latest.value == "ami-0000000000000002")
    #expect(latest.version == 2)
    #expect(latest.type == "String")
    #expect(latest.arn == "arn:aws:ssm:us-east-1:123456789012:parameter/kiln/test/ami")
    #expect(!latest.isSecure)
    let first = try await ssm.getParameter(name: "/kiln/test/ami:1", withDecryption: false)
    #expect(first.value == "ami-0000000000000001")
    #expect(first.version == 1)
    let request = try #require(moto.requests("GetParameter").last)
    #expect(request["Name"] == "/kiln/test/ami:1")
    #expect(request["WithDecryption"] == "false")
  }

  @Test func aSecureStringIsDecryptedAndNeverShown() async throws {
    let moto = try await Self.moto.get()
    let secret = "hunter2-\(UUID().uuidString)"
    _ = try await moto.seed([["op": "put_parameter", "name": "/kiln/test/secret", "value": secret, "type": "SecureString"]])
    let lines = Mutex<[String]>([])
    let log = AWSClientLog(debug: { line in lines.withLock { $0.append(line) } }, console: { line in lines.withLock { $0.append(line) } })
    let parameter = try await Self.client(log: log).getParameter(name: "/kiln/test/secret", withDecryption: true)
    #expect(parameter.value == secret)
    #expect(parameter.isSecure)
    var dumped = ""
    dump(parameter, to: &dumped)
    for shown in ["\(parameter)", String(reflecting: parameter), dumped, parameter.shownValue] + lines.withLock({ $0 }) {
      #expect(!shown.contains(secret), "the secret shows in: \(shown)")
    }
    #expect("\(parameter)".contains("<sensitive>"))
  }

  @Test func aMissingParameterIsParameterNotFoundNamingIt() async throws {
    let error = await #expect(throws: AWSServiceError.self) {
      _ = try await Self.client().getParameter(name: "/kiln/test/absent", withDecryption: false)
    }
    #expect(error?.code == "ParameterNotFound")
    #expect(error?.status == 400)
    #expect(error?.description.hasPrefix("SSM GetParameter: ParameterNotFound:") == true, "\(String(describing: error))")
    #expect(error?.message.contains("/kiln/test/absent") == true)
    let version = await #expect(throws: AWSServiceError.self) {
      _ = try await Self.client().getParameter(name: "/kiln/test/ami:99", withDecryption: false)
    }
    #expect(version?.code == "ParameterVersionNotFound" || version?.code == "ParameterNotFound")
  }

  @Test func aWrongSecretIsRefusedByTheSignatureCheck() async throws {
    let error = await #expect(throws: AWSServiceError.self) {
      _ = try await Self.client(secret: "not-the-secret").getParameter(name: "/kiln/test/ami", withDecryption: false)
    }
    #expect(error.map { (400..<500).contains($0.status) } == true, "\(String(describing: error))")
    #expect(error?.code.isEmpty == false)
  }

  @Test func endpointsFollowThePartitionRules() throws {
    func endpoint(_ region: String, _ variant: EndpointVariant) throws -> String {
      try SSMClient(
        region: region, variant: variant, http: try CurlHTTPClient(),
        credentials: StaticCredentialsProvider(SigV4.Credentials(accessKeyID: "AKID", secretAccessKey: "secret"))
      ).json.endpoint.absoluteString
    }
    #expect(try endpoint("us-east-1", EndpointVariant()) == "https://ssm.us-east-1.amazonaws.com")
    #expect(try endpoint("us-east-1", EndpointVariant(fips: true, dualStack: true)) == "https://ssm-fips.us-east-1.api.aws")
    #expect(try endpoint("us-gov-west-1", EndpointVariant(fips: true)) == "https://ssm.us-gov-west-1.amazonaws.com")
    #expect(try endpoint("cn-north-1", EndpointVariant()) == "https://ssm.cn-north-1.amazonaws.com.cn")
  }

  // MARK: - The protocol, against a scripted transport

  /// Answers from a script, one per request, and keeps the requests.
  final class ScriptedHTTP: HTTPClient {
    let script: Mutex<[HTTPResponse]>
    let sent = Mutex<[HTTPRequest]>([])
    init(_ answers: [HTTPResponse]) { script = Mutex(answers) }
    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
      sent.withLock { $0.append(request) }
      return script.withLock { $0.isEmpty ? HTTPResponse(status: 500, headers: [], body: []) : $0.removeFirst() }
    }
  }

  static func answer(_ status: Int, _ json: String, headers: [(String, String)] = []) -> HTTPResponse {
    HTTPResponse(
      status: status, headers: [("Content-Type", "application/x-amz-json-1.1")] + headers.map { (name: $0.0, value: $0.1) }, body: Array(json.utf8))
  }

  static func scripted(_ http: ScriptedHTTP, log: AWSClientLog? = nil) throws -> SSMClient {
    try SSMClient(
      region: "eu-west-1", http: http, credentials: StaticCredentialsProvider(SigV4.Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "s")),
      retry: RetryPolicy(maxRetries: 3, baseDelay: .milliseconds(1)), log: log)
  }

  @Test func sendsTheJSONProtocolAndRetriesThrottling() async throws {
    let http = ScriptedHTTP([
      Self.answer(400, #"{"__type":"com.amazonaws.ssm#ThrottlingException","message":"Rate exceeded"}"#),
      Self.answer(
        200,
        #"{"Parameter":{"ARN":"arn:aws:ssm:eu-west-1:1:parameter/a","DataType":"text","LastModifiedDate":1.7E9,"Name":"/a","Type":"String","Value":"v\"1","Version":4}}"#
      ),
    ])
    let retries = Mutex<[String]>([])
    let parameter = try await Self.scripted(http, log: AWSClientLog(debug: { line in retries.withLock { $0.append(line) } }, console: nil))
      .getParameter(name: "/a \"quoted\"", withDecryption: true)
    #expect(parameter.value == "v\"1")
    #expect(parameter.version == 4)
    #expect(parameter.lastModified == Date(timeIntervalSince1970: 1.7e9))
    let requests = http.sent.withLock { $0 }
    #expect(requests.count == 2)
    let request = try #require(requests.first)
    #expect(request.method == "POST")
    #expect(request.url.absoluteString == "https://ssm.eu-west-1.amazonaws.com")
    func header(_ name: String) -> String? { request.headers.last { $0.name.lowercased() == name.lowercased() }?.value }
    #expect(header("X-Amz-Target") == "AmazonSSM.GetParameter")
    #expect(header("Content-Type") == "application/x-amz-json-1.1")
    #expect(header("Authorization")?.contains("/eu-west-1/ssm/aws4_request") == true)
    #expect(String(decoding: request.body, as: UTF8.self) == #"{"Name":"/a \"quoted\"","WithDecryption":true}"#)
    #expect(requests[1].body == request.body)
    #expect(retries.withLock { $0 }.count == 1)
    #expect(retries.withLock { $0 }.first?.hasPrefix("SSM GetParameter: ThrottlingException: Rate exceeded") == true)
  }

  @Test func errorsAreReadFromTheBodyOrTheHeaderAndNoAnswerIsShown() async throws {
    let secret = "s3cr3t-value"
    let http = ScriptedHTTP([
      Self.answer(
        400, #"{"message":"User is not authorized"}"#,
        headers: [("X-Amzn-ErrorType", "AccessDeniedException:http://internal"), ("X-Amzn-RequestId", "req-1")]),
      Self.answer(200, #"{"Parameter":{"Value":"\#(secret)""#),
      Self.answer(200, "[1]"),
      Self.answer(502, "<html>Bad gateway</html>"),
    ])
    let client = try Self.scripted(http)
    let denied = await #expect(throws: AWSServiceError.self) { _ = try await client.getParameter(name: "/a", withDecryption: false) }
    #expect(denied?.code == "AccessDeniedException")
    #expect(denied?.message == "User is not authorized")
    #expect(denied?.requestID == "req-1")
    #expect(denied?.advice != nil)
    let malformed = await #expect(throws: AWSServiceError.self) { _ = try await client.getParameter(name: "/a", withDecryption: true) }
    #expect(malformed?.code == "MalformedResponse")
    #expect(malformed.map { !"\($0)".contains(secret) } == true, "\(String(describing: malformed))")
    let notObject = await #expect(throws: AWSServiceError.self) { _ = try await client.getParameter(name: "/a", withDecryption: true) }
    #expect(notObject?.message.contains("not a JSON object") == true)
    // A 5xx is retried; the script's 500s follow until the retries run out.
    let gateway = await #expect(throws: AWSServiceError.self) { _ = try await client.getParameter(name: "/a", withDecryption: true) }
    #expect(gateway?.status == 500 || gateway?.status == 502)
    #expect(http.sent.withLock { $0 }.count == 3 + 4)
  }
}
