import Foundation
public import KilnAWS
import Synchronization

/// An in-memory EC2 account for tests of what the amazon-ebs steps call and clean up, with
/// no moto and no network: images, instances, key pairs, security groups, snapshots, volumes
/// and their tags (those of `TagSpecifications` included), per region. It answers the calls
/// of `EC2API` as EC2 does (the same error codes: `InvalidAMIID.NotFound`,
/// `InvalidGroup.NotFound`, `DependencyViolation`, …), records every call in order, and can
/// be told to refuse a call or to lose its answer.
///
/// Each region has a default VPC with three subnets and its `default` group, and the public
/// Ubuntu image moto also has (`ami-785db401`, owner 099720109477), so one template runs
/// against both (`EC2StepScenarioTests` checks they agree). The account is `accountID`.
public final class FakeEC2: Sendable {
  public static let accountID = "123456789012"
  public static let ubuntuImageID = "ami-785db401"

  /// One call as EC2 received it: its action, region and key arguments.
  public struct Call: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var region: String
    public var arguments: [String: String]
    public var description: String {
      "\(name)(\(arguments.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")))"
    }
  }

  public enum Fault: Sendable, Equatable {
    /// EC2 refuses the call (nothing is done): an `AWSServiceError` with this code.
    case refused(code: String, status: Int = 400)
    /// The call is performed, but its answer is lost: a `TransportError` (a timeout), as
    /// the client throws once its retries are spent.
    case answerLost
    /// The call is performed and its answer never comes: the call waits until cancelled.
    case answerHangs
    /// The call is performed and its answer is lost (a 5xx or a dropped connection after EC2
    /// acted), so the client sends it again, as its automatic retry does: the resend is a
    /// second call, and its answer (a `…Duplicate` refusal where EC2 has no idempotency
    /// token) is what the caller gets.
    case answerLostAndResent
  }

  /// How many later calls in its region each change of state takes (time passes with each
  /// call): 0, it is done by the next call (an instance launched is running when next
  /// described); k, it is seen by the (k+1)th call after.
  public struct Timing: Sendable {
    public var pollsToRun = 0
    public var pollsToStop = 0
    public var pollsToTerminate = 0
    public var pollsToAvailable = 0
    public init(pollsToRun: Int = 0, pollsToStop: Int = 0, pollsToTerminate: Int = 0, pollsToAvailable: Int = 0) {
      self.pollsToRun = pollsToRun
      self.pollsToStop = pollsToStop
      self.pollsToTerminate = pollsToTerminate
      self.pollsToAvailable = pollsToAvailable
    }
  }

  private let world: Mutex<World>

  public init(regions: [String] = ["us-east-1", "us-west-2"], timing: Timing = Timing()) {
    world = Mutex(World(regions: regions, timing: timing))
  }

  /// The client for `region` (any region of `init`'s list).
  public func client(_ region: String) -> any EC2API { Client(fake: self, region: region) }

  /// The calls received so far, in order.
  public var calls: [Call] { world.withLock { $0.calls } }

  /// Refuses, or loses the answer of, the `index`th call (1-based, counted over all regions).
  public func fail(call index: Int, with fault: Fault) { world.withLock { $0.faults.append((.index(index), fault)) } }

  /// Refuses, or loses the answer of, the first call named `name` from now on.
  public func fail(first name: String, with fault: Fault) { world.withLock { $0.faults.append((.firstNamed(name), fault)) } }

  /// Refuses spot launches in `zones` for capacity, and leaves the launch's Spot Instance
  /// request open, as a request EC2 holds for capacity stays ("capacity-not-available", state
  /// open, in the EC2 User Guide's "State changes for a Spot request"): the worst case a
  /// capacity refusal of a spot RunInstances can leave.
  public func refuseSpotLeavingRequestsOpen(in zones: Set<String>) { world.withLock { $0.noSpotCapacity = zones } }

  /// What a build may leave: instances not terminated, key pairs, security groups other
  /// than `default`, AMIs and snapshots the account owns, volumes.
  public var leftovers: [String] {
    world.withLock { w in
      w.instances.values.filter { $0.value.state != "terminated" }.map { "instance \($0.value.instanceID) \($0.value.state) in \($0.region)" }
        + w.keyPairs.values.map { "key pair \($0.value.keyName) in \($0.region)" }
        + w.groups.values.filter { $0.value.groupName != "default" }.map { "security group \($0.value.groupID) in \($0.region)" }
        + w.images.values.filter { $0.value.ownerID == Self.accountID }.map { "AMI \($0.value.imageID) \($0.value.name) in \($0.region)" }
        + w.snapshots.values.filter { $0.value.ownerID == Self.accountID }.map { "snapshot \($0.value.snapshotID) in \($0.region)" }
        + w.volumes.values.map { "volume \($0.value.volumeID) \($0.value.state) in \($0.region)" }
        + w.spotRequests.values.filter { $0.value.state == "open" }.map { "spot request \($0.value.requestID) open in \($0.region)" }
    }.sorted()
  }

  /// The account's own AMIs in `region`, as DescribeImages would list them.
  public func ownedImages(in region: String) -> [EC2Image] {
    world.withLock { w in w.images.values.filter { $0.region == region && $0.value.ownerID == Self.accountID }.map(\.value) }
      .sorted { $0.imageID < $1.imageID }
  }

  // MARK: - The state

  /// A resource and the region it is in.
  struct Held<Value: Sendable>: Sendable {
    var region: String
    var value: Value
  }

  enum Match: Sendable {
    case index(Int)
    case firstNamed(String)
  }

  /// A refusal, turned into an `AWSServiceError` naming the call.
  struct Refusal: Error {
    var code: String
    var message: String
    init(_ code: String, _ message: String) {
      self.code = code
      self.message = message
    }
  }

  struct World: Sendable {
    var regions: [String]
    var timing: Timing
    var calls: [Call] = []
    var faults: [(Match, Fault)] = []
    var counter = 0
    var instances: [String: Held<EC2Instance>] = [:]
    /// Instance id → the state it is going to and the looks left before it is there.
    var transitions: [String: (target: String, looks: Int)] = [:]
    /// Volume id → the instance and whether it goes with it.
    var attachments: [String: (instanceID: String, deleteOnTermination: Bool)] = [:]
    /// RunInstances' and CopyImage's idempotency tokens: region/token → what the first call made.
    var clientTokens: [String: String] = [:]
    var images: [String: Held<EC2Image>] = [:]
    var imageLooks: [String: Int] = [:]
    var keyPairs: [String: Held<EC2KeyPair>] = [:]
    var groups: [String: Held<EC2SecurityGroup>] = [:]
    var vpcs: [String: Held<EC2VPC>] = [:]
    var subnets: [String: Held<EC2Subnet>] = [:]
    var snapshots: [String: Held<EC2Snapshot>] = [:]
    var volumes: [String: Held<EC2Volume>] = [:]
    var spotRequests: [String: Held<EC2SpotInstanceRequest>] = [:]
    /// Zones where a spot launch is refused and leaves its request open.
    var noSpotCapacity: Set<String> = []

    init(regions: [String], timing: Timing) {
      self.regions = regions
      self.timing = timing
      for region in regions {
        let vpc = newID("vpc")
        vpcs[vpc] = Held(region: region, value: EC2VPC(vpcID: vpc, isDefault: true))
        for zone in ["a", "b", "c"] {
          let subnet = newID("subnet")
          subnets[subnet] = Held(
            region: region, value: EC2Subnet(subnetID: subnet, vpcID: vpc, availabilityZone: region + zone, defaultForAZ: true))
        }
        let group = newID("sg")
        groups[group] = Held(
          region: region, value: EC2SecurityGroup(groupID: group, groupName: "default", vpcID: vpc, description: "default VPC security group"))
      }
      // A public image, listed in every region (see `inRegion`).
      images[FakeEC2.ubuntuImageID] = Held(
        region: "",
        value: EC2Image(
          imageID: FakeEC2.ubuntuImageID, name: "ubuntu/images/hvm-ssd/ubuntu-xenial-16.04-amd64-server-20170721",
          description: "Canonical, Ubuntu, 16.04 LTS, amd64 xenial image build on 2017-07-21", state: "available", ownerID: "099720109477",
          creationDate: "2017-07-21T00:00:00.000Z",
          blockDevices: [
            EC2BlockDevice(deviceName: "/dev/sda1", snapshotID: "snap-ubuntu", volumeSize: 8, volumeType: "gp2", deleteOnTermination: true)
          ]))
    }

    /// A moment passes in `region`: instances and images move on to the state they are going to.
    mutating func advance(_ region: String) {
      for (id, (target, looks)) in transitions where instances[id]?.region == region {
        if looks == 0 {
          instances[id]?.value.state = target
          transitions[id] = nil
        } else {
          transitions[id] = (target, looks - 1)
        }
      }
      for (id, looks) in imageLooks where images[id]?.region == region {
        if looks == 0 {
          images[id]?.value.state = "available"
          imageLooks[id] = nil
        } else {
          imageLooks[id] = looks - 1
        }
      }
    }

    /// `prefix-` and 17 hex digits, in creation order.
    mutating func newID(_ prefix: String) -> String {
      counter += 1
      let hex = String(counter, radix: 16)
      return "\(prefix)-\(String(repeating: "0", count: 17 - hex.count))\(hex)"
    }

    func inRegion<Value>(_ table: [String: Held<Value>], _ region: String) -> [Value] {
      table.filter { $0.value.region == region || $0.key == FakeEC2.ubuntuImageID }.sorted { $0.key < $1.key }.map(\.value.value)
    }

    /// The ids not found in `region`, refused with `code` (EC2 names them all).
    func requireAll<Value>(_ ids: [String], in table: [String: Held<Value>], _ region: String, code: String, what: String) throws {
      let missing = ids.filter { id in table[id].map { $0.region == region || id == FakeEC2.ubuntuImageID } != true }
      if !missing.isEmpty {
        throw Refusal(code, "The \(what) '\(missing.joined(separator: ", "))' does not exist")
      }
    }
  }

  /// Records the call, applies a fault aimed at it, and otherwise performs `body`.
  func perform<T: Sendable>(
    _ name: String, _ region: String, _ arguments: [String: String], _ body: (inout World) throws -> T
  ) async throws -> T {
    let (fault, result, index): (Fault?, Result<T, AWSServiceError>?, Int) = world.withLock { w in
      w.calls.append(Call(name: name, region: region, arguments: arguments))
      w.advance(region)
      let index = w.calls.count
      var fault: Fault?
      if let position = w.faults.firstIndex(where: { match, _ in
        switch match {
        case .index(let n): n == index
        case .firstNamed(let wanted): wanted == name
        }
      }) {
        fault = w.faults.remove(at: position).1
      }
      if case .refused = fault { return (fault, nil, index) }
      func attempt(_ index: Int) -> Result<T, AWSServiceError> {
        do {
          return .success(try body(&w))
        } catch let refusal as Refusal {
          return .failure(
            AWSServiceError(service: "ec2", action: name, status: 400, code: refusal.code, message: refusal.message, requestID: "fake-\(index)"))
        } catch {
          return .failure(
            AWSServiceError(service: "ec2", action: name, status: 500, code: "InternalError", message: "\(error)", requestID: "fake-\(index)"))
        }
      }
      let first = attempt(index)
      guard fault == .answerLostAndResent else { return (fault, first, index) }
      // The first answer is lost; the same request again.
      w.calls.append(Call(name: name, region: region, arguments: arguments))
      w.advance(region)
      return (nil, attempt(w.calls.count), w.calls.count)
    }
    switch fault {
    case .refused(let code, let status):
      throw AWSServiceError(
        service: "ec2", action: name, status: status, code: code, message: "refused by the test's fault", requestID: "fake-\(index)")
    case .answerLost:
      throw TransportError(
        kind: .timeout, code: 28, message: "Operation timed out (the fake performed it and lost the answer)",
        url: "https://ec2.\(region).amazonaws.com/", action: "EC2 \(name)")
    case .answerHangs:
      try await Task.sleep(for: .seconds(24 * 3600))
      throw CancellationError()
    case nil, .answerLostAndResent:
      return try result!.get()
    }
  }

  // MARK: - Filters

  /// Whether `filters` all match a resource with `attributes` and `tags`; an unknown filter
  /// name is refused, as EC2 does.
  static func matches(_ filters: [EC2Filter], _ attributes: [String: [String]], tags: [EC2Tag]) throws -> Bool {
    for filter in filters {
      let values: [String]
      if filter.name.hasPrefix("tag:") {
        let key = String(filter.name.dropFirst(4))
        values = tags.filter { $0.key == key }.map(\.value)
      } else if filter.name == "tag-key" {
        values = tags.map(\.key)
      } else if let known = attributes[filter.name] {
        values = known
      } else {
        throw Refusal("InvalidParameterValue", "The filter '\(filter.name)' is invalid")
      }
      guard values.contains(where: { value in filter.values.contains { glob($0, value) } }) else { return false }
    }
    return true
  }

  /// EC2's filter wildcards: `*` any run of characters, `?` one.
  static func glob(_ pattern: String, _ text: String) -> Bool {
    func match(_ p: Substring, _ t: Substring) -> Bool {
      guard let first = p.first else { return t.isEmpty }
      if first == "*" { return match(p.dropFirst(), t) || (!t.isEmpty && match(p, t.dropFirst())) }
      guard let head = t.first, first == "?" || first == head else { return false }
      return match(p.dropFirst(), t.dropFirst())
    }
    return match(Substring(pattern), Substring(text))
  }

  static func tags(_ specifications: [(resourceType: String, tags: [EC2Tag])], for type: String) -> [EC2Tag] {
    specifications.filter { $0.resourceType == type }.flatMap(\.tags)
  }

  /// The resource types a call's TagSpecifications tag, as a call argument ("instance,volume"):
  /// those with tags, as `EC2Client` sends them.
  static func types(_ specifications: [(resourceType: String, tags: [EC2Tag])]) -> String {
    specifications.filter { !$0.tags.isEmpty }.map(\.resourceType).joined(separator: ",")
  }

  static func merge(_ tags: [EC2Tag], into existing: inout [EC2Tag]) {
    for tag in tags {
      existing.removeAll { $0.key == tag.key }
      existing.append(tag)
    }
  }
}

// MARK: - The calls

extension FakeEC2 {
  struct Client: EC2API {
    let fake: FakeEC2
    let region: String

    private func perform<T: Sendable>(_ name: String, _ arguments: [String: String] = [:], _ body: (inout World) throws -> T) async throws -> T {
      try await fake.perform(name, region, arguments, body)
    }

    // Regions, images

    func describeRegions(names: [String]) async throws -> [EC2Region] {
      try await perform("DescribeRegions") { _ in
        let known = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"]
        return known.filter { names.isEmpty || names.contains($0) }.map { EC2Region(name: $0, endpoint: "ec2.\($0).amazonaws.com") }
      }
    }

    func describeImages(imageIDs: [String], owners: [String], filters: [EC2Filter], includeDeprecated: Bool?) async throws -> [EC2Image] {
      let region = self.region
      return try await perform("DescribeImages", ["ImageId": imageIDs.joined(separator: ","), "Owner": owners.joined(separator: ",")]) { w in
        for id in imageIDs where !id.hasPrefix("ami-") {
          throw Refusal("InvalidAMIID.Malformed", "Invalid id: \"\(id)\" (expecting \"ami-...\")")
        }
        try w.requireAll(imageIDs, in: w.images, region, code: "InvalidAMIID.NotFound", what: "image id")
        return try w.inRegion(w.images, region).filter { image in
          guard imageIDs.isEmpty || imageIDs.contains(image.imageID) else { return false }
          let ownerOK = owners.isEmpty || owners.contains { $0 == image.ownerID || ($0 == "self" && image.ownerID == FakeEC2.accountID) }
          let attributes = [
            "name": [image.name], "state": [image.state], "owner-id": [image.ownerID], "image-id": [image.imageID],
            "virtualization-type": [image.virtualizationType], "root-device-type": [image.rootDeviceType],
            "architecture": [image.architecture],
          ]
          return try ownerOK && FakeEC2.matches(filters, attributes, tags: image.tags)
        }
      }
    }

    func createImage(_ request: EC2Client.CreateImageRequest) async throws -> String {
      let region = self.region
      let arguments = ["InstanceId": request.instanceID, "Name": request.name, "TagSpecifications": FakeEC2.types(request.tagSpecifications)]
      return try await perform("CreateImage", arguments) { w in
        guard let instance = w.instances[request.instanceID], instance.region == region else {
          throw Refusal("InvalidInstanceID.NotFound", "The instance ID '\(request.instanceID)' does not exist")
        }
        guard ["running", "stopped"].contains(instance.value.state) else {
          throw Refusal("InvalidParameterValue", "Instance '\(request.instanceID)' is not in state 'running' or 'stopped'")
        }
        if let taken = w.inRegion(w.images, region).first(where: { $0.ownerID == FakeEC2.accountID && $0.name == request.name }) {
          throw Refusal("InvalidAMIName.Duplicate", "AMI name \(request.name) is already in use by AMI \(taken.imageID)")
        }
        var devices: [EC2BlockDevice] = []
        for device in instance.value.blockDevices {
          guard let volumeID = device.volumeID, let volume = w.volumes[volumeID] else { continue }
          let snapshot = w.newID("snap")
          w.snapshots[snapshot] = Held(
            region: region,
            value: EC2Snapshot(
              snapshotID: snapshot, volumeID: volumeID, state: "completed", progress: "100%", ownerID: FakeEC2.accountID,
              tags: FakeEC2.tags(request.tagSpecifications, for: "snapshot")))
          devices.append(
            EC2BlockDevice(
              deviceName: device.deviceName, snapshotID: snapshot, volumeSize: volume.value.size, volumeType: volume.value.volumeType,
              deleteOnTermination: true))
        }
        let id = w.newID("ami")
        w.images[id] = Held(
          region: region,
          value: EC2Image(
            imageID: id, name: request.name, description: request.description ?? "", state: "pending", ownerID: FakeEC2.accountID,
            creationDate: Date().formatted(.iso8601), blockDevices: devices, tags: FakeEC2.tags(request.tagSpecifications, for: "image")))
        w.imageLooks[id] = w.timing.pollsToAvailable
        return id
      }
    }

    func copyImage(
      sourceImageID: String, sourceRegion: String, name: String, description: String?, encrypted: Bool?, kmsKeyID: String?,
      imageTags: [EC2Tag], snapshotTags: [EC2Tag], snapshotCopyDurationMinutes: Int?, clientToken: String?
    ) async throws -> String {
      let region = self.region
      let arguments = [
        "SourceImageId": sourceImageID, "SourceRegion": sourceRegion, "Name": name,
        "TagSpecifications": FakeEC2.types([("image", imageTags), ("snapshot", snapshotTags)]),
      ]
      return try await perform("CopyImage", arguments) { w in
        if let clientToken, let id = w.clientTokens[region + "/" + clientToken] { return id }
        guard let source = w.images[sourceImageID], source.region == sourceRegion else {
          throw Refusal("InvalidAMIID.NotFound", "The image id '[\(sourceImageID)]' does not exist")
        }
        var devices = source.value.blockDevices
        for index in devices.indices where devices[index].snapshotID != nil {
          let snapshot = w.newID("snap")
          w.snapshots[snapshot] = Held(
            region: region,
            value: EC2Snapshot(
              snapshotID: snapshot, volumeID: "vol-ffffffff", state: "completed", progress: "100%", ownerID: FakeEC2.accountID, tags: snapshotTags))
          devices[index].snapshotID = snapshot
        }
        let id = w.newID("ami")
        w.images[id] = Held(
          region: region,
          value: EC2Image(
            imageID: id, name: name, description: description ?? "", state: "pending", ownerID: FakeEC2.accountID,
            creationDate: Date().formatted(.iso8601), blockDevices: devices, tags: imageTags))
        w.imageLooks[id] = w.timing.pollsToAvailable
        if let clientToken { w.clientTokens[region + "/" + clientToken] = id }
        return id
      }
    }

    func deregisterImage(_ imageID: String) async throws {
      let region = self.region
      try await perform("DeregisterImage", ["ImageId": imageID]) { w in
        guard let image = w.images[imageID], image.region == region, image.value.ownerID == FakeEC2.accountID else {
          throw Refusal("InvalidAMIID.NotFound", "The image id '[\(imageID)]' does not exist")
        }
        w.images[imageID] = nil
        w.imageLooks[imageID] = nil
      }
    }

    /// Image attribute changes: checked against the image, otherwise not kept.
    private func changeImage(_ name: String, _ imageID: String) async throws {
      let region = self.region
      try await perform(name, ["ImageId": imageID]) { w in
        guard w.images[imageID]?.region == region else { throw Refusal("InvalidAMIID.NotFound", "The image id '[\(imageID)]' does not exist") }
      }
    }

    func modifyImageAttribute(
      imageID: String, addUserIDs: [String], addGroups: [String], addOrganizationARNs: [String],
      addOrganizationalUnitARNs: [String], description: String?, productCodes: [String], imdsSupport: String?
    ) async throws {
      try await changeImage("ModifyImageAttribute", imageID)
    }

    func enableImageDeregistrationProtection(imageID: String, withCooldown: Bool) async throws {
      try await changeImage("EnableImageDeregistrationProtection", imageID)
    }

    func enableImageDeprecation(imageID: String, at date: Date) async throws {
      try await changeImage("EnableImageDeprecation", imageID)
    }

    // Instances

    func runInstances(_ r: EC2Client.RunInstancesRequest) async throws -> [EC2Instance] {
      let region = self.region
      let arguments = [
        "ImageId": r.imageID, "InstanceType": r.instanceType, "KeyName": r.keyName ?? "", "TagSpecifications": FakeEC2.types(r.tagSpecifications),
        "SubnetId": r.subnetID ?? "", "AvailabilityZone": r.availabilityZone ?? "",
      ]
      return try await perform("RunInstances", arguments) { w in
        if let token = r.clientToken, let id = w.clientTokens[region + "/" + token], let existing = w.instances[id] { return [existing.value] }
        guard let image = w.images[r.imageID], image.region == region || r.imageID == FakeEC2.ubuntuImageID else {
          throw Refusal("InvalidAMIID.NotFound", "The image id '[\(r.imageID)]' does not exist")
        }
        if let key = r.keyName, w.keyPairs[region + "/" + key] == nil {
          throw Refusal("InvalidKeyPair.NotFound", "The key pair '\(key)' does not exist")
        }
        try w.requireAll(r.securityGroupIDs, in: w.groups, region, code: "InvalidGroup.NotFound", what: "security group")
        let subnet: EC2Subnet
        if let subnetID = r.subnetID {
          guard let found = w.subnets[subnetID], found.region == region else {
            throw Refusal("InvalidSubnetID.NotFound", "The subnet ID '\(subnetID)' does not exist")
          }
          subnet = found.value
        } else {
          subnet = w.inRegion(w.subnets, region).first { r.availabilityZone == nil || $0.availabilityZone == r.availabilityZone }!
        }
        if r.spot, w.noSpotCapacity.contains(subnet.availabilityZone) {
          let request = w.newID("sir")
          w.spotRequests[request] = Held(
            region: region,
            value: EC2SpotInstanceRequest(requestID: request, state: "open", tags: FakeEC2.tags(r.tagSpecifications, for: "spot-instances-request")))
          throw Refusal("InsufficientInstanceCapacity", "There is no Spot capacity available that matches your request.")
        }
        let id = w.newID("i")
        var devices: [EC2BlockDevice] = []
        let volumeTags = FakeEC2.tags(r.tagSpecifications, for: "volume")
        let root = EC2BlockDevice(deviceName: image.value.rootDeviceName, volumeSize: 8, volumeType: "gp2", deleteOnTermination: true)
        for device in [root]
          + r.blockDevices.filter({ !$0.noDevice && $0.virtualName == nil && $0.deviceName != root.deviceName }).map({
            EC2BlockDevice(
              deviceName: $0.deviceName, volumeSize: $0.volumeSize ?? 8, volumeType: $0.volumeType ?? "gp2",
              deleteOnTermination: $0.deleteOnTermination ?? true)
          })
        {
          let volume = w.newID("vol")
          w.volumes[volume] = Held(
            region: region,
            value: EC2Volume(
              volumeID: volume, state: "in-use", size: device.volumeSize ?? 8, volumeType: device.volumeType ?? "gp2", attachedInstanceIDs: [id],
              tags: volumeTags))
          w.attachments[volume] = (id, device.deleteOnTermination ?? true)
          var attached = device
          attached.volumeID = volume
          devices.append(attached)
        }
        let securityGroups =
          r.securityGroupIDs.isEmpty
          ? w.inRegion(w.groups, region).filter { $0.groupName == "default" && $0.vpcID == subnet.vpcID }.map(\.groupID) : r.securityGroupIDs
        let instance = EC2Instance(
          instanceID: id, imageID: r.imageID, instanceType: r.instanceType, state: "pending", keyName: r.keyName,
          publicIPAddress: "54.0.0.\(w.counter % 250 + 1)", privateIPAddress: "172.31.0.\(w.counter % 250 + 1)",
          subnetID: subnet.subnetID, vpcID: subnet.vpcID, availabilityZone: subnet.availabilityZone, securityGroupIDs: securityGroups,
          blockDevices: devices, tags: FakeEC2.tags(r.tagSpecifications, for: "instance"), launchTime: Date().formatted(.iso8601),
          lifecycle: r.spot ? "spot" : nil)
        w.instances[id] = Held(region: region, value: instance)
        w.transitions[id] = ("running", w.timing.pollsToRun)
        if let token = r.clientToken { w.clientTokens[region + "/" + token] = id }
        return [instance]
      }
    }

    func describeInstances(instanceIDs: [String], filters: [EC2Filter]) async throws -> [EC2Instance] {
      let region = self.region
      return try await perform("DescribeInstances", ["InstanceId": instanceIDs.joined(separator: ",")]) { w in
        try w.requireAll(instanceIDs, in: w.instances, region, code: "InvalidInstanceID.NotFound", what: "instance ID")
        return try w.inRegion(w.instances, region).filter { instance in
          guard instanceIDs.isEmpty || instanceIDs.contains(instance.instanceID) else { return false }
          let attributes = [
            "instance-state-name": [instance.state], "instance-id": [instance.instanceID], "image-id": [instance.imageID],
            "subnet-id": [instance.subnetID ?? ""], "vpc-id": [instance.vpcID ?? ""], "key-name": [instance.keyName ?? ""],
          ]
          return try FakeEC2.matches(filters, attributes, tags: instance.tags)
        }
      }
    }

    /// StopInstances and TerminateInstances: the state each instance goes through, and where
    /// it ends after `looks` Describe calls.
    private func change(_ name: String, _ ids: [String], passing: String, to target: String, looks: (Timing) -> Int) async throws -> [String: String]
    {
      let region = self.region
      return try await perform(name, ["InstanceId": ids.joined(separator: ",")]) { w in
        try w.requireAll(ids, in: w.instances, region, code: "InvalidInstanceID.NotFound", what: "instance ID")
        var states: [String: String] = [:]
        for id in ids {
          let current = w.instances[id]!.value.state
          if current == target || current == "terminated" {
            states[id] = current
            continue
          }
          if target == "stopped", current != "running" {
            throw Refusal("IncorrectInstanceState", "The instance '\(id)' is not in a state from which it can be stopped.")
          }
          w.instances[id]?.value.state = passing
          w.transitions[id] = (target, looks(w.timing))
          states[id] = passing
          if target == "terminated" {
            // The volumes go with it, or are left available, as their mapping says.
            for (volume, attachment) in w.attachments where attachment.instanceID == id {
              w.attachments[volume] = nil
              if attachment.deleteOnTermination {
                w.volumes[volume] = nil
              } else {
                w.volumes[volume]?.value.state = "available"
                w.volumes[volume]?.value.attachedInstanceIDs = []
              }
            }
          }
        }
        return states
      }
    }

    func stopInstances(_ ids: [String]) async throws -> [String: String] {
      try await change("StopInstances", ids, passing: "stopping", to: "stopped") { $0.pollsToStop }
    }

    func terminateInstances(_ ids: [String]) async throws -> [String: String] {
      try await change("TerminateInstances", ids, passing: "shutting-down", to: "terminated") { $0.pollsToTerminate }
    }

    func modifyInstanceAttribute(instanceID: String, enaSupport: Bool?, sriovNetSupport: String?) async throws {
      let region = self.region
      try await perform("ModifyInstanceAttribute", ["InstanceId": instanceID]) { w in
        try w.requireAll([instanceID], in: w.instances, region, code: "InvalidInstanceID.NotFound", what: "instance ID")
      }
    }

    // Key pairs

    private func addKeyPair(_ name: String, _ action: String, publicKey: String?, tags: [EC2Tag]) async throws -> EC2KeyPair {
      let region = self.region
      return try await perform(action, ["KeyName": name, "TagSpecifications": FakeEC2.types([("key-pair", tags)])]) { w in
        guard w.keyPairs[region + "/" + name] == nil else { throw Refusal("InvalidKeyPair.Duplicate", "The keypair '\(name)' already exists.") }
        let pair = EC2KeyPair(keyName: name, keyPairID: w.newID("key"), fingerprint: "fake:\(w.counter)", publicKey: publicKey, tags: tags)
        w.keyPairs[region + "/" + name] = Held(region: region, value: pair)
        return pair
      }
    }

    func createKeyPair(name: String, type: String?, tags: [EC2Tag]) async throws -> (keyPair: EC2KeyPair, privateKey: String) {
      let pair = try await addKeyPair(name, "CreateKeyPair", publicKey: nil, tags: tags)
      return (pair, "-----BEGIN RSA PRIVATE KEY-----\nmade by FakeEC2, not a key\n-----END RSA PRIVATE KEY-----\n")
    }

    func importKeyPair(name: String, publicKey: String, tags: [EC2Tag]) async throws -> EC2KeyPair {
      try await addKeyPair(name, "ImportKeyPair", publicKey: publicKey, tags: tags)
    }

    func deleteKeyPair(name: String) async throws {
      let region = self.region
      // EC2 answers success whether or not the key pair exists.
      try await perform("DeleteKeyPair", ["KeyName": name]) { w in w.keyPairs[region + "/" + name] = nil }
    }

    func describeKeyPairs(names: [String], filters: [EC2Filter], includePublicKey: Bool) async throws -> [EC2KeyPair] {
      let region = self.region
      return try await perform("DescribeKeyPairs", ["KeyName": names.joined(separator: ",")]) { w in
        let pairs = w.inRegion(w.keyPairs, region)
        if let missing = names.first(where: { name in !pairs.contains { $0.keyName == name } }) {
          throw Refusal("InvalidKeyPair.NotFound", "The key pair '\(missing)' does not exist")
        }
        return try pairs.filter { pair in
          guard names.isEmpty || names.contains(pair.keyName) else { return false }
          return try FakeEC2.matches(filters, ["key-name": [pair.keyName], "key-pair-id": [pair.keyPairID ?? ""]], tags: pair.tags)
        }.map { pair in
          var pair = pair
          if !includePublicKey { pair.publicKey = nil }
          return pair
        }
      }
    }

    // Security groups, network

    func createSecurityGroup(name: String, description: String, vpcID: String?, tags: [EC2Tag]) async throws -> String {
      let region = self.region
      return try await perform(
        "CreateSecurityGroup", ["GroupName": name, "VpcId": vpcID ?? "", "TagSpecifications": FakeEC2.types([("security-group", tags)])]
      ) { w in
        let vpc: String
        if let vpcID, !vpcID.isEmpty {
          guard w.vpcs[vpcID]?.region == region else { throw Refusal("InvalidVpcID.NotFound", "The vpc ID '\(vpcID)' does not exist") }
          vpc = vpcID
        } else {
          vpc = w.inRegion(w.vpcs, region).first { $0.isDefault }!.vpcID
        }
        if w.inRegion(w.groups, region).contains(where: { $0.groupName == name && $0.vpcID == vpc }) {
          throw Refusal("InvalidGroup.Duplicate", "The security group '\(name)' already exists for VPC '\(vpc)'")
        }
        let id = w.newID("sg")
        w.groups[id] = Held(region: region, value: EC2SecurityGroup(groupID: id, groupName: name, vpcID: vpc, description: description, tags: tags))
        return id
      }
    }

    func authorizeSecurityGroupIngress(groupID: String, port: Int, cidrs: [String]) async throws {
      let region = self.region
      try await perform("AuthorizeSecurityGroupIngress", ["GroupId": groupID, "Port": "\(port)", "Cidr": cidrs.joined(separator: ",")]) { w in
        try w.requireAll([groupID], in: w.groups, region, code: "InvalidGroup.NotFound", what: "security group")
        if w.groups[groupID]!.value.ingressPorts.contains(port) {
          throw Refusal(
            "InvalidPermission.Duplicate",
            "the specified rule \"peer: \(cidrs.first ?? ""), TCP, from port: \(port), to port: \(port), ALLOW\" already exists")
        }
        w.groups[groupID]?.value.ingressPorts.append(port)
        w.groups[groupID]?.value.ingressCIDRs += cidrs
      }
    }

    func deleteSecurityGroup(groupID: String) async throws {
      let region = self.region
      try await perform("DeleteSecurityGroup", ["GroupId": groupID]) { w in
        try w.requireAll([groupID], in: w.groups, region, code: "InvalidGroup.NotFound", what: "security group")
        if w.groups[groupID]!.value.groupName == "default" {
          throw Refusal("CannotDelete", "the specified group: \"\(groupID)\" name: \"default\" cannot be deleted by a user")
        }
        if let user = w.inRegion(w.instances, region).first(where: { $0.state != "terminated" && $0.securityGroupIDs.contains(groupID) }) {
          throw Refusal("DependencyViolation", "resource \(groupID) has a dependent object (\(user.instanceID))")
        }
        w.groups[groupID] = nil
      }
    }

    func describeSecurityGroups(groupIDs: [String], filters: [EC2Filter]) async throws -> [EC2SecurityGroup] {
      let region = self.region
      return try await perform("DescribeSecurityGroups", ["GroupId": groupIDs.joined(separator: ",")]) { w in
        try w.requireAll(groupIDs, in: w.groups, region, code: "InvalidGroup.NotFound", what: "security group")
        return try w.inRegion(w.groups, region).filter { group in
          guard groupIDs.isEmpty || groupIDs.contains(group.groupID) else { return false }
          let attributes = [
            "group-name": [group.groupName], "group-id": [group.groupID], "vpc-id": [group.vpcID ?? ""], "description": [group.description],
          ]
          return try FakeEC2.matches(filters, attributes, tags: group.tags)
        }
      }
    }

    func describeSubnets(subnetIDs: [String], filters: [EC2Filter]) async throws -> [EC2Subnet] {
      let region = self.region
      return try await perform("DescribeSubnets", ["SubnetId": subnetIDs.joined(separator: ",")]) { w in
        try w.requireAll(subnetIDs, in: w.subnets, region, code: "InvalidSubnetID.NotFound", what: "subnet ID")
        return try w.inRegion(w.subnets, region).filter { subnet in
          guard subnetIDs.isEmpty || subnetIDs.contains(subnet.subnetID) else { return false }
          let attributes = [
            "subnet-id": [subnet.subnetID], "vpc-id": [subnet.vpcID], "availability-zone": [subnet.availabilityZone],
            "state": [subnet.state], "default-for-az": ["\(subnet.defaultForAZ)"],
          ]
          return try FakeEC2.matches(filters, attributes, tags: [])
        }
      }
    }

    func describeVpcs(vpcIDs: [String], filters: [EC2Filter]) async throws -> [EC2VPC] {
      let region = self.region
      return try await perform("DescribeVpcs", ["VpcId": vpcIDs.joined(separator: ",")]) { w in
        try w.requireAll(vpcIDs, in: w.vpcs, region, code: "InvalidVpcID.NotFound", what: "vpc ID")
        return try w.inRegion(w.vpcs, region).filter { vpc in
          guard vpcIDs.isEmpty || vpcIDs.contains(vpc.vpcID) else { return false }
          return try FakeEC2.matches(filters, ["vpc-id": [vpc.vpcID], "is-default": ["\(vpc.isDefault)"], "state": [vpc.state]], tags: [])
        }
      }
    }

    // Snapshots, volumes, tags

    func describeSnapshots(snapshotIDs: [String], owners: [String], filters: [EC2Filter]) async throws -> [EC2Snapshot] {
      let region = self.region
      return try await perform("DescribeSnapshots", ["SnapshotId": snapshotIDs.joined(separator: ","), "Owner": owners.joined(separator: ",")]) { w in
        try w.requireAll(snapshotIDs, in: w.snapshots, region, code: "InvalidSnapshot.NotFound", what: "snapshot")
        return try w.inRegion(w.snapshots, region).filter { snapshot in
          guard snapshotIDs.isEmpty || snapshotIDs.contains(snapshot.snapshotID) else { return false }
          let ownerOK = owners.isEmpty || owners.contains { $0 == snapshot.ownerID || ($0 == "self" && snapshot.ownerID == FakeEC2.accountID) }
          return try ownerOK
            && FakeEC2.matches(
              filters, ["status": [snapshot.state], "snapshot-id": [snapshot.snapshotID], "volume-id": [snapshot.volumeID]], tags: snapshot.tags)
        }
      }
    }

    func deleteSnapshot(_ snapshotID: String) async throws {
      let region = self.region
      try await perform("DeleteSnapshot", ["SnapshotId": snapshotID]) { w in
        try w.requireAll([snapshotID], in: w.snapshots, region, code: "InvalidSnapshot.NotFound", what: "snapshot")
        if let user = w.images.values.first(where: { $0.value.snapshotIDs.contains(snapshotID) }) {
          throw Refusal("InvalidSnapshot.InUse", "The snapshot \(snapshotID) is currently in use by \(user.value.imageID)")
        }
        w.snapshots[snapshotID] = nil
      }
    }

    func modifySnapshotAttribute(snapshotID: String, addUserIDs: [String], addGroups: [String]) async throws {
      let region = self.region
      try await perform("ModifySnapshotAttribute", ["SnapshotId": snapshotID]) { w in
        try w.requireAll([snapshotID], in: w.snapshots, region, code: "InvalidSnapshot.NotFound", what: "snapshot")
      }
    }

    func describeVolumes(volumeIDs: [String], filters: [EC2Filter]) async throws -> [EC2Volume] {
      let region = self.region
      return try await perform("DescribeVolumes", ["VolumeId": volumeIDs.joined(separator: ",")]) { w in
        try w.requireAll(volumeIDs, in: w.volumes, region, code: "InvalidVolume.NotFound", what: "volume")
        return try w.inRegion(w.volumes, region).filter { volume in
          guard volumeIDs.isEmpty || volumeIDs.contains(volume.volumeID) else { return false }
          return try FakeEC2.matches(filters, ["status": [volume.state], "volume-id": [volume.volumeID]], tags: volume.tags)
        }
      }
    }

    func deleteVolume(_ volumeID: String) async throws {
      let region = self.region
      try await perform("DeleteVolume", ["VolumeId": volumeID]) { w in
        try w.requireAll([volumeID], in: w.volumes, region, code: "InvalidVolume.NotFound", what: "volume")
        if w.volumes[volumeID]!.value.state == "in-use" {
          throw Refusal(
            "VolumeInUse", "Volume \(volumeID) is currently attached to \(w.volumes[volumeID]!.value.attachedInstanceIDs.joined(separator: ", "))")
        }
        w.volumes[volumeID] = nil
      }
    }

    // Spot Instance requests

    func describeSpotInstanceRequests(filters: [EC2Filter]) async throws -> [EC2SpotInstanceRequest] {
      let region = self.region
      return try await perform("DescribeSpotInstanceRequests") { w in
        try w.inRegion(w.spotRequests, region).filter { request in
          try FakeEC2.matches(filters, ["state": [request.state], "spot-instance-request-id": [request.requestID]], tags: request.tags)
        }
      }
    }

    func cancelSpotInstanceRequests(_ requestIDs: [String]) async throws {
      guard !requestIDs.isEmpty else { return }
      let region = self.region
      try await perform("CancelSpotInstanceRequests", ["SpotInstanceRequestId": requestIDs.joined(separator: ",")]) { w in
        try w.requireAll(requestIDs, in: w.spotRequests, region, code: "InvalidSpotInstanceRequestID.NotFound", what: "spot instance request")
        for id in requestIDs { w.spotRequests[id]?.value.state = "cancelled" }
      }
    }

    func createTags(resourceIDs: [String], tags: [EC2Tag]) async throws {
      // As EC2Client: nothing is sent without resources or tags.
      guard !tags.isEmpty, !resourceIDs.isEmpty else { return }
      let region = self.region
      try await perform(
        "CreateTags", ["ResourceId": resourceIDs.joined(separator: ","), "Tags": tags.map { "\($0.key)=\($0.value)" }.joined(separator: ",")]
      ) { w in
        for id in resourceIDs {
          switch id.split(separator: "-").first {
          case "i":
            try w.requireAll([id], in: w.instances, region, code: "InvalidInstanceID.NotFound", what: "instance ID")
            FakeEC2.merge(tags, into: &w.instances[id]!.value.tags)
          case "ami":
            try w.requireAll([id], in: w.images, region, code: "InvalidAMIID.NotFound", what: "image id")
            FakeEC2.merge(tags, into: &w.images[id]!.value.tags)
          case "snap":
            try w.requireAll([id], in: w.snapshots, region, code: "InvalidSnapshot.NotFound", what: "snapshot")
            FakeEC2.merge(tags, into: &w.snapshots[id]!.value.tags)
          case "vol":
            try w.requireAll([id], in: w.volumes, region, code: "InvalidVolume.NotFound", what: "volume")
            FakeEC2.merge(tags, into: &w.volumes[id]!.value.tags)
          case "sg":
            try w.requireAll([id], in: w.groups, region, code: "InvalidGroup.NotFound", what: "security group")
            FakeEC2.merge(tags, into: &w.groups[id]!.value.tags)
          default:
            throw Refusal("InvalidID", "The ID '\(id)' is not valid")
          }
        }
      }
    }
  }
}
