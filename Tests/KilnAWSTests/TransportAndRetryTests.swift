import Foundation
import KilnAWS
import Synchronization
import Testing
import _KilnTestSupport

/// The libcurl transport and the retry path, against a loopback server that injects faults.
@Suite struct TransportAndRetryTests {
  func proxy(upstream: URL? = nil) async throws -> LoopbackServer {
    try await LoopbackServer(python: TestPaths.fixture("fault_proxy.py"), arguments: upstream.map { [$0.absoluteString] } ?? [])
  }

  func control(_ server: LoopbackServer, _ settings: [String: Any]) async throws {
    let body = try JSONSerialization.data(withJSONObject: settings)
    let response = try await CurlHTTPClient().send(
      HTTPRequest(method: "POST", url: server.baseURL.appendingPathComponent("__control"), body: Array(body)))
    #expect(response.status == 200)
  }

  func recorded(_ server: LoopbackServer) async throws -> [[String: Any]] {
    let response = try await CurlHTTPClient().send(HTTPRequest(method: "GET", url: server.baseURL.appendingPathComponent("__requests")))
    return try JSONSerialization.jsonObject(with: Data(response.body)) as? [[String: Any]] ?? []
  }

  @Test func sendsMethodHeadersAndBodyAndReadsTheResponse() async throws {
    let server = try await proxy()
    let body = Array(String(repeating: "kiln ", count: 50_000).utf8)
    let response = try await CurlHTTPClient().send(
      HTTPRequest(method: "POST", url: server.baseURL.appendingPathComponent("echo"), headers: [("X-Test", "yes")], body: body))
    #expect(response.status == 200)
    #expect(response.header("x-echo") == "yes")
    let echo = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
    #expect(echo["method"] as? String == "POST")
    #expect(echo["path"] as? String == "/echo")
    #expect((echo["headers"] as? [String: String])?["X-Test"] == "yes")
    #expect((echo["body"] as? String)?.utf8.count == body.count)
  }

  @Test func aClosedPortIsAConnectionErrorInCurlsWords() async throws {
    let closed = try ClosedPort()
    let port = closed.port
    do {
      _ = try await CurlHTTPClient().send(HTTPRequest(method: "GET", url: URL(string: "http://127.0.0.1:\(port)/")!))
      Issue.record("a closed port answered")
    } catch let error as TransportError {
      #expect(error.kind == .connection)
      #expect(error.isRetryable)
      #expect(error.message.contains("127.0.0.1") && error.message.lowercased().contains("connect"), "\(error)")
    }
    withExtendedLifetime(closed) {}
  }

  @Test func aSlowServerHitsTheTotalTimeout() async throws {
    let server = try await proxy()
    try await control(server, ["delay": 3])
    var options = CurlHTTPClient.Options()
    options.totalTimeout = .milliseconds(300)
    do {
      _ = try await CurlHTTPClient(options: options).send(HTTPRequest(method: "GET", url: server.baseURL))
      Issue.record("no timeout")
    } catch let error as TransportError {
      #expect(error.kind == .timeout, "\(error)")
    }
  }

  @Test func cancellingTheTaskAbortsTheTransfer() async throws {
    let server = try await proxy()
    try await control(server, ["delay": 5])
    let client = try CurlHTTPClient()
    let url = server.baseURL
    // Without cancellation the server answers after 5 s and the call succeeds.
    let task = Task { try await client.send(HTTPRequest(method: "GET", url: url)) }
    try await Task.sleep(for: .milliseconds(200))
    task.cancel()
    let result = await task.result
    #expect(throws: CancellationError.self) { try result.get() }
  }

  /// A real HTTPS server on 127.0.0.1 whose certificate openssl made in the fixture: signed by
  /// a test CA (`ca`) or by itself (`self-signed`). `info["ca"]` is the file to trust.
  func tlsServer(_ mode: String) async throws -> (server: LoopbackServer, trusted: String) {
    let directory = try Scratch.directory("kiln-tls")
    let server = try await LoopbackServer(python: TestPaths.fixture("tls_server.py"), arguments: [directory.path, mode], timeout: 60)
    return (server, try #require(server.info["ca"] as? String))
  }

  @Test func tlsVerificationIsOnByDefault() async throws {
    #expect(CurlHTTPClient.Options().insecureSkipTLSVerify == false)
    let (server, trusted) = try await tlsServer("self-signed")
    let url = try #require(URL(string: "https://127.0.0.1:\(server.port)/"))
    do {
      let response = try await CurlHTTPClient().send(HTTPRequest(method: "GET", url: url))
      Issue.record("a self-signed certificate was accepted: HTTP \(response.status)")
    } catch let error as TransportError {
      #expect(error.kind == .tls, "\(error)")
      // curl's own words (OpenSSL 3 says "self-signed", 1.1 "self signed").
      #expect(error.message.contains("SSL certificate problem: self"), "\(error)")
      #expect(error.message.contains("signed certificate"), "\(error)")
    }
    // The same server passes once its certificate is trusted: the failure above was the check.
    var options = CurlHTTPClient.Options()
    options.caBundle = trusted
    #expect(try await CurlHTTPClient(options: options).send(HTTPRequest(method: "GET", url: url)).status == 200)
  }

  /// A private CA: refused without a bundle, trusted with AWS_CA_BUNDLE (through the settings
  /// the builder reads) or a profile's ca_bundle; the environment wins over the profile.
  @Test func aPrivateCAIsTrustedThroughAWSCABundleOrTheProfilesCABundle() async throws {
    let (server, ca) = try await tlsServer("ca")
    let endpoint = "https://127.0.0.1:\(server.port)/"
    func regions(_ settings: CredentialsSettings) async throws -> [EC2Region] {
      var options = CurlHTTPClient.Options()
      options.caBundle = settings.caBundle
      return try await EC2Client(
        region: "us-east-1", customEndpoint: endpoint, http: try CurlHTTPClient(options: options),
        credentials: StaticCredentialsProvider(SigV4.Credentials(accessKeyID: "AKID", secretAccessKey: "secret"))
      ).describeRegions()
    }
    let home = try Scratch.directory("kiln-home")
    try FileManager.default.createDirectory(at: home.appendingPathComponent(".aws"), withIntermediateDirectories: true)
    var settings = CredentialsSettings()
    settings.environment = ["HOME": home.path]
    #expect(settings.caBundle == nil)
    do {
      _ = try await regions(settings)
      Issue.record("a certificate from an unknown CA was accepted")
    } catch let error as TransportError {
      #expect(error.kind == .tls, "\(error)")
      #expect(error.message.contains("unable to get local issuer certificate"), "\(error)")
      #expect(error.action == "EC2 DescribeRegions")
    }

    settings.environment["AWS_CA_BUNDLE"] = ca
    #expect(try await regions(settings).map(\.name) == ["us-east-1"])

    // The profile's ca_bundle (with ~ from HOME), as the AWS CLI reads it from the config file.
    try FileManager.default.copyItem(atPath: ca, toPath: home.appendingPathComponent(".aws/private-ca.pem").path)
    try "[profile private]\nca_bundle = ~/.aws/private-ca.pem\n".write(
      to: home.appendingPathComponent(".aws/config"), atomically: true, encoding: .utf8)
    settings.environment = ["HOME": home.path, "AWS_PROFILE": "private"]
    #expect(settings.caBundle == home.path + "/.aws/private-ca.pem")
    #expect(try await regions(settings).map(\.name) == ["us-east-1"])
    settings.environment["AWS_CA_BUNDLE"] = "/nonexistent/ca.pem"
    #expect(settings.caBundle == "/nonexistent/ca.pem", "the environment wins over the profile")
    do {
      _ = try await regions(settings)
      Issue.record("a CA bundle that does not exist was accepted")
    } catch let error as AWSConfigurationError {
      #expect(error.message.contains("\"/nonexistent/ca.pem\""), "\(error)")
    }
  }

  /// A server that never stops sending: the transfer is cut at the bound, and the error says
  /// which request and which bound.
  @Test func anEndlessBodyIsCutWithAnErrorNamingTheAction() async throws {
    let server = try await proxy()
    try await control(server, ["endless": 120])
    var options = CurlHTTPClient.Options()
    options.maxResponseBytes = 1024 * 1024
    do {
      let response = try await CurlHTTPClient(options: options).send(HTTPRequest(method: "GET", url: server.baseURL))
      Issue.record("an endless body ended: \(response.body.count) bytes")
    } catch let error as TransportError {
      #expect(error.kind == .responseTooLarge, "\(error)")
      #expect(!error.isRetryable)
      #expect(error.message.contains("larger than 1 MiB"), "\(error)")
    }
    // Through the EC2 client with the default bound: the error names the action.
    let before = try await recorded(server).count
    let client = try EC2Client(
      region: "us-east-1", customEndpoint: server.baseURL.absoluteString, http: try CurlHTTPClient(),
      credentials: StaticCredentialsProvider(SigV4.Credentials(accessKeyID: "AKID", secretAccessKey: "secret")),
      retry: RetryPolicy(maxRetries: 3, baseDelay: .milliseconds(5), maxDelay: .milliseconds(20)))
    do {
      _ = try await client.describeRegions()
      Issue.record("an endless DescribeRegions answer ended")
    } catch let error as TransportError {
      #expect(error.description.hasPrefix("EC2 DescribeRegions: the answer was cut: its body is larger than 32 MiB"), "\(error)")
    }
    #expect(try await recorded(server).count == before + 1, "a cut answer is not retried")
  }

  /// curl bounds each header line, not their number: the total is bounded too.
  @Test func endlessHeadersAreCutToo() async throws {
    let server = try await proxy()
    try await control(server, ["headers": 5000])
    do {
      let response = try await CurlHTTPClient().send(HTTPRequest(method: "GET", url: server.baseURL))
      Issue.record("500 KB of headers were read: \(response.headers.count) headers")
    } catch let error as TransportError {
      #expect(error.kind == .responseTooLarge, "\(error)")
      #expect(error.message.contains("its headers are larger than 256 KiB"), "\(error)")
    }
  }

  /// An unreachable endpoint: every retry is said (action, attempt of how many, the wait, the
  /// cause) in the debug log, and on the console once the request has been failing long enough.
  @Test func eachRetryIsLoggedWithActionAttemptAndCause() async throws {
    let closed = try ClosedPort()
    let debug = Mutex<[String]>([])
    let console = Mutex<[String]>([])
    func client(consoleAfter: Duration) throws -> EC2Client {
      try EC2Client(
        region: "us-east-1", customEndpoint: "http://127.0.0.1:\(closed.port)", http: try CurlHTTPClient(),
        credentials: StaticCredentialsProvider(SigV4.Credentials(accessKeyID: "AKID", secretAccessKey: "secret")),
        retry: RetryPolicy(maxRetries: 2, baseDelay: .milliseconds(5), maxDelay: .milliseconds(20)),
        log: AWSClientLog(
          debug: { line in debug.withLock { $0.append(line) } }, console: { line in console.withLock { $0.append(line) } },
          consoleAfter: consoleAfter))
    }
    do {
      _ = try await client(consoleAfter: .seconds(3600)).describeRegions()
      Issue.record("a closed port answered")
    } catch let error as TransportError {
      #expect(error.description.hasPrefix("EC2 DescribeRegions: "), "\(error)")
    }
    let lines = debug.withLock { $0 }
    #expect(lines.count == 2, "\(lines)")
    for (index, line) in lines.enumerated() {
      #expect(line.hasPrefix("EC2 DescribeRegions: "), "\(line)")
      #expect(line.contains("attempt \(index + 1) of 3 failed, retrying in "), "\(line)")
      #expect(line.contains("127.0.0.1") && line.contains("curl error 7"), "the cause: \(line)")
    }
    #expect(console.withLock { $0 }.isEmpty, "not on the console within the first hour")

    debug.withLock { $0.removeAll() }
    _ = try? await client(consoleAfter: .zero).describeRegions()
    #expect(console.withLock { $0 }.count == 2)
    #expect(console.withLock { $0 } == debug.withLock { $0 })
    withExtendedLifetime(closed) {}
  }

  // MARK: - Retries against moto behind the fault proxy

  func ec2(through server: LoopbackServer, maxRetries: Int) async throws -> EC2Client {
    let moto = try await SharedMoto.server.get()
    return try EC2Client(
      region: "us-east-1", customEndpoint: server.baseURL.absoluteString, http: try CurlHTTPClient(),
      credentials: StaticCredentialsProvider(SigV4.Credentials(accessKeyID: moto.accessKeyID, secretAccessKey: moto.secretAccessKey)),
      retry: RetryPolicy(maxRetries: maxRetries, baseDelay: .milliseconds(5), maxDelay: .milliseconds(50)))
  }

  @Test func throttlingIsRetriedUntilItPasses() async throws {
    let server = try await proxy(upstream: try await SharedMoto.server.get().endpoint)
    try await control(server, ["fail": 3, "status": 400, "code": "RequestLimitExceeded"])
    let regions = try await ec2(through: server, maxRetries: 10).describeRegions()
    #expect(!regions.isEmpty)
    #expect(try await recorded(server).count == 4)
  }

  @Test func serviceUnavailableIsRetriedToo() async throws {
    let server = try await proxy(upstream: try await SharedMoto.server.get().endpoint)
    try await control(server, ["fail": 2, "status": 503])
    #expect(!(try await ec2(through: server, maxRetries: 10).describeRegions()).isEmpty)
    #expect(try await recorded(server).count == 3)
  }

  @Test func givesUpAfterMaxRetriesWithTheServiceError() async throws {
    let server = try await proxy(upstream: try await SharedMoto.server.get().endpoint)
    try await control(server, ["fail": 10, "status": 400, "code": "RequestLimitExceeded"])
    do {
      _ = try await ec2(through: server, maxRetries: 2).describeRegions()
      Issue.record("no error after the retries")
    } catch let error as AWSServiceError {
      #expect(error.code == "RequestLimitExceeded")
      #expect(error.requestID.hasPrefix("fault-"))
    }
    #expect(try await recorded(server).count == 3)
  }

  @Test func clientErrorsAreNotRetried() async throws {
    let server = try await proxy(upstream: try await SharedMoto.server.get().endpoint)
    do {
      _ = try await ec2(through: server, maxRetries: 5).describeImages(imageIDs: ["ami-00000000"])
      Issue.record("found a missing image")
    } catch let error as AWSServiceError {
      #expect(error.code == "InvalidAMIID.NotFound")
    }
    #expect(try await recorded(server).count == 1)
  }

  /// The ClientToken of each recorded request named `action`.
  func clientTokens(_ server: LoopbackServer, _ action: String) async throws -> [String] {
    try await recorded(server).compactMap { request -> String? in
      let body = String(decoding: Data(base64Encoded: request["body"] as? String ?? "") ?? Data(), as: UTF8.self)
      let fields = Dictionary(
        body.split(separator: "&").map { $0.split(separator: "=", maxSplits: 1).map(String.init) }.map { ($0[0], $0.count > 1 ? $0[1] : "") },
        uniquingKeysWith: { first, _ in first })
      return fields["Action"] == action ? fields["ClientToken"] ?? "" : nil
    }
  }

  /// moto acts on RunInstances and CopyImage, then the proxy loses the answer (a 503, or the
  /// connection dropped): the client's retry resends the same request, ClientToken and all,
  /// and EC2 (moto, taught ClientToken by `moto_patches.py`) answers the first call's
  /// resource instead of making a second.
  @Test(arguments: ["503", "drop"]) func aLostAnswerIsResentWithTheSameClientTokenAndMakesNothingNew(lose: String) async throws {
    let moto = try await SharedMoto.server.get()
    let server = try await proxy(upstream: moto.endpoint)
    let east = try await ec2(through: server, maxRetries: 3)
    let marker = EC2Tag("kiln:test", UUID().uuidString)
    // A kept-alive connection first: a dropped one is then resent by curl itself, which must
    // rewind the body (before the seek callback, that failed with CURLE_SEND_FAIL_REWIND).
    _ = try await east.describeRegions()

    try await control(server, ["lose_action": "RunInstances", "lose": lose])
    var request = EC2Client.RunInstancesRequest(imageID: "ami-785db401", instanceType: "t3.micro")
    request.tagSpecifications = [("instance", [marker])]
    request.clientToken = UUID().uuidString
    let instance = try #require(try await east.runInstances(request).first)
    let tokens = try await clientTokens(server, "RunInstances")
    #expect(tokens == [request.clientToken, request.clientToken].compactMap { $0 }, "sent twice, with one token")
    let launched = try await SharedMoto.client().describeInstances(filters: [EC2Filter("tag:kiln:test", [marker.value])])
    #expect(launched.map(\.instanceID) == [instance.instanceID], "one instance, the one answered")

    try await SharedMoto.client().stopInstances([instance.instanceID])
    let image = try await SharedMoto.client().createImage(
      EC2Client.CreateImageRequest(instanceID: instance.instanceID, name: "kiln-lost-\(marker.value)"))
    let west = try EC2Client(
      region: "us-west-2", customEndpoint: server.baseURL.absoluteString, http: try CurlHTTPClient(),
      credentials: StaticCredentialsProvider(SigV4.Credentials(accessKeyID: moto.accessKeyID, secretAccessKey: moto.secretAccessKey)),
      retry: RetryPolicy(maxRetries: 3, baseDelay: .milliseconds(5), maxDelay: .milliseconds(50)))
    try await control(server, ["lose_action": "CopyImage", "lose": lose])
    let token = UUID().uuidString
    let copy = try await west.copyImage(
      sourceImageID: image, sourceRegion: "us-east-1", name: "kiln-lost-\(marker.value)", imageTags: [marker], clientToken: token)
    #expect(try await clientTokens(server, "CopyImage") == [token, token])
    let copies = try await SharedMoto.client(region: "us-west-2").describeImages(
      owners: ["self"], filters: [EC2Filter("tag:kiln:test", [marker.value])])
    #expect(copies.map(\.imageID) == [copy], "one copy, the one answered")
    try await SharedMoto.client().terminateInstances([instance.instanceID])
  }

  /// moto does not implement EnableImageDeprecation: check the wire form instead.
  @Test func enableImageDeprecationSendsTheDocumentedParameters() async throws {
    let server = try await proxy()
    try await control(server, ["reply": "<EnableImageDeprecationResponse><return>true</return></EnableImageDeprecationResponse>"])
    let client = try EC2Client(
      region: "us-east-1", customEndpoint: server.baseURL.absoluteString, http: try CurlHTTPClient(),
      credentials: StaticCredentialsProvider(SigV4.Credentials(accessKeyID: "AKID", secretAccessKey: "secret")))
    try await client.enableImageDeprecation(imageID: "ami-12345678", at: Date(timeIntervalSince1970: 1_900_000_000))
    let request = try #require(try await recorded(server).last)
    let body = String(decoding: Data(base64Encoded: request["body"] as? String ?? "") ?? Data(), as: UTF8.self)
    #expect(body == "Action=EnableImageDeprecation&Version=2016-11-15&ImageId=ami-12345678&DeprecateAt=2030-03-17T17%3A46%3A40Z")
    let authorization = (request["headers"] as? [String: String])?["Authorization"] ?? ""
    #expect(authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=AKID/"))
    #expect(authorization.contains("/us-east-1/ec2/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature="))
  }

  @Test func backoffIsExponentialWithFullJitterAndBounded() {
    let policy = RetryPolicy(maxRetries: 3, baseDelay: .milliseconds(100), maxDelay: .seconds(1))
    let throttle = AWSServiceError(service: "ec2", action: "X", status: 400, code: "Throttling", message: "", requestID: "")
    let serverError = AWSServiceError(service: "ec2", action: "X", status: 500, code: "InternalError", message: "", requestID: "")
    let notFound = AWSServiceError(service: "ec2", action: "X", status: 400, code: "InvalidAMIID.NotFound", message: "", requestID: "")
    let top = { (range: ClosedRange<Double>) in range.upperBound }
    #expect(policy.delay(after: serverError, attempt: 0, random: top) == .milliseconds(100))
    #expect(policy.delay(after: serverError, attempt: 2, random: top) == .milliseconds(400))
    #expect(policy.delay(after: throttle, attempt: 0, random: top) == .milliseconds(500))
    #expect(policy.delay(after: throttle, attempt: 2, random: top) == .seconds(1), "capped at maxDelay")
    #expect(policy.delay(after: serverError, attempt: 3, random: top) == nil, "maxRetries reached")
    #expect(policy.delay(after: notFound, attempt: 0, random: top) == nil)
    #expect(policy.delay(after: CancellationError(), attempt: 0, random: top) == nil)
  }

  @Test func theRateLimiterSpacesRequestsOutAfterTheBurst() async throws {
    let limiter = RateLimiter(ratePerSecond: 50, burst: 5)
    let started = ContinuousClock.now
    for _ in 0..<15 { try await limiter.acquire() }
    // 5 at once, then 10 more at 50/s: at least 0.2 s.
    #expect(ContinuousClock.now - started >= .milliseconds(190))
    #expect(RateLimiter.shared(for: "acct/us-east-1") === RateLimiter.shared(for: "acct/us-east-1"))
  }
}
