import Foundation
import KilnAWS
import KilnCore
import Synchronization
import Testing
import _KilnTestSupport

@testable import KilnBuilders

/// The whole amazon-ebs step list over an in-memory EC2 (`FakeEC2`), through the builder's
/// `run(_:hooks:clients:)` seam: no moto, no sshd (`communicator: none`, or a failure before
/// SSH). Each row fails one EC2 call and checks the error, the calls the cleanup makes after
/// it, in order, and what is left.
enum EBSScenario {
  /// A build's console: everything said, for the cleanup problems the build reports.
  final class RecordingUI: BuildUI {
    private let lines = Mutex<[String]>([])
    func say(_ text: String) { lines.withLock { $0.append(text) } }
    func message(_ text: String) { lines.withLock { $0.append(text) } }
    func error(_ text: String) { lines.withLock { $0.append("error: " + text) } }
    func machine(_ type: String, _ data: [String]) {}
    var errors: [String] { lines.withLock { $0.filter { $0.hasPrefix("error: ") } } }
    var said: [String] { lines.withLock { $0 } }
  }

  struct Outcome {
    var artifact: (any Artifact)?
    var error: (any Error)?
    var ui: RecordingUI

    /// "succeeded", or the AWS error code the build failed with (else its description).
    var summary: String {
      guard let error else { return "succeeded" }
      return (error as? AWSServiceError)?.code ?? "\(error)"
    }
  }

  /// An amazon-ebs builder for `us-east-1` from moto's (and the fake's) Ubuntu image; `extra`
  /// is merged into the builder's JSON.
  /// With `sshPort`, the SSH communicator (a temporary key pair) to that port, else none.
  /// `sourceAMI` replaces the image filter; `instanceType` nil leaves `instance_type` out.
  static func builder(_ extra: String = "", sourceAMI: String? = nil, sshPort: Int? = nil, instanceType: String? = "m5.large") throws
    -> AmazonEBSBuilder
  {
    let communicator =
      sshPort.map { #""ssh_username": "ubuntu", "ssh_host": "127.0.0.1", "ssh_port": \#($0), "ssh_timeout": "2s""# }
      ?? #""communicator": "none""#
    let source =
      sourceAMI.map { #""source_ami": "\#($0)""# } ?? """
        "source_ami_filter": {
          "filters": {"name": "ubuntu/images/hvm-ssd/ubuntu-xenial-16.04-amd64-server-*", "virtualization-type": "hvm"},
          "owners": ["099720109477"], "most_recent": true
        }
        """
    let json = """
      {
        "region": "us-east-1", \(source),
        \(instanceType.map { #""instance_type": "\#($0)", "# } ?? "")\(communicator),
        "aws_polling": {"delay_seconds": 1, "max_attempts": 30},
        "ami_name": "kiln-scenario-\(UUID().uuidString.prefix(8).lowercased())"\(extra.isEmpty ? "" : ", " + extra)
      }
      """
    let sink = DiagnosticSink()
    var reader = ConfigReader(
      node: try JSONReader.read(json).root, context: RenderContext(phase: .builder, clock: BuildClock()),
      lateKeys: AmazonEBSBuilder.lateKeys, label: "amazon-ebs builder", sink: sink)
    let builder = AmazonEBSBuilder(from: &reader)
    reader.finish()
    #expect(!sink.diagnostics.hasErrors, "\(sink.diagnostics.errors)")
    return builder
  }

  /// Runs the build over `clients`.
  static func run(_ builder: AmazonEBSBuilder, clients: (String) throws -> any EC2API) async -> Outcome {
    let ui = RecordingUI()
    let context = BuildContext(
      buildName: "scenario", buildType: "amazon-ebs", ui: ui, clock: BuildClock(), variables: [:], declaredVariables: [],
      templateDirectory: FileManager.default.currentDirectoryPath, workingDirectory: FileManager.default.currentDirectoryPath,
      environment: [:], runUUID: UUID().uuidString.lowercased(), force: false)
    let hooks = ProvisionHooks(provision: { _, _ in }, errorCleanup: nil)
    do {
      let artifact = try await builder.run(context, hooks: hooks, clients: clients)
      return Outcome(artifact: artifact, error: nil, ui: ui)
    } catch {
      return Outcome(artifact: nil, error: error, ui: ui)
    }
  }
}

@Suite struct EC2StepScenarioTests {
  /// Every EC2 call of a successful `communicator: none` build, in order. Everything is
  /// tagged by the call that creates it: the one CreateTags is the completion mark.
  static let successCalls = [
    "DescribeRegions", "DescribeImages", "DescribeImages", // pre-validate (AMI name free), source AMI
    "CreateSecurityGroup", "AuthorizeSecurityGroupIngress",
    "RunInstances", "DescribeInstances", // wait: running
    "StopInstances", "DescribeInstances", // wait: stopped
    "CreateImage", "DescribeImages", // wait: available
    "CreateTags", // kiln:state=complete
    "TerminateInstances", "DescribeInstances", "DescribeVolumes", // cleanup of the instance
    "DeleteSecurityGroup",
  ]

  static let instanceCleanup = ["TerminateInstances", "DescribeInstances", "DescribeVolumes"]
  static let amiRollback = ["DescribeImages", "DescribeImages", "DescribeImages", "DeregisterImage", "DescribeSnapshots", "DeleteSnapshot"]

  struct Row: Sendable, CustomTestStringConvertible {
    /// The call to fail: its 1-based position in `successCalls`.
    var call: Int
    var fault: FakeEC2.Fault = .refused(code: "UnauthorizedOperation", status: 403)
    /// The calls made after the failed one, in order.
    var after: [String]
    /// Whether the build still succeeds (a cleanup call failed, or the failure is one it
    /// waits out), and then the cleanup problem it reports; what the fake still holds besides
    /// the AMI and its snapshot.
    var succeeds = false
    var reportsCleanupProblem = false
    var left: [String] = []

    var name: String { EC2StepScenarioTests.successCalls[call - 1] }
    var testDescription: String { "\(call) \(name) \(fault)" }
  }

  static let rows: [Row] = [
    Row(call: 1, after: []),
    Row(call: 2, after: []),
    Row(call: 3, after: []),
    // Refused: nothing was made, but a group by its name is looked for (three looks, 2 s apart).
    Row(call: 4, after: ["DescribeSecurityGroups", "DescribeSecurityGroups", "DescribeSecurityGroups"]),
    Row(call: 5, after: ["DeleteSecurityGroup"]),
    // The new group not visible yet (eventual consistency): the rule is asked for again.
    Row(
      call: 5, fault: .refused(code: "InvalidGroup.NotFound", status: 400),
      after: ["AuthorizeSecurityGroupIngress"] + Array(successCalls.dropFirst(5)),
      succeeds: true),
    Row(call: 6, after: ["DeleteSecurityGroup"]),
    Row(call: 7, after: instanceCleanup + ["DeleteSecurityGroup"]),
    Row(call: 8, after: instanceCleanup + ["DeleteSecurityGroup"]),
    Row(call: 9, after: instanceCleanup + ["DeleteSecurityGroup"]),
    // CreateImage refused: the AMI a request in flight may have made is looked for by tag and name.
    Row(call: 10, after: ["DescribeImages", "DescribeImages", "DescribeSnapshots"] + instanceCleanup + ["DeleteSecurityGroup"]),
    Row(call: 11, after: amiRollback + instanceCleanup + ["DeleteSecurityGroup"]),
    Row(call: 12, after: amiRollback + instanceCleanup + ["DeleteSecurityGroup"]),
    // Cleanup calls: the build has its AMI; the problem is reported, and what could not go stays.
    // The stopped instance holds the group: DependencyViolation five times, 5 s apart.
    Row(
      call: 13, after: Array(repeating: "DeleteSecurityGroup", count: 5), succeeds: true, reportsCleanupProblem: true,
      left: ["instance", "security group", "volume"]),
    Row(call: 14, after: ["DeleteSecurityGroup"], succeeds: true, reportsCleanupProblem: true),
    Row(call: 15, after: ["DeleteSecurityGroup"], succeeds: true, reportsCleanupProblem: true),
    // Retried 5 s later, and gone.
    Row(call: 16, after: ["DeleteSecurityGroup"], succeeds: true),
    // Answers lost: the resource exists though its id never came; the cleanup finds it.
    Row(call: 4, fault: .answerLost, after: ["DescribeSecurityGroups", "DeleteSecurityGroup"]),
    Row(call: 6, fault: .answerLost, after: ["DescribeInstances"] + instanceCleanup + ["DeleteSecurityGroup"]),
    Row(
      call: 10, fault: .answerLost,
      after: ["DescribeImages", "DescribeImages", "DeregisterImage", "DescribeSnapshots", "DeleteSnapshot"] + instanceCleanup + [
        "DeleteSecurityGroup"
      ]),
    // Answers lost after EC2 acted, and the call resent by the client's retry: the duplicate
    // refusal finds this build's own resource (by name and its kiln:run/kiln:build tags) and
    // uses it; RunInstances' ClientToken makes its resend answer the same instance.
    Row(
      call: 4, fault: .answerLostAndResent, after: ["CreateSecurityGroup", "DescribeSecurityGroups"] + Array(successCalls.dropFirst(4)),
      succeeds: true),
    Row(call: 5, fault: .answerLostAndResent, after: ["AuthorizeSecurityGroupIngress"] + Array(successCalls.dropFirst(5)), succeeds: true),
    Row(call: 6, fault: .answerLostAndResent, after: ["RunInstances"] + Array(successCalls.dropFirst(6)), succeeds: true),
    Row(call: 10, fault: .answerLostAndResent, after: ["CreateImage", "DescribeImages"] + Array(successCalls.dropFirst(10)), succeeds: true),
  ]

  @Test func aSuccessfulBuildMakesTheAMIAndRemovesEverythingElse() async throws {
    let fake = FakeEC2()
    let outcome = await EBSScenario.run(try EBSScenario.builder(), clients: fake.client)
    #expect(outcome.error == nil, "\(outcome.error.map { "\($0)" } ?? "")")
    #expect(fake.calls.map(\.name) == Self.successCalls)
    let images = fake.ownedImages(in: "us-east-1")
    #expect(images.count == 1)
    let image = try #require(images.first)
    #expect(outcome.artifact?.id == "us-east-1:\(image.imageID)")
    #expect(image.state == "available")
    #expect(image.tags.contains(EC2Tag("kiln:state", "complete")))
    #expect(fake.leftovers.filter { !$0.hasPrefix("AMI ") && !$0.hasPrefix("snapshot ") }.isEmpty, "\(fake.leftovers)")
    #expect(outcome.ui.errors.isEmpty, "\(outcome.ui.errors)")

    // Every resource is tagged by the call that creates it; the only CreateTags is the
    // completion mark, on the AMI and its snapshot.
    let specified = Dictionary(fake.calls.map { ($0.name, $0.arguments["TagSpecifications"] ?? "") }, uniquingKeysWith: { first, _ in first })
    #expect(specified["CreateSecurityGroup"] == "security-group")
    #expect(specified["RunInstances"] == "instance,volume,network-interface")
    #expect(specified["CreateImage"] == "image,snapshot")
    let tagged = fake.calls.filter { $0.name == "CreateTags" }
    #expect(tagged.map { $0.arguments["Tags"] } == ["kiln:state=complete"])
    #expect(tagged.first?.arguments["ResourceId"] == ([image.imageID] + image.snapshotIDs).joined(separator: ","))
  }

  @Test(arguments: rows) func failingOneCallCleansUpInOrder(_ row: Row) async throws {
    let fake = FakeEC2()
    fake.fail(call: row.call, with: row.fault)
    let outcome = await EBSScenario.run(try EBSScenario.builder(), clients: fake.client)
    let calls = fake.calls.map(\.name)
    // Up to the failed call, the build made the calls of a successful one.
    #expect(Array(calls.prefix(row.call)) == Array(Self.successCalls.prefix(row.call)))
    #expect(Array(calls.dropFirst(row.call)) == row.after)

    let named = "EC2 \(row.name)"
    if row.succeeds {
      #expect(outcome.error == nil, "\(outcome.error.map { "\($0)" } ?? "")")
      #expect(outcome.artifact != nil)
      #expect(fake.ownedImages(in: "us-east-1").count == 1, "one AMI")
      if row.reportsCleanupProblem {
        #expect(outcome.ui.errors.contains { $0.contains("cleanup of step") && $0.contains(named) }, "\(outcome.ui.errors)")
      } else {
        #expect(outcome.ui.errors.isEmpty, "\(outcome.ui.errors)")
      }
    } else {
      let error = try #require(outcome.error)
      #expect("\(error)".contains(named), "\(error)")
      #expect(fake.ownedImages(in: "us-east-1").isEmpty)
    }
    // Nothing the build made is left but its result (the AMI and its snapshot of a build
    // that succeeded) and what a failed cleanup call could not remove.
    let left = fake.leftovers.filter { !(row.succeeds && ($0.hasPrefix("AMI ") || $0.hasPrefix("snapshot "))) }
    #expect(left.count == row.left.count, "\(left)")
    for kind in row.left { #expect(left.contains { $0.hasPrefix(kind + " ") }, "\(kind) not in \(left)") }
  }

  /// With SSH, a temporary key pair too: it goes last, after the instance and the group.
  /// Every failure here comes before SSH connects, so no sshd is needed.
  static let sshCalls = [
    "DescribeRegions", "DescribeImages", "DescribeImages", "ImportKeyPair",
    "CreateSecurityGroup", "AuthorizeSecurityGroupIngress", "RunInstances", "DescribeInstances",
  ]

  static let keyPairRows: [Row] = [
    // Refused: nothing was made, and a same-named key pair that is not the build's is not deleted.
    Row(call: 4, after: []),
    // Unanswered: deleted, then looked for until it is gone (a late create could land after).
    Row(call: 4, fault: .answerLost, after: ["DeleteKeyPair", "DescribeKeyPairs"]),
    // Answered: one DeleteKeyPair removes it.
    Row(call: 5, after: ["DescribeSecurityGroups", "DescribeSecurityGroups", "DescribeSecurityGroups", "DeleteKeyPair"]),
    Row(call: 7, after: ["DeleteSecurityGroup", "DeleteKeyPair"]),
    Row(call: 8, after: instanceCleanup + ["DeleteSecurityGroup", "DeleteKeyPair"]),
  ]

  @Test(arguments: keyPairRows) func theTemporaryKeyPairGoesAfterTheInstanceAndTheGroup(_ row: Row) async throws {
    let fake = FakeEC2()
    fake.fail(call: row.call, with: row.fault)
    let port = try ClosedPort()
    let outcome = await EBSScenario.run(try EBSScenario.builder(sshPort: port.port), clients: fake.client)
    let calls = fake.calls.map(\.name)
    #expect(Array(calls.prefix(row.call)) == Array(Self.sshCalls.prefix(row.call)))
    #expect(Array(calls.dropFirst(row.call)) == row.after)
    let error = try #require(outcome.error)
    #expect("\(error)".contains("EC2 \(Self.sshCalls[row.call - 1])"), "\(error)")
    #expect(fake.leftovers.isEmpty, "\(fake.leftovers)")
  }
}

extension EC2StepScenarioTests {
  /// ImportKeyPair's answer lost after EC2 made the key pair: the resend is refused as a
  /// duplicate, the key pair carries this build's tags, and the build goes on with it (to an
  /// SSH port that is closed: the failure is there, not at the key pair), removing it after.
  @Test func aResentImportKeyPairUsesTheKeyPairTheFirstAttemptMade() async throws {
    let fake = FakeEC2()
    fake.fail(first: "ImportKeyPair", with: .answerLostAndResent)
    let port = try ClosedPort()
    let outcome = await EBSScenario.run(try EBSScenario.builder(sshPort: port.port), clients: fake.client)
    let calls = fake.calls.map(\.name)
    #expect(
      Array(calls.prefix(6)) == [
        "DescribeRegions", "DescribeImages", "DescribeImages", "ImportKeyPair", "ImportKeyPair", "DescribeKeyPairs",
      ])
    #expect(Array(calls.dropFirst(6).prefix(3)) == ["CreateSecurityGroup", "AuthorizeSecurityGroupIngress", "RunInstances"], "\(calls)")
    let error = try #require(outcome.error)
    #expect(!"\(error)".contains("KeyPair"), "\(error)")
    // Removed once, as soon as the instance ran (issue #15: the key is on the instance).
    #expect(calls.filter { $0 == "DeleteKeyPair" }.count == 1, "\(calls)")
    #expect(try #require(calls.firstIndex(of: "DeleteKeyPair")) < (try #require(calls.firstIndex(of: "TerminateInstances"))), "\(calls)")
    #expect(fake.leftovers.isEmpty, "\(fake.leftovers)")
  }

  /// A `temporary_key_pair_name` taken by a key pair without this build's tags: someone
  /// else's. The duplicate stays an error, and that key pair is neither used nor deleted.
  @Test func aDuplicateKeyPairWithoutThisBuildsTagsIsRefusedAndLeftAlone() async throws {
    let fake = FakeEC2()
    _ = try await fake.client("us-east-1").importKeyPair(
      name: "shared-name", publicKey: "ssh-ed25519 AAAA someone-else", tags: [EC2Tag("owner", "someone")])
    let port = try ClosedPort()
    let builder = try EBSScenario.builder(#""temporary_key_pair_name": "shared-name""#, sshPort: port.port)
    let outcome = await EBSScenario.run(builder, clients: fake.client)
    #expect(outcome.summary == "InvalidKeyPair.Duplicate", "\(outcome.error.map { "\($0)" } ?? "")")
    let calls = fake.calls.map(\.name).dropFirst()
    #expect(Array(calls.drop { $0 != "ImportKeyPair" }) == ["ImportKeyPair", "DescribeKeyPairs"], "looked once, deleted nothing: \(calls)")
    #expect(fake.leftovers == ["key pair shared-name in us-east-1"])
  }
}

/// One table of build scenarios against both the fake and moto (signatures checked), so the
/// fake cannot drift from what EC2 (as moto models it) answers: the same calls, in the same
/// order, and the same outcome.
@Suite(.serialized) struct FakeEC2MatchesMotoTests {
  static let moto = Shared { try await MotoServer() }

  struct Scenario: Sendable, CustomTestStringConvertible {
    var name: String
    var extra = ""
    var sourceAMI: String?
    var outcome: String
    var testDescription: String { name }
  }

  static let scenarios = [
    Scenario(name: "success", outcome: "succeeded"),
    Scenario(name: "source_ami that does not exist", sourceAMI: "ami-0123456789abcdef0", outcome: "InvalidAMIID.NotFound"),
    Scenario(name: "subnet_id that does not exist", extra: #""subnet_id": "subnet-0123456789abcdef0""#, outcome: "InvalidSubnetID.NotFound"),
  ]

  @Test(arguments: scenarios) func theFakeAndMotoAgree(_ scenario: Scenario) async throws {
    let builder = try EBSScenario.builder(scenario.extra, sourceAMI: scenario.sourceAMI)

    let fake = FakeEC2()
    let onFake = await EBSScenario.run(builder, clients: fake.client)

    let moto = try await Self.moto.get()
    let before = moto.actions().count
    let credentials = StaticCredentialsProvider(SigV4.Credentials(accessKeyID: moto.accessKeyID, secretAccessKey: moto.secretAccessKey))
    let onMoto = await EBSScenario.run(builder) { region in
      try EC2Client(
        region: region, customEndpoint: moto.endpoint.absoluteString, http: try CurlHTTPClient(), credentials: credentials,
        retry: RetryPolicy(maxRetries: 2, baseDelay: .milliseconds(10)))
    }
    let motoCalls = moto.actions().dropFirst(before).map(\.action)

    #expect(onFake.summary == scenario.outcome, "\(onFake.error.map { "\($0)" } ?? "")")
    #expect(onMoto.summary == scenario.outcome, "\(onMoto.error.map { "\($0)" } ?? "")")
    #expect(fake.calls.map(\.name) == motoCalls)
    if scenario.outcome == "succeeded" { #expect(fake.calls.map(\.name) == EC2StepScenarioTests.successCalls) }
  }
}
