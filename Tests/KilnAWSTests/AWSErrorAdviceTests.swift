import Foundation
import KilnAWS
import Testing
import _KilnTestSupport

/// AWS's errors as a user needs them: the error bodies AWS documents, answered by the fault
/// proxy (`fault_proxy.py`) in front of moto, and what `AWSServiceError` then says. STS
/// DecodeAuthorizationMessage goes through to moto (its model-checked request, and the
/// decoding `moto_patches.py` adds).
@Suite struct AWSErrorAdviceTests {
  /// The decoded document as the STS API reference describes it (allowed, explicitDeny,
  /// matchedStatements, failures, context with principal, action, resource, conditions).
  static let implicitDeny = #"""
    {"allowed":false,"explicitDeny":false,"matchedStatements":{"items":[]},"failures":{"items":[]},
     "context":{"principal":{"id":"AIDAEXAMPLE","name":"kiln-ci","arn":"arn:aws:iam::123456789012:user/kiln-ci"},
       "action":"ec2:RunInstances","resource":"arn:aws:ec2:us-east-1:123456789012:instance/*",
       "conditions":{"items":[{"key":"ec2:InstanceType","values":{"items":[{"value":"m5.large"}]}},
                              {"key":"aws:Region","values":{"items":[{"value":"us-east-1"}]}}]}}}
    """#

  static let explicitDeny = #"""
    {"allowed":false,"explicitDeny":true,
     "matchedStatements":{"items":[{"statementId":"NoBigInstances","effect":"DENY",
       "principals":{"items":[{"value":"AIDAEXAMPLE"}]},"principalGroups":{"items":[]},
       "actions":{"items":[{"value":"ec2:RunInstances"}]},"resources":{"items":[{"value":"*"}]},
       "conditions":{"items":[{"key":"ec2:InstanceType","values":{"items":[{"value":"m5.large"},{"value":"m5.xlarge"}]}}]}}]},
     "failures":{"items":[]},
     "context":{"principal":{"id":"AIDAEXAMPLE","arn":"arn:aws:iam::123456789012:user/kiln-ci"},
       "action":"ec2:RunInstances","resource":"arn:aws:ec2:us-east-1:123456789012:instance/*","conditions":{"items":[]}}}
    """#

  /// EC2's `UnauthorizedOperation` message, with `encoded` as its encoded authorization
  /// failure message.
  static func unauthorized(_ encoded: String) -> String {
    "You are not authorized to perform this operation. User: arn:aws:iam::123456789012:user/kiln-ci is not authorized to perform: "
      + "ec2:RunInstances on resource: arn:aws:ec2:us-east-1:123456789012:instance/* because no identity-based policy allows the "
      + "ec2:RunInstances action. Encoded authorization failure message: \(encoded)"
  }

  static func encode(_ document: String) -> String { Data(document.utf8).base64EncodedString() }

  func proxy(upstream: URL?) async throws -> LoopbackServer {
    try await LoopbackServer(python: TestPaths.fixture("fault_proxy.py"), arguments: upstream.map { [$0.absoluteString] } ?? [])
  }

  func control(_ server: LoopbackServer, _ settings: [String: Any]) async throws {
    let body = try JSONSerialization.data(withJSONObject: settings)
    let response = try await CurlHTTPClient().send(
      HTTPRequest(method: "POST", url: server.baseURL.appendingPathComponent("__control"), body: Array(body)))
    #expect(response.status == 200)
  }

  /// The actions the proxy passed or answered, in order.
  func actions(_ server: LoopbackServer) async throws -> [String] {
    let response = try await CurlHTTPClient().send(HTTPRequest(method: "GET", url: server.baseURL.appendingPathComponent("__requests")))
    let recorded = try JSONSerialization.jsonObject(with: Data(response.body)) as? [[String: Any]] ?? []
    return recorded.compactMap { request in
      let body = String(decoding: Data(base64Encoded: request["body"] as? String ?? "") ?? Data(), as: UTF8.self)
      return body.split(separator: "&").first { $0.hasPrefix("Action=") }.map { String($0.dropFirst("Action=".count)) }
    }
  }

  /// An EC2 client and an STS client (its decoder) through `ec2Proxy` and `stsProxy`, signed for moto.
  func clients(ec2Proxy: LoopbackServer, stsProxy: LoopbackServer, moto: MotoServer) throws -> EC2Client {
    let credentials = StaticCredentialsProvider(SigV4.Credentials(accessKeyID: moto.accessKeyID, secretAccessKey: moto.secretAccessKey))
    let retry = RetryPolicy(maxRetries: 1, baseDelay: .milliseconds(5), maxDelay: .milliseconds(20))
    let sts = try STSClient(
      region: "us-east-1", customEndpoint: stsProxy.baseURL.absoluteString, http: try CurlHTTPClient(), credentials: credentials, retry: retry)
    return try EC2Client(
      region: "us-east-1", customEndpoint: ec2Proxy.baseURL.absoluteString, http: try CurlHTTPClient(), credentials: credentials, retry: retry,
      authorizationDecoder: sts)
  }

  func runInstances(_ ec2: EC2Client) async throws -> AWSServiceError? {
    do {
      _ = try await ec2.runInstances(EC2Client.RunInstancesRequest(imageID: "ami-785db401", instanceType: "m5.large"))
      return nil
    } catch let error as AWSServiceError {
      return error
    }
  }

  @Test func anEncodedAuthorizationFailureIsDecodedThroughSTS() async throws {
    let moto = try await SharedMoto.server.get()
    let server = try await proxy(upstream: moto.endpoint)
    let encoded = Self.encode(Self.implicitDeny)
    try await control(
      server, ["fail": 1, "fail_action": "RunInstances", "status": 403, "code": "UnauthorizedOperation", "message": Self.unauthorized(encoded)])
    let error = try #require(try await runInstances(try clients(ec2Proxy: server, stsProxy: server, moto: moto)))
    #expect(error.code == "UnauthorizedOperation")
    #expect(error.encodedAuthorizationMessage == encoded)
    guard case .decoded(let decoded) = error.authorization else {
      Issue.record("not decoded: \(String(describing: error.authorization))")
      return
    }
    #expect(decoded.action == "ec2:RunInstances")
    #expect(decoded.principal == "arn:aws:iam::123456789012:user/kiln-ci")
    #expect(!decoded.explicitDeny)
    let text = error.description
    #expect(
      text.contains(
        "STS decoded the refusal: arn:aws:iam::123456789012:user/kiln-ci may not ec2:RunInstances on arn:aws:ec2:us-east-1:123456789012:instance/*: no policy statement allows it"
      ), "\(text)")
    #expect(text.contains("ec2:InstanceType=m5.large, aws:Region=us-east-1"), "\(text)")
    #expect(
      text.contains(
        "What to do: add a statement allowing ec2:RunInstances on arn:aws:ec2:us-east-1:123456789012:instance/* to a policy of arn:aws:iam::123456789012:user/kiln-ci"
      ), "\(text)")
    #expect(!text.contains(encoded), "the blob is replaced by what it says: \(text)")
    // The decode went through to moto (whose fixture checks each request against AWS's model).
    #expect(try await actions(server) == ["RunInstances", "DecodeAuthorizationMessage"])
    #expect(moto.actions().contains { $0.action == "DecodeAuthorizationMessage" && $0.status == "200" })
  }

  @Test func aCallerThatMayNotDecodeIsToldWhichPermissionToAdd() async throws {
    let moto = try await SharedMoto.server.get()
    let ec2Proxy = try await proxy(upstream: moto.endpoint)
    let stsProxy = try await proxy(upstream: moto.endpoint)
    let encoded = Self.encode(Self.implicitDeny)
    try await control(
      ec2Proxy, ["fail": 1, "fail_action": "RunInstances", "status": 403, "code": "UnauthorizedOperation", "message": Self.unauthorized(encoded)])
    // STS's documented refusal of an identity without sts:DecodeAuthorizationMessage.
    try await control(
      stsProxy,
      [
        "fail": 5, "fail_action": "DecodeAuthorizationMessage", "status": 403, "code": "AccessDenied",
        "message": "User: arn:aws:iam::123456789012:user/kiln-ci is not authorized to perform: sts:DecodeAuthorizationMessage",
      ])
    let error = try #require(try await runInstances(try clients(ec2Proxy: ec2Proxy, stsProxy: stsProxy, moto: moto)))
    guard case .notPermitted = error.authorization else {
      Issue.record("\(String(describing: error.authorization))")
      return
    }
    let text = error.description
    #expect(text.contains("may not call sts:DecodeAuthorizationMessage"), "\(text)")
    #expect(text.contains("allow sts:DecodeAuthorizationMessage to this identity"), "\(text)")
    #expect(text.contains("aws sts decode-authorization-message --encoded-message"), "\(text)")
    #expect(text.contains("most likely ec2:RunInstances"), "\(text)")
    #expect(text.contains(encoded), "the blob is kept, for whoever may decode it: \(text)")
    #expect(try await actions(stsProxy) == ["DecodeAuthorizationMessage"], "an AccessDenied is not retried")
  }

  /// A message STS cannot decode (moto refuses it as AWS refuses one it did not make).
  @Test func aMessageSTSCannotDecodeSaysSoAndKeepsTheBlob() async throws {
    let moto = try await SharedMoto.server.get()
    let server = try await proxy(upstream: moto.endpoint)
    try await control(
      server,
      ["fail": 1, "fail_action": "RunInstances", "status": 403, "code": "UnauthorizedOperation", "message": Self.unauthorized("not-a-message")])
    let error = try #require(try await runInstances(try clients(ec2Proxy: server, stsProxy: server, moto: moto)))
    guard case .failed(let why) = error.authorization else {
      Issue.record("\(String(describing: error.authorization))")
      return
    }
    #expect(why.contains("InvalidAuthorizationMessageException"), "\(why)")
    #expect(error.description.contains("decoding it with STS failed"), "\(error)")
    #expect(error.description.contains("not-a-message"))
  }

  @Test func anExplicitDenyNamesTheStatementAndSaysItWinsOverAllows() throws {
    let decoded = try #require(DecodedAuthorizationMessage(json: Self.explicitDeny))
    #expect(decoded.explicitDeny)
    #expect(decoded.matchedStatements == ["Deny ec2:RunInstances on * (statement NoBigInstances) when ec2:InstanceType is m5.large or m5.xlarge"])
    #expect(decoded.advice.contains("an explicit Deny matched; matched: Deny ec2:RunInstances on * (statement NoBigInstances)"), "\(decoded.advice)")
    #expect(decoded.advice.contains("What to do: an explicit Deny wins over every Allow"), "\(decoded.advice)")
    #expect(DecodedAuthorizationMessage(json: "not json") == nil)
  }

  @Test func withoutAnEncodedMessageTheMissingPermissionIsNamed() {
    let error = AWSServiceError(
      service: "ec2", action: "CreateImage", status: 403, code: "UnauthorizedOperation", message: "You are not authorized to perform this operation.",
      requestID: "r")
    #expect(error.encodedAuthorizationMessage == nil)
    #expect(error.description.contains("What happened: the identity Kiln signs with may not call ec2:CreateImage"), "\(error)")
    #expect(error.description.contains("What to do: allow ec2:CreateImage"), "\(error)")
  }

  @Test func aRefusedAssumeRoleNamesTheTrustPolicyToo() {
    let error = AWSServiceError(
      service: "sts", action: "AssumeRole", status: 403, code: "AccessDenied",
      message:
        "User: arn:aws:iam::123456789012:user/kiln-ci is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/builder",
      requestID: "r")
    #expect(error.description.contains("or the role's trust policy does not trust that identity"), "\(error)")
    #expect(error.description.contains("allow sts:AssumeRole on the role"), "\(error)")
  }

  /// RequestExpired answered with a `Date` an hour ahead of this host's clock, then an hour
  /// behind: the error says which way the clock is off, and by how much.
  @Test(arguments: [3600.0, -3600.0]) func requestExpiredSaysHowFarTheClockIsOff(offset: Double) async throws {
    let server = try await proxy(upstream: nil)
    try await control(server, ["fail": 1, "status": 400, "code": "RequestExpired", "message": "Request has expired.", "date_offset": offset])
    let ec2 = try EC2Client(
      region: "us-east-1", customEndpoint: server.baseURL.absoluteString, http: try CurlHTTPClient(),
      credentials: StaticCredentialsProvider(SigV4.Credentials(accessKeyID: "AKID", secretAccessKey: "secret")))
    do {
      _ = try await ec2.describeRegions()
      Issue.record("no error")
    } catch let error as AWSServiceError {
      #expect(error.code == "RequestExpired")
      let skew = try #require(error.clockSkew)
      #expect(abs(skew - offset) < 120, "\(skew)")
      let text = error.description
      #expect(text.contains("this host's clock is 1h 0m") || text.contains("this host's clock is 59m"), "\(text)")
      #expect(text.contains(offset > 0 ? "behind AWS's" : "ahead of AWS's"), "\(text)")
      #expect(text.contains("set this host's clock right"), "\(text)")
    }
  }

  /// The capacity and placement refusals, in the bodies and statuses AWS sends them with.
  @Test(arguments: [
    (
      "InsufficientInstanceCapacity", 500,
      "We currently do not have sufficient m5.large capacity in the Availability Zone you requested (us-east-1a). Our system will be working on provisioning additional capacity. You can currently get m5.large capacity by not specifying an Availability Zone in your request or choosing us-east-1b, us-east-1c.",
      "no spare capacity for this instance type in this Availability Zone right now"
    ),
    (
      "Unsupported", 400,
      "Your requested instance type (m5.large) is not supported in your requested Availability Zone (us-east-1e). Please retry your request by not specifying an Availability Zone or choosing us-east-1a, us-east-1b, us-east-1c.",
      "describe-instance-type-offerings --location-type availability-zone --filters Name=instance-type,Values=TYPE --region us-east-1"
    ),
  ])
  func capacityAndPlacementRefusalsSayWhatToDo(code: String, status: Int, message: String, advice: String) async throws {
    let server = try await proxy(upstream: nil)
    try await control(server, ["fail": 10, "status": status, "code": code, "message": message])
    let ec2 = try EC2Client(
      region: "us-east-1", customEndpoint: server.baseURL.absoluteString, http: try CurlHTTPClient(),
      credentials: StaticCredentialsProvider(SigV4.Credentials(accessKeyID: "AKID", secretAccessKey: "secret")),
      retry: RetryPolicy(maxRetries: 1, baseDelay: .milliseconds(5), maxDelay: .milliseconds(20)))
    do {
      _ = try await ec2.runInstances(EC2Client.RunInstancesRequest(imageID: "ami-785db401", instanceType: "m5.large"))
      Issue.record("no error")
    } catch let error as AWSServiceError {
      #expect(error.code == code)
      #expect(error.description.hasPrefix("EC2 RunInstances: \(code): \(message)"), "AWS's words first: \(error)")
      #expect(error.description.contains("\n  What happened: "), "\(error)")
      #expect(error.description.contains(advice), "\(error)")
    }
  }

  /// moto's own InvalidAMIID.NotFound: the advice tells a just-made AMI from a wrong id.
  @Test func anAMINotFoundMentionsEventualConsistencyAndTheRegion() async throws {
    do {
      _ = try await SharedMoto.client().describeImages(imageIDs: ["ami-00000000000000000"])
      Issue.record("found a missing image")
    } catch let error as AWSServiceError {
      #expect(error.code == "InvalidAMIID.NotFound")
      #expect(error.description.contains("eventual consistency"), "\(error)")
      #expect(error.description.contains("AMIs are regional"), "\(error)")
      #expect(error.description.contains("--region us-east-1"), "\(error)")
    }
  }
}
