import Foundation
import KilnAWS
import KilnCore
import Synchronization
import Testing
import _KilnTestSupport

@testable import KilnBuilders

/// Capacity fallback (issue #15 item 5): on `InsufficientInstanceCapacity` or `Unsupported`
/// the launch is tried in the next zone the template's network allows, then with the next
/// instance type, and a refused attempt leaves nothing.
///
/// The end-to-end tests build with `kiln build` through `bench/latency_proxy.py` in front of
/// moto (signatures checked), at a small scale factor, with the proxy answering RunInstances
/// `InsufficientInstanceCapacity` (HTTP 500, as in AWS's error table) for chosen
/// `TYPE@ZONE` pairs. With no subnet in the template, Kiln first lets EC2 choose the zone (moto,
/// and so the proxy, take us-east-1a), then walks the default VPC's default subnets of the
/// other zones, one per zone, by zone: moto's us-east-1 has six (us-east-1a to us-east-1f), so
/// the tests need no subnets of their own.
@Suite struct CapacityFallbackTests {
  static func proxy(_ lab: EC2Lab, noCapacity: [String]) async throws -> LatencyProxy {
    try await LatencyProxy(lab, scale: scale, noCapacity: noCapacity)
  }

  /// AWS's durations divided by 100: a launch of 0.05 s, a boot of 0.25 s, an 8 GiB image of 1.4 s.
  static let scale = 100

  /// The RunInstances calls the proxy saw: (HTTP status, answered by the proxy itself).
  static func launches(_ proxy: LatencyProxy) -> [(status: String, byProxy: Bool)] {
    proxy.requests().filter { $0.action == "RunInstances" }.map { ($0.status, $0.byProxy) }
  }

  /// The network interfaces moto holds.
  static func networkInterfaces(_ lab: EC2Lab) async throws -> [String] {
    try await lab.client().query.call("DescribeNetworkInterfaces").items("networkInterfaceSet").compactMap { $0.string("networkInterfaceId") }
  }

  static let zones = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"]

  @Test func aCapacityErrorInTwoZonesStillBuildsInTheNextAndLeavesNothingElse() async throws {
    let lab = try await EC2Lab()
    let proxy = try await Self.proxy(lab, noCapacity: ["m5.large@us-east-1a", "m5.large@us-east-1b"])
    let path = try lab.template(endpoint: proxy.server.baseURL, sshPort: proxy.sshPort)
    let result = try await lab.build([path])
    let output = result.stdout + result.stderr
    #expect(result.status == 0, "\(output)")

    // One line for each refusal, saying what is tried next. EC2 chose us-east-1a and its
    // refusal names it: that zone is not asked again.
    let said = output.split(separator: "\n").filter { $0.contains("No capacity for") }
    #expect(said.count == 2, "\(output)")
    #expect(
      said.first?.contains(
        /No capacity for m5\.large in the zone EC2 chooses \(InsufficientInstanceCapacity\); trying m5\.large in us-east-1b \(subnet-\w+\)$/)
        == true, "\(said)")
    #expect(
      said.last?.contains(
        /No capacity for m5\.large in us-east-1b \(subnet-\w+\) \(InsufficientInstanceCapacity\); trying m5\.large in us-east-1c \(subnet-\w+\)$/)
        == true, "\(said)")

    // Two refusals, answered by the proxy (nothing reached moto), then the launch.
    let launches = Self.launches(proxy)
    #expect(launches.map(\.status) == ["500", "500", "200"], "\(launches)")
    #expect(launches.map(\.byProxy) == [true, true, false])
    let tried = lab.moto.requests("RunInstances")
    #expect(tried.count == 1)
    #expect(tried.first?["Placement.AvailabilityZone"] == "us-east-1c", "\(tried)")

    try await Self.expectOnlyTheBuildsInstanceAndAMI(lab, "m5.large", in: "us-east-1c")
  }

  /// The one instance, of `type` in `zone`, terminated; nothing else left but the AMI and its
  /// snapshot. moto keeps a terminated instance's interface (AWS deletes it): the one
  /// interface is that instance's, none is from a refused attempt.
  static func expectOnlyTheBuildsInstanceAndAMI(_ lab: EC2Lab, _ type: String, in zone: String) async throws {
    let instances = try await lab.client().describeInstances()
    #expect(instances.count == 1)
    #expect(instances.first?.instanceType == type)
    #expect(instances.first?.availabilityZone == zone)
    #expect(instances.first?.state == "terminated")
    #expect(try await Self.networkInterfaces(lab).count == 1)
    let left = try await lab.leftovers().filter { !$0.hasPrefix("AMI ") && !$0.hasPrefix("snapshot ") }
    #expect(left.isEmpty, "left: \(left)")
    #expect(try await lab.client().describeImages(owners: ["self"]).count == 1)
  }

  @Test func noCapacityForTheFirstTypeInAnyZoneBuildsWithTheSecond() async throws {
    let lab = try await EC2Lab()
    let proxy = try await Self.proxy(lab, noCapacity: ["m5.large@*"])
    let path = try lab.template(endpoint: proxy.server.baseURL, instanceTypes: ["m5.large", "m5a.large"], sshPort: proxy.sshPort)
    let result = try await lab.build([path])
    let output = result.stdout + result.stderr
    #expect(result.status == 0, "\(output)")

    // The first type where EC2 chooses (us-east-1a), then in each other zone; then the second
    // type where EC2 chooses.
    let said = output.split(separator: "\n").filter { $0.contains("No capacity for") }
    #expect(said.count == Self.zones.count, "\(output)")
    let places = ["the zone EC2 chooses"] + Self.zones.dropFirst()
    for (index, place) in places.enumerated() {
      let next = index + 1 < places.count ? "m5.large in \(places[index + 1]) (" : "m5a.large in the zone EC2 chooses"
      #expect(
        said.count > index && said[index].contains("No capacity for m5.large in \(place) ") && said[index].contains("; trying \(next)"), "\(said)")
    }
    #expect(Self.launches(proxy).map(\.status) == Array(repeating: "500", count: Self.zones.count) + ["200"])

    try await Self.expectOnlyTheBuildsInstanceAndAMI(lab, "m5a.large", in: "us-east-1a")
  }

  @Test func noCapacityAnywhereFailsListingEveryAttemptAndLeavesNothing() async throws {
    let lab = try await EC2Lab()
    let snapshotsBefore = try await lab.snapshots()
    let proxy = try await Self.proxy(lab, noCapacity: ["m5.large@*", "m5a.large@*"])
    let path = try lab.template(endpoint: proxy.server.baseURL, instanceTypes: ["m5.large", "m5a.large"], sshPort: proxy.sshPort)
    let result = try await lab.build([path])
    let output = result.stdout + result.stderr
    #expect(result.status == 1, "\(output)")

    // The error lists every attempt, each with AWS's message: per type, where EC2 chose
    // (us-east-1a), then each other zone.
    let attempts = 2 * Self.zones.count
    #expect(output.contains("no capacity for the build instance: RunInstances was refused \(attempts) times"), "\(output)")
    for type in ["m5.large", "m5a.large"] {
      let escaped = type.replacingOccurrences(of: ".", with: "\\.")
      for zone in Self.zones {
        let place = zone == Self.zones[0] ? "the zone EC2 chooses" : #"\#(zone) \(subnet-\w+\)"#
        let line = try Regex(
          #"\n  \#(escaped) in \#(place): InsufficientInstanceCapacity: We currently do not have sufficient \#(escaped) capacity in the Availability Zone you requested \(\#(zone)\)"#
        )
        #expect(output.contains(line), "\(type) in \(zone) is not listed: \(output)")
      }
    }
    #expect(Self.launches(proxy).count == attempts, "each refusal once: a capacity error is not resent")

    // Nothing was launched, and the key pair and group are gone.
    #expect(try await lab.client().describeInstances().isEmpty)
    #expect(try await Self.networkInterfaces(lab).isEmpty)
    let left = try await lab.leftovers(snapshotsBefore: snapshotsBefore)
    #expect(left.isEmpty, "left: \(left)")
  }
}

/// The same walk over the in-memory EC2: which places and types are tried, in which order,
/// and what pins them.
@Suite struct CapacityFallbackWalkTests {
  static let noCapacity = FakeEC2.Fault.refused(code: "InsufficientInstanceCapacity", status: 500)

  /// The zone and type of each RunInstances call.
  static func launches(_ fake: FakeEC2) -> [String] {
    fake.calls.filter { $0.name == "RunInstances" }.map { "\($0.arguments["InstanceType"] ?? "")@\($0.arguments["AvailabilityZone"] ?? "")" }
  }

  @Test func theDefaultSubnetsAreTriedZoneByZoneThenTheNextType() async throws {
    let fake = FakeEC2()
    for _ in 0..<4 { fake.fail(first: "RunInstances", with: Self.noCapacity) }
    let builder = try EBSScenario.builder(#""instance_types": ["m5.large", "m6i.large"]"#, instanceType: nil)
    let outcome = await EBSScenario.run(builder, clients: fake.client)
    #expect(outcome.error == nil, "\(outcome.error.map { "\($0)" } ?? "")")
    // Where EC2 chooses, then each default subnet's zone (the fake's refusal names no zone,
    // so none is left out), then the next type where EC2 chooses.
    #expect(Self.launches(fake) == ["m5.large@", "m5.large@us-east-1a", "m5.large@us-east-1b", "m5.large@us-east-1c", "m6i.large@"])
    #expect(fake.calls.filter { $0.name == "DescribeSubnets" }.count == 1, "the default subnets are looked up once, at the first refusal")
    #expect(fake.leftovers.filter { !$0.hasPrefix("AMI ") && !$0.hasPrefix("snapshot ") }.isEmpty, "\(fake.leftovers)")
  }

  /// `Unsupported` (the type is not offered in that zone) is walked past like a shortage.
  @Test func unsupportedInAZoneIsTriedInTheNext() async throws {
    let fake = FakeEC2()
    fake.fail(first: "RunInstances", with: .refused(code: "Unsupported", status: 400))
    let outcome = await EBSScenario.run(try EBSScenario.builder(), clients: fake.client)
    #expect(outcome.error == nil, "\(outcome.error.map { "\($0)" } ?? "")")
    #expect(Self.launches(fake) == ["m5.large@", "m5.large@us-east-1a"])
  }

  /// A spot launch refused for capacity that leaves its request open (the fake's worst case):
  /// the build cancels it before it tries the next zone, and nothing is left.
  @Test func aRefusedSpotLaunchsOpenRequestIsCancelledBeforeTheNextZone() async throws {
    let fake = FakeEC2()
    fake.refuseSpotLeavingRequestsOpen(in: ["us-east-1a"])
    let outcome = await EBSScenario.run(try EBSScenario.builder(#""spot_price": "auto""#), clients: fake.client)
    #expect(outcome.error == nil, "\(outcome.error.map { "\($0)" } ?? "")")
    // EC2's choice is the fake's first zone, us-east-1a; a spot refusal names no zone, so
    // us-east-1a is asked again before us-east-1b.
    #expect(Self.launches(fake) == ["m5.large@", "m5.large@us-east-1a", "m5.large@us-east-1b"])
    let calls = fake.calls.map(\.name).drop { $0 != "RunInstances" }
    let cancel = ["DescribeSpotInstanceRequests", "CancelSpotInstanceRequests"]
    #expect(
      Array(calls.prefix(8)) == ["RunInstances"] + cancel + ["DescribeSubnets", "RunInstances"] + cancel + ["RunInstances"], "\(calls)")
    #expect(fake.leftovers.filter { !$0.hasPrefix("AMI ") && !$0.hasPrefix("snapshot ") }.isEmpty, "\(fake.leftovers)")
  }

  /// A build killed while EC2 held its spot request open leaves a request that could still
  /// launch an instance: `kiln sweep` lists it first, by its `kiln:run` tag, and cancels it.
  /// Requests of other runs, and untagged ones, are not touched.
  @Test func theSweepFindsAndCancelsAnOpenSpotRequest() async throws {
    let fake = FakeEC2()
    fake.refuseSpotLeavingRequestsOpen(in: ["us-east-1a"])
    let client = fake.client("us-east-1")
    func refusedSpotLaunch(run: String?) async {
      var request = EC2Client.RunInstancesRequest(imageID: FakeEC2.ubuntuImageID, instanceType: "m5.large")
      request.availabilityZone = "us-east-1a"
      request.spot = true
      if let run {
        request.tagSpecifications = [("spot-instances-request", [EC2Tag("kiln:run", run), EC2Tag("kiln:created", "2026-12-03T10:00:00Z")])]
      }
      await #expect(throws: AWSServiceError.self) { try await client.runInstances(request) }
    }
    await refusedSpotLaunch(run: "run-killed")
    await refusedSpotLaunch(run: "run-other")
    await refusedSpotLaunch(run: nil)
    let sweep = ResourceSweep(client: client, run: "run-killed")
    let found = try await sweep.find()
    #expect(found.map(\.kind) == [.spotRequest], "\(found)")
    #expect(found.first?.description.hasPrefix("spot request sir-") == true, "\(found)")
    #expect(found.first?.run == "run-killed")
    let lines = Mutex<[String]>([])
    let problems = await sweep.remove(found) { line in lines.withLock { $0.append(line) } }
    #expect(problems.isEmpty, "\(problems)")
    #expect(lines.withLock { $0 } == ["cancelled spot request \(found[0].id)"])
    #expect(try await sweep.find().isEmpty)
    #expect(fake.leftovers.count == 2, "the other run's and the untagged request stay open: \(fake.leftovers)")
    #expect(try await ResourceSweep(client: client).find().count == 1, "every run's sweep finds only the other tagged run's request")
  }

  /// Another refusal is no capacity problem: it fails the build at once.
  @Test func anotherRefusalIsNotWalkedPast() async throws {
    let fake = FakeEC2()
    fake.fail(first: "RunInstances", with: .refused(code: "InvalidParameterValue", status: 400))
    let outcome = await EBSScenario.run(try EBSScenario.builder(), clients: fake.client)
    #expect(outcome.summary == "InvalidParameterValue")
    #expect(Self.launches(fake) == ["m5.large@"])
    #expect(fake.leftovers.isEmpty, "\(fake.leftovers)")
  }

  /// `availability_zone` pins the zone (and `subnet_id` likewise): only the types are walked.
  @Test func aPinnedZoneWalksOnlyTheTypes() async throws {
    let fake = FakeEC2()
    fake.fail(first: "RunInstances", with: Self.noCapacity)
    let builder = try EBSScenario.builder(#""availability_zone": "us-east-1b", "instance_types": ["m5.large", "m6i.large"]"#, instanceType: nil)
    let outcome = await EBSScenario.run(builder, clients: fake.client)
    #expect(outcome.error == nil, "\(outcome.error.map { "\($0)" } ?? "")")
    #expect(Self.launches(fake) == ["m5.large@us-east-1b", "m6i.large@us-east-1b"])
    #expect(!fake.calls.contains { $0.name == "DescribeSubnets" }, "nothing to look for")
  }

  /// With one place and one type there is nothing to walk: AWS's error, with its advice.
  @Test func aPinnedZoneAndOneTypeFailWithAWSsError() async throws {
    let fake = FakeEC2()
    fake.fail(first: "RunInstances", with: Self.noCapacity)
    let outcome = await EBSScenario.run(try EBSScenario.builder(#""availability_zone": "us-east-1b""#), clients: fake.client)
    #expect(outcome.summary == "InsufficientInstanceCapacity")
    #expect(fake.leftovers.isEmpty, "\(fake.leftovers)")
  }

  /// A build that gets its instance where EC2 chooses makes no DescribeSubnets call, as in
  /// Packer: the default subnets are for a refusal only.
  @Test func aBuildWithNoNetworkOptionsLetsEC2ChooseAndLooksUpNothing() async throws {
    let fake = FakeEC2()
    let outcome = await EBSScenario.run(try EBSScenario.builder(), clients: fake.client)
    #expect(outcome.error == nil, "\(outcome.error.map { "\($0)" } ?? "")")
    #expect(Self.launches(fake) == ["m5.large@"])
    #expect(!fake.calls.contains { $0.name == "DescribeSubnets" })
  }

  /// The default subnets cannot be listed after EC2's choice was refused: said, no other
  /// zone is tried, and with one type the build fails with AWS's own error.
  @Test func defaultSubnetsThatCannotBeListedEndTheWalkWithAWSsError() async throws {
    let fake = FakeEC2()
    fake.fail(first: "RunInstances", with: Self.noCapacity)
    fake.fail(first: "DescribeSubnets", with: .refused(code: "UnauthorizedOperation", status: 403))
    let outcome = await EBSScenario.run(try EBSScenario.builder(), clients: fake.client)
    #expect(outcome.summary == "InsufficientInstanceCapacity")
    #expect(outcome.ui.said.contains { $0.contains("Cannot list the default subnets (UnauthorizedOperation)") })
    #expect(Self.launches(fake) == ["m5.large@"])
    #expect(fake.leftovers.isEmpty, "\(fake.leftovers)")
  }

  /// EC2's refusal names the zone it chose: that zone is left out of the walk.
  @Test func theZoneEC2ChoseAndNamedIsNotAskedAgain() {
    let refusal = AWSServiceError(
      service: "ec2", action: "RunInstances", status: 500, code: "InsufficientInstanceCapacity",
      message:
        "We currently do not have sufficient m5.large capacity in the Availability Zone you requested (us-east-1b). Our system will be working on provisioning additional capacity. You can currently get m5.large capacity by not specifying an Availability Zone in your request or choosing us-east-1a, us-east-1c.",
      requestID: "r-1")
    let others = ["us-east-1a", "us-east-1b", "us-east-1c"].map { SubnetPlacement(subnetID: "subnet-\($0.suffix(1))", availabilityZone: $0) }
    #expect(StepRunInstance.placesAfter(.chosenByEC2, refusal: refusal, others: others).map(\.availabilityZone) == ["us-east-1a", "us-east-1c"])
    // A subnet the template picked is not EC2's choice: its others are all tried.
    let picked = SubnetPlacement(subnetID: "subnet-x", availabilityZone: "us-east-1d")
    #expect(StepRunInstance.placesAfter(picked, refusal: refusal, others: others) == others)
  }

  /// `subnet_filter`'s other matches follow the one picked: one per other zone, by zone then
  /// subnet id, and only in the picked subnet's VPC (the security group is made there).
  @Test func subnetFilterMatchesFollowThePickedOneInItsVPC() {
    let picked = EC2Subnet(subnetID: "subnet-5", vpcID: "vpc-1", availabilityZone: "us-east-1b")
    let matches = [
      picked,
      EC2Subnet(subnetID: "subnet-9", vpcID: "vpc-1", availabilityZone: "us-east-1a"),
      EC2Subnet(subnetID: "subnet-2", vpcID: "vpc-1", availabilityZone: "us-east-1c"),
      EC2Subnet(subnetID: "subnet-1", vpcID: "vpc-1", availabilityZone: "us-east-1c"),
      EC2Subnet(subnetID: "subnet-3", vpcID: "vpc-1", availabilityZone: "us-east-1b"),
      EC2Subnet(subnetID: "subnet-4", vpcID: "vpc-2", availabilityZone: "us-east-1d"),
    ]
    #expect(
      StepNetwork.fallbacks(after: picked, among: matches) == [
        SubnetPlacement(subnetID: "subnet-9", availabilityZone: "us-east-1a"),
        SubnetPlacement(subnetID: "subnet-1", availabilityZone: "us-east-1c"),
      ])
  }

  @Test(arguments: [
    (#""instance_type": "m5.large", "instance_types": ["m5a.large"]"#, "'instance_type' and 'instance_types' cannot both be set"),
    (#""instance_types": ["m5.large"], "spot_instance_types": ["m5a.large"], "spot_price": "auto""#, "cannot both be set"),
    (#""instance_types": ["m5.large"], "spot_price": "auto""#, "'instance_types' is for on-demand builds"),
    (#""instance_types": ["m5.large", "m5.large"]"#, #"'instance_types' lists "m5.large" twice"#),
    (#""instance_types": ["m5.large", ""]"#, "'instance_types' must not contain an empty instance type"),
    (#""instance_types": []"#, "an 'instance_type' must be specified"),
  ])
  func instanceTypesIsCheckedWhenTheTemplateIsRead(options: String, expected: String) throws {
    let json = """
      {"region": "us-east-1", "source_ami": "ami-785db401", "ami_name": "x", "communicator": "none", \(options)}
      """
    let sink = DiagnosticSink()
    var reader = ConfigReader(
      node: try JSONReader.read(json).root, context: RenderContext(phase: .builder, clock: BuildClock()),
      lateKeys: AmazonEBSBuilder.lateKeys, label: "amazon-ebs builder", sink: sink)
    _ = AmazonEBSBuilder(from: &reader)
    reader.finish()
    let errors = sink.diagnostics.errors.map(\.description)
    #expect(errors.contains { $0.contains(expected) }, "\(errors)")
    #expect(sink.diagnostics.errors.allSatisfy { $0.location != nil || $0.message.contains("must be specified") }, "\(errors)")
  }
}
