import Foundation
import KilnAWS
import Testing
import _KilnTestSupport

/// Every action `EC2Client`, `STSClient` and `SSMClient` can send is sent here, against moto
/// (whose fixture checks each request against AWS's model before moto sees it: Query
/// requests by their form, JSON-protocol requests by `X-Amz-Target`, content type and body),
/// and every element or JSON member the decoders read from the answers is checked against
/// the operation's output shape in AWS's model with botocore (`Tests/Fixtures/model_outputs.py`).
///
/// The list of actions is read from the clients' sources: a new `call("Action", …)` that
/// this test does not send fails it, so no action reaches users unchecked.
@Suite struct ResponseModelTests {
  /// The actions the clients' sources name in `call`, `callUnsigned`, `paginate` and
  /// `stateChange`.
  static func actionsInSources() throws -> Set<String> {
    let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("../../Sources/KilnAWS").standardizedFileURL
    let pattern = try Regex(#"\b(?:call|callUnsigned|paginate|stateChange)\("([A-Z][A-Za-z]+)""#)
    var actions: Set<String> = []
    let files = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil)
    while let file = files?.nextObject() as? URL {
      guard file.pathExtension == "swift" else { continue }
      let text = try String(contentsOf: file, encoding: .utf8)
      for match in text.matches(of: pattern) {
        if let name = match.output[1].substring { actions.insert(String(name)) }
      }
    }
    return actions
  }

  @Test func everyActionIsSentAndEveryMemberReadIsInTheModel() async throws {
    let moto = try await MotoServer(checkSignatures: false)
    let credentials = StaticCredentialsProvider(SigV4.Credentials(accessKeyID: moto.accessKeyID, secretAccessKey: moto.secretAccessKey))
    let retry = RetryPolicy(maxRetries: 1, baseDelay: .milliseconds(10))
    func ec2(_ region: String) throws -> EC2Client {
      try EC2Client(region: region, customEndpoint: moto.endpoint.absoluteString, http: try CurlHTTPClient(), credentials: credentials, retry: retry)
    }
    let sts = try STSClient(
      region: "us-east-1", customEndpoint: moto.endpoint.absoluteString, http: try CurlHTTPClient(), credentials: credentials, retry: retry)
    let ssm = try SSMClient(
      region: "us-east-1", customEndpoint: moto.endpoint.absoluteString, http: try CurlHTTPClient(), credentials: credentials, retry: retry)
    _ = try await moto.seed([["op": "put_parameter", "name": "/kiln/model/parameter", "value": "kiln", "type": "SecureString"]])
    let east = try ec2("us-east-1")
    let west = try ec2("us-west-2")
    let recorder = XMLReads.Recorder()
    /// Answers moto has not implemented are not this test's business; a request AWS's
    /// model refuses is.
    var refused: [String] = []
    func tolerate(_ action: String, _ body: () async throws -> Void) async {
      do { try await body() } catch let error as AWSServiceError where error.code == "KilnModelCheckFailed" {
        refused.append("\(action): \(error.message)")
      } catch {}
    }

    try await XMLReads.$recorder.withValue(recorder) {
      _ = try await sts.getCallerIdentity()
      _ = try await sts.assumeRole(STSClient.AssumeRoleRequest(roleARN: "arn:aws:iam::123456789012:role/kiln", sessionName: "kiln"))
      _ = try await sts.assumeRoleWithWebIdentity(
        roleARN: "arn:aws:iam::123456789012:role/kiln", sessionName: "kiln", token: "eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
      // moto (patched) decodes a base64 JSON document; AWS's own encoding is opaque.
      let decoded = try await sts.decodeAuthorizationMessage(
        Data(#"{"allowed":false,"context":{"action":"ec2:RunInstances"}}"#.utf8).base64EncodedString())
      #expect(DecodedAuthorizationMessage(json: decoded)?.action == "ec2:RunInstances")
      let parameter = try await ssm.getParameter(name: "/kiln/model/parameter:1", withDecryption: true)
      #expect(parameter.value == "kiln")
      _ = try await east.describeRegions()
      _ = try await east.describeImages(owners: ["099720109477"], filters: [EC2Filter("name", ["ubuntu/images/*"])], includeDeprecated: true)
      let vpc = try #require(try await east.describeVpcs(filters: [EC2Filter("is-default", ["true"])]).first)
      _ = try await east.describeSubnets(filters: [EC2Filter("vpc-id", [vpc.vpcID])])
      let publicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl kiln"
      _ = try await east.importKeyPair(name: "kiln-model-imported", publicKey: publicKey, tags: [EC2Tag("kiln:run", "model")])
      _ = try await east.createKeyPair(name: "kiln-model-created", type: "ed25519", tags: [EC2Tag("kiln:run", "model")])
      _ = try await east.describeKeyPairs(names: ["kiln-model-imported"], includePublicKey: true)
      let group = try await east.createSecurityGroup(name: "kiln_model", description: "kiln", vpcID: vpc.vpcID, tags: [EC2Tag("kiln:run", "model")])
      try await east.authorizeSecurityGroupIngress(groupID: group, port: 22, cidrs: ["203.0.113.0/24"])
      _ = try await east.describeSecurityGroups(groupIDs: [group])

      var run = EC2Client.RunInstancesRequest(imageID: "ami-785db401", instanceType: "t3.micro")
      run.keyName = "kiln-model-imported"
      run.tagSpecifications = [("instance", [EC2Tag("kiln:run", "model")]), ("volume", [EC2Tag("kiln:run", "model")])]
      let instance = try #require(try await east.runInstances(run).first)
      _ = try await east.describeInstances(instanceIDs: [instance.instanceID])
      _ = try await east.describeInstanceStatus(instanceIDs: [instance.instanceID])
      _ = try await east.describeSpotInstanceRequests(filters: [EC2Filter("tag:kiln:run", ["model"])])
      _ = try await east.getConsoleOutput(instanceID: instance.instanceID)
      _ = try await east.describeVolumes(filters: [EC2Filter("attachment.instance-id", [instance.instanceID])])
      try await east.stopInstances([instance.instanceID])
      try await east.modifyInstanceAttribute(instanceID: instance.instanceID, enaSupport: true)

      var create = EC2Client.CreateImageRequest(instanceID: instance.instanceID, name: "kiln-model-image", description: "kiln")
      create.tagSpecifications = [("image", [EC2Tag("kiln:run", "model")])]
      let image = try await east.createImage(create)
      let snapshots = try #require(try await east.describeImages(imageIDs: [image]).first).snapshotIDs
      _ = try await east.describeSnapshots(snapshotIDs: snapshots)
      try await east.modifyImageAttribute(imageID: image, addUserIDs: ["123456789012"], description: "kiln")
      _ = try await east.describeImageAttribute(imageID: image, attribute: "launchPermission")
      _ = try await east.describeImageAttribute(imageID: image, attribute: "description")
      for snapshot in snapshots { try await east.modifySnapshotAttribute(snapshotID: snapshot, addUserIDs: ["123456789012"], addGroups: []) }
      try await east.createTags(resourceIDs: [image], tags: [EC2Tag("Component", "kubelet")])
      await tolerate("EnableImageDeprecation") { try await east.enableImageDeprecation(imageID: image, at: Date().addingTimeInterval(86_400 * 30)) }
      let copy = try await west.copyImage(
        sourceImageID: image, sourceRegion: "us-east-1", name: "kiln-model-image", imageTags: [EC2Tag("kiln:run", "model")],
        snapshotTags: [EC2Tag("kiln:run", "model")], clientToken: UUID().uuidString)
      // A protected image cannot be deregistered (this moto is the test's own: the copy stays).
      await tolerate("EnableImageDeregistrationProtection") { try await west.enableImageDeregistrationProtection(imageID: copy) }
      try await east.deregisterImage(image)
      for snapshot in snapshots { try await east.deleteSnapshot(snapshot) }

      try await east.terminateInstances([instance.instanceID])
      var extra = EC2Client.RunInstancesRequest(imageID: "ami-785db401", instanceType: "t3.micro")
      var volume = BlockDeviceMappingInput(deviceName: "/dev/sdf")
      volume.volumeSize = 1
      volume.deleteOnTermination = false
      extra.blockDevices = [volume]
      let second = try #require(try await east.runInstances(extra).first)
      try await east.terminateInstances([second.instanceID])
      for left in try await east.describeVolumes(filters: [EC2Filter("status", ["available"])]) { try await east.deleteVolume(left.volumeID) }
      try await east.deleteSecurityGroup(groupID: group)
      try await east.deleteKeyPair(name: "kiln-model-imported")
      try await east.deleteKeyPair(name: "kiln-model-created")
    }

    #expect(refused.isEmpty, "AWS's model refused: \(refused)")
    let sent = Set(moto.actions().map(\.action))
    let unsent = try Self.actionsInSources().subtracting(sent)
    #expect(unsent.isEmpty, "the clients can send these actions, which no request here sent: \(unsent.sorted())")

    let reads = recorder.recorded
    #expect(reads.count > 50, "too few reads recorded: \(reads.count)")
    let file = try Scratch.directory("kiln-model-reads").appendingPathComponent("paths.txt")
    try reads.sorted().joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
    let check = try await TestCommand.run(["python3", TestPaths.fixture("model_outputs.py").path, file.path])
    #expect(check.status == 0, "decoders read names AWS's model does not have:\n\(check.output)")
  }
}
