import Foundation
import KilnAWS
import KilnCore
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
/// `TYPE@ZONE` pairs. With no subnet in the template, Kiln walks the default VPC's default
/// subnets, one per zone, by zone: moto's us-east-1 has six (us-east-1a to us-east-1f), so
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

    // One line for each refusal, saying what is tried next.
    let said = output.split(separator: "\n").filter { $0.contains("No capacity for") }
    #expect(said.count == 2, "\(output)")
    #expect(
      said.first?.contains(
        /No capacity for m5\.large in us-east-1a \(subnet-\w+\) \(InsufficientInstanceCapacity\); trying m5\.large in us-east-1b \(subnet-\w+\)$/)
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

    // Every zone with the first type, then the second type in the first zone.
    let said = output.split(separator: "\n").filter { $0.contains("No capacity for") }
    #expect(said.count == Self.zones.count, "\(output)")
    for (index, zone) in Self.zones.enumerated() {
      let next = index + 1 < Self.zones.count ? "m5.large in \(Self.zones[index + 1])" : "m5a.large in us-east-1a"
      #expect(
        said.count > index && said[index].contains("No capacity for m5.large in \(zone) ") && said[index].contains("; trying \(next) "), "\(said)")
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

    // The error lists every attempt, each with AWS's message.
    let attempts = 2 * Self.zones.count
    #expect(output.contains("no capacity for the build instance: RunInstances was refused \(attempts) times"), "\(output)")
    for type in ["m5.large", "m5a.large"] {
      for zone in Self.zones {
        let line = try Regex(
          #"\n  \#(type.replacingOccurrences(of: ".", with: "\\.")) in \#(zone) \(subnet-\w+\): InsufficientInstanceCapacity: We currently do not have sufficient \#(type.replacingOccurrences(of: ".", with: "\\.")) capacity in the Availability Zone you requested \(\#(zone)\)"#
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
    #expect(
      Self.launches(fake) == [
        "m5.large@us-east-1a", "m5.large@us-east-1b", "m5.large@us-east-1c", "m6i.large@us-east-1a", "m6i.large@us-east-1b",
      ])
    #expect(fake.leftovers.filter { !$0.hasPrefix("AMI ") && !$0.hasPrefix("snapshot ") }.isEmpty, "\(fake.leftovers)")
  }

  /// `Unsupported` (the type is not offered in that zone) is walked past like a shortage.
  @Test func unsupportedInAZoneIsTriedInTheNext() async throws {
    let fake = FakeEC2()
    fake.fail(first: "RunInstances", with: .refused(code: "Unsupported", status: 400))
    let outcome = await EBSScenario.run(try EBSScenario.builder(), clients: fake.client)
    #expect(outcome.error == nil, "\(outcome.error.map { "\($0)" } ?? "")")
    #expect(Self.launches(fake) == ["m5.large@us-east-1a", "m5.large@us-east-1b"])
  }

  /// A spot launch refused for capacity that leaves its request open (the fake's worst case):
  /// the build cancels it before it tries the next zone, and nothing is left.
  @Test func aRefusedSpotLaunchsOpenRequestIsCancelledBeforeTheNextZone() async throws {
    let fake = FakeEC2()
    fake.refuseSpotLeavingRequestsOpen(in: ["us-east-1a"])
    let outcome = await EBSScenario.run(try EBSScenario.builder(#""spot_price": "auto""#), clients: fake.client)
    #expect(outcome.error == nil, "\(outcome.error.map { "\($0)" } ?? "")")
    #expect(Self.launches(fake) == ["m5.large@us-east-1a", "m5.large@us-east-1b"])
    let calls = fake.calls.map(\.name).drop { $0 != "RunInstances" }
    #expect(Array(calls.prefix(4)) == ["RunInstances", "DescribeSpotInstanceRequests", "CancelSpotInstanceRequests", "RunInstances"], "\(calls)")
    #expect(fake.leftovers.filter { !$0.hasPrefix("AMI ") && !$0.hasPrefix("snapshot ") }.isEmpty, "\(fake.leftovers)")
  }

  /// Another refusal is no capacity problem: it fails the build at once.
  @Test func anotherRefusalIsNotWalkedPast() async throws {
    let fake = FakeEC2()
    fake.fail(first: "RunInstances", with: .refused(code: "InvalidParameterValue", status: 400))
    let outcome = await EBSScenario.run(try EBSScenario.builder(), clients: fake.client)
    #expect(outcome.summary == "InvalidParameterValue")
    #expect(Self.launches(fake) == ["m5.large@us-east-1a"])
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
