import Foundation
import KilnAWS
import Testing
import _KilnTestSupport

/// One moto server (signatures checked) for the whole suite; it exits with the test process.
enum SharedMoto {
  static let server = Shared { try await MotoServer() }

  static func client(region: String = "us-east-1", secret: String? = nil) async throws -> EC2Client {
    let moto = try await server.get()
    let credentials = SigV4.Credentials(accessKeyID: moto.accessKeyID, secretAccessKey: secret ?? moto.secretAccessKey)
    return try EC2Client(
      region: region, customEndpoint: moto.endpoint.absoluteString, http: try CurlHTTPClient(),
      credentials: StaticCredentialsProvider(credentials), retry: RetryPolicy(maxRetries: 2, baseDelay: .milliseconds(10)))
  }
}

/// Every EC2 action Kiln uses, against moto in server mode through libcurl and SigV4.
@Suite(.serialized) struct EC2ClientMotoTests {
  @Test func aCorrectSecretIsAcceptedAndAWrongOneRejectedWithAWSCode() async throws {
    let regions = try await SharedMoto.client().describeRegions()
    #expect(regions.contains { $0.name == "us-east-1" })
    #expect(regions.contains { $0.name == "eu-west-1" })
    do {
      _ = try await SharedMoto.client(secret: "not-the-secret").describeRegions()
      Issue.record("a wrong secret was accepted")
    } catch let error as AWSServiceError {
      #expect(error.code == "AuthFailure")
      #expect(error.status == 401)
      #expect(error.description.contains("EC2 DescribeRegions: AuthFailure"))
    }
  }

  @Test func findsTheSourceImageByOwnerAndFilters() async throws {
    let images = try await SharedMoto.client().describeImages(
      owners: ["099720109477"],
      filters: [EC2Filter("name", ["ubuntu/images/hvm-ssd/ubuntu-xenial-16.04-amd64-server-*"]), EC2Filter("root-device-type", ["ebs"])])
    let image = try #require(images.first)
    #expect(images.count == 1)
    #expect(image.imageID == "ami-785db401")
    #expect(image.architecture == "x86_64" && image.virtualizationType == "hvm" && image.state == "available")
    #expect(try await SharedMoto.client().describeImages(owners: ["self"], filters: [EC2Filter("name", ["no-such-*"])]).isEmpty)
  }

  @Test func keyPairsImportCreateDescribeDelete() async throws {
    let ec2 = try await SharedMoto.client()
    let publicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl kiln-test"
    let imported = try await ec2.importKeyPair(name: "kiln-imported", publicKey: publicKey, tags: [EC2Tag("kiln:run", "t1")])
    #expect(imported.keyName == "kiln-imported")
    let described = try await ec2.describeKeyPairs(names: ["kiln-imported"], includePublicKey: true)
    #expect(described.first?.publicKey?.hasPrefix("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl") == true)
    let (created, privateKey) = try await ec2.createKeyPair(name: "kiln-created", type: "ed25519")
    #expect(created.keyName == "kiln-created")
    #expect(privateKey.contains("PRIVATE KEY"))
    try await ec2.deleteKeyPair(name: "kiln-imported")
    try await ec2.deleteKeyPair(name: "kiln-created")
    let left = try await ec2.describeKeyPairs(filters: [EC2Filter("key-name", ["kiln-imported", "kiln-created"])])
    #expect(left.isEmpty)
    do {
      _ = try await ec2.describeKeyPairs(names: ["kiln-imported"])
      Issue.record("a deleted key pair was found")
    } catch let error as AWSServiceError {
      #expect(error.code == "InvalidKeyPair.NotFound")
    }
  }

  @Test func securityGroupsInTheDefaultVPC() async throws {
    let ec2 = try await SharedMoto.client()
    let vpc = try #require(try await ec2.describeVpcs(filters: [EC2Filter("is-default", ["true"])]).first)
    #expect(vpc.isDefault)
    let subnets = try await ec2.describeSubnets(filters: [EC2Filter("vpc-id", [vpc.vpcID])])
    #expect(!subnets.isEmpty && subnets.allSatisfy { $0.vpcID == vpc.vpcID })
    let groupID = try await ec2.createSecurityGroup(
      name: "kiln_sg_test", description: "Temporary group for kiln", vpcID: vpc.vpcID, tags: [EC2Tag("kiln:run", "t2")])
    try await ec2.authorizeSecurityGroupIngress(groupID: groupID, port: 22, cidrs: ["203.0.113.0/24", "2001:db8::/32"])
    let group = try #require(try await ec2.describeSecurityGroups(groupIDs: [groupID]).first)
    #expect(group.groupName == "kiln_sg_test" && group.vpcID == vpc.vpcID)
    #expect(group.ingressPorts == [22])
    #expect(group.tags.contains(EC2Tag("kiln:run", "t2")))
    try await ec2.deleteSecurityGroup(groupID: groupID)
    #expect(try await ec2.describeSecurityGroups(filters: [EC2Filter("group-name", ["kiln_sg_test"])]).isEmpty)
  }

  @Test func instanceToImageToCopyShareTagAndCleanUp() async throws {
    let ec2 = try await SharedMoto.client()
    var run = EC2Client.RunInstancesRequest(imageID: "ami-785db401", instanceType: "t3.micro")
    run.shutdownBehavior = "terminate"
    run.userData = Data("#!/bin/sh\necho hi\n".utf8).base64EncodedString()
    run.metadataHTTPTokens = "required"
    run.metadataHopLimit = 2
    var root = BlockDeviceMappingInput(deviceName: "/dev/sda1")
    root.volumeSize = 20
    root.volumeType = "gp3"
    root.deleteOnTermination = true
    run.blockDevices = [root]
    run.tagSpecifications = [("instance", [EC2Tag("Name", "kiln test"), EC2Tag("kiln:run", "t3")]), ("volume", [EC2Tag("kiln:run", "t3")])]
    let instance = try #require(try await ec2.runInstances(run).first)
    #expect(instance.instanceID.hasPrefix("i-"))

    let described = try #require(try await ec2.describeInstances(instanceIDs: [instance.instanceID]).first)
    #expect(described.state == "running")
    #expect(described.tags.contains(EC2Tag("kiln:run", "t3")))
    #expect(described.blockDevices.first?.deviceName == "/dev/sda1")
    let statuses = try await ec2.describeInstanceStatus(instanceIDs: [instance.instanceID])
    #expect(statuses.first?.state == "running")
    _ = try await ec2.getConsoleOutput(instanceID: instance.instanceID)
    let volumes = try await ec2.describeVolumes(filters: [EC2Filter("attachment.instance-id", [instance.instanceID])])
    #expect(volumes.first?.tags.contains(EC2Tag("kiln:run", "t3")) == true)

    #expect(try await ec2.stopInstances([instance.instanceID])[instance.instanceID] != nil)
    var create = EC2Client.CreateImageRequest(instanceID: instance.instanceID, name: "kiln-test-image-1", description: "made by a test")
    create.tagSpecifications = [("image", [EC2Tag("kiln:run", "t3")]), ("snapshot", [EC2Tag("kiln:run", "t3"), EC2Tag("kind", "root")])]
    let imageID = try await ec2.createImage(create)
    let image = try #require(try await ec2.describeImages(imageIDs: [imageID]).first)
    #expect(image.name == "kiln-test-image-1" && image.description == "made by a test")
    #expect(image.tags.contains(EC2Tag("kiln:run", "t3")))
    let snapshots = image.snapshotIDs
    #expect(!snapshots.isEmpty)
    #expect(
      try await ec2.describeSnapshots(snapshotIDs: snapshots).allSatisfy { $0.tags.contains(EC2Tag("kind", "root")) },
      "CreateImage tags the snapshots")

    try await ec2.modifyImageAttribute(imageID: imageID, addUserIDs: ["123456789012"])
    let permissions = try await ec2.describeImageAttribute(imageID: imageID, attribute: "launchPermission").launchPermissions
    #expect(permissions.contains(EC2LaunchPermission(userID: "123456789012", group: nil)))
    try await ec2.modifySnapshotAttribute(snapshotID: snapshots[0], addUserIDs: ["123456789012"], addGroups: [])
    try await ec2.createTags(resourceIDs: [imageID] + snapshots, tags: [EC2Tag("Component", "kubelet 1.31")])
    let tagged = try await ec2.describeSnapshots(snapshotIDs: snapshots)
    #expect(tagged.first?.tags.contains(EC2Tag("Component", "kubelet 1.31")) == true)

    let west = try await SharedMoto.client(region: "us-west-2")
    let copyID = try await west.copyImage(
      sourceImageID: imageID, sourceRegion: "us-east-1", name: "kiln-test-image-1", imageTags: [EC2Tag("kiln:run", "t3")],
      snapshotTags: [EC2Tag("kiln:run", "t3"), EC2Tag("kind", "copy")])
    let copy = try #require(try await west.describeImages(imageIDs: [copyID]).first)
    #expect(copy.name == "kiln-test-image-1")
    #expect(copy.tags == [EC2Tag("kiln:run", "t3")], "CopyImage tags the copy")
    let copySnapshots = try await west.describeSnapshots(snapshotIDs: copy.snapshotIDs)
    #expect(!copySnapshots.isEmpty && copySnapshots.allSatisfy { $0.tags.contains(EC2Tag("kind", "copy")) }, "and its snapshots")
    try await west.deregisterImage(copyID)
    for snapshot in copy.snapshotIDs { try await west.deleteSnapshot(snapshot) }

    try await ec2.deregisterImage(imageID)
    for snapshot in snapshots { try await ec2.deleteSnapshot(snapshot) }
    #expect(try await ec2.describeImages(owners: ["self"], filters: [EC2Filter("name", ["kiln-test-image-1"])]).isEmpty)
    #expect(try await ec2.terminateInstances([instance.instanceID])[instance.instanceID] != nil)
    #expect(try await ec2.describeInstances(instanceIDs: [instance.instanceID]).first?.state == "terminated")
  }

  /// A resend of RunInstances with the same ClientToken (a retry after a lost answer)
  /// launches nothing new; the same token with other parameters is refused.
  @Test func runInstancesWithTheSameClientTokenLaunchesOnce() async throws {
    let ec2 = try await SharedMoto.client()
    var run = EC2Client.RunInstancesRequest(imageID: "ami-785db401", instanceType: "t3.micro")
    run.clientToken = UUID().uuidString
    run.tagSpecifications = [("instance", [EC2Tag("kiln:run", "token-test")])]
    let first = try #require(try await ec2.runInstances(run).first)
    let again = try #require(try await ec2.runInstances(run).first)
    #expect(again.instanceID == first.instanceID)
    #expect(try await ec2.describeInstances(filters: [EC2Filter("tag:kiln:run", ["token-test"])]).count == 1)
    run.instanceType = "t3.small"
    do {
      _ = try await ec2.runInstances(run)
      Issue.record("a reused ClientToken with other parameters was accepted")
    } catch let error as AWSServiceError {
      #expect(error.code == "IdempotentParameterMismatch")
    }
    try await ec2.terminateInstances([first.instanceID])
  }

  /// A spot launch's Spot Instance request, found by its tags and state, and cancelled.
  @Test func spotInstanceRequestsAreFoundByTagAndCancelled() async throws {
    let ec2 = try await SharedMoto.client()
    let run = "spot-\(UUID().uuidString.prefix(8))"
    var launch = EC2Client.RunInstancesRequest(imageID: "ami-785db401", instanceType: "t3.micro")
    launch.spot = true
    launch.tagSpecifications = [("instance", [EC2Tag("kiln:run", run)]), ("spot-instances-request", [EC2Tag("kiln:run", run)])]
    let instance = try #require(try await ec2.runInstances(launch).first)
    let found = try await ec2.describeSpotInstanceRequests(filters: [EC2Filter("tag:kiln:run", [run])])
    #expect(found.count == 1, "\(found)")
    let request = try #require(found.first)
    #expect(request.requestID.hasPrefix("sir-"))
    #expect(request.tags.contains(EC2Tag("kiln:run", run)))
    #expect(try await ec2.describeSpotInstanceRequests(filters: [EC2Filter("tag:kiln:run", ["another-run"])]).isEmpty)
    let live = [EC2Filter("tag:kiln:run", [run]), EC2Filter("state", ["open", "active"])]
    #expect(try await ec2.describeSpotInstanceRequests(filters: live).map(\.requestID) == [request.requestID])
    try await ec2.cancelSpotInstanceRequests([request.requestID])
    // AWS lists a cancelled request for a while as "cancelled"; moto drops it at once.
    #expect(try await ec2.describeSpotInstanceRequests(filters: live).isEmpty)
    try await ec2.terminateInstances([instance.instanceID])
  }

  /// `deprecate_at` and deregistration protection, as DescribeImages shows them; a protected
  /// AMI cannot be deregistered.
  @Test func deprecationAndDeregistrationProtection() async throws {
    let ec2 = try await SharedMoto.client()
    let instance = try #require(try await ec2.runInstances(EC2Client.RunInstancesRequest(imageID: "ami-785db401", instanceType: "t3.micro")).first)
    let imageID = try await ec2.createImage(EC2Client.CreateImageRequest(instanceID: instance.instanceID, name: "kiln-test-protected"))
    try await ec2.enableImageDeprecation(imageID: imageID, at: try Date("2030-01-02T03:04:00Z", strategy: .iso8601))
    try await ec2.enableImageDeregistrationProtection(imageID: imageID)
    let image = try #require(try await ec2.describeImages(imageIDs: [imageID]).first)
    #expect(image.deprecationTime == "2030-01-02T03:04:00.000Z")
    #expect(image.deregistrationProtection == "enabled-without-cooldown")
    await #expect(throws: AWSServiceError.self) { try await ec2.deregisterImage(imageID) }
    #expect(try await ec2.describeImages(imageIDs: [imageID]).count == 1, "still registered")
    try await ec2.terminateInstances([instance.instanceID])
  }

  @Test func deletesLeftoverVolumes() async throws {
    let ec2 = try await SharedMoto.client()
    var run = EC2Client.RunInstancesRequest(imageID: "ami-785db401", instanceType: "t3.micro")
    var extra = BlockDeviceMappingInput(deviceName: "/dev/sdf")
    extra.volumeSize = 5
    extra.deleteOnTermination = false
    run.blockDevices = [extra]
    let instance = try #require(try await ec2.runInstances(run).first)
    try await ec2.terminateInstances([instance.instanceID])
    let detached = try await ec2.describeVolumes(filters: [EC2Filter("status", ["available"])])
    #expect(!detached.isEmpty)
    for volume in detached { try await ec2.deleteVolume(volume.volumeID) }
    #expect(try await ec2.describeVolumes(filters: [EC2Filter("status", ["available"])]).isEmpty)
  }
}
