public import Foundation

/// The EC2 calls Kiln's amazon-ebs steps and `ResourceSweep` make: `EC2Client` against AWS
/// (or moto), and an in-memory fake (`_KilnTestSupport.FakeEC2`) in tests that fail a chosen
/// call and check what the build cleans up.
///
/// Each requirement is spelled with every argument; the extension below gives the same
/// defaults `EC2Client` has, so callers write `describeImages(owners: ["self"])` on either.
/// A conforming type must implement every requirement itself: the defaulted forms forward
/// to the requirement, and would call themselves if they were its only witness.
public protocol EC2API: Sendable {
  var region: String { get }

  // Regions, images
  func describeRegions(names: [String]) async throws -> [EC2Region]
  func describeImages(imageIDs: [String], owners: [String], filters: [EC2Filter], includeDeprecated: Bool?) async throws -> [EC2Image]
  func createImage(_ request: EC2Client.CreateImageRequest) async throws -> String
  func copyImage(
    sourceImageID: String, sourceRegion: String, name: String, description: String?, encrypted: Bool?, kmsKeyID: String?,
    imageTags: [EC2Tag], snapshotTags: [EC2Tag], snapshotCopyDurationMinutes: Int?, clientToken: String?
  ) async throws -> String
  func deregisterImage(_ imageID: String) async throws
  func modifyImageAttribute(
    imageID: String, addUserIDs: [String], addGroups: [String], addOrganizationARNs: [String],
    addOrganizationalUnitARNs: [String], description: String?, productCodes: [String], imdsSupport: String?) async throws
  func enableImageDeregistrationProtection(imageID: String, withCooldown: Bool) async throws
  func enableImageDeprecation(imageID: String, at date: Date) async throws

  // Instances
  func runInstances(_ request: EC2Client.RunInstancesRequest) async throws -> [EC2Instance]
  func describeInstances(instanceIDs: [String], filters: [EC2Filter]) async throws -> [EC2Instance]
  /// Returns each instance's new state.
  @discardableResult func stopInstances(_ ids: [String]) async throws -> [String: String]
  @discardableResult func terminateInstances(_ ids: [String]) async throws -> [String: String]
  func modifyInstanceAttribute(instanceID: String, enaSupport: Bool?, sriovNetSupport: String?) async throws

  // Key pairs
  func createKeyPair(name: String, type: String?, tags: [EC2Tag]) async throws -> (keyPair: EC2KeyPair, privateKey: String)
  func importKeyPair(name: String, publicKey: String, tags: [EC2Tag]) async throws -> EC2KeyPair
  func deleteKeyPair(name: String) async throws
  func describeKeyPairs(names: [String], filters: [EC2Filter], includePublicKey: Bool) async throws -> [EC2KeyPair]

  // Security groups, network
  func createSecurityGroup(name: String, description: String, vpcID: String?, tags: [EC2Tag]) async throws -> String
  func authorizeSecurityGroupIngress(groupID: String, port: Int, cidrs: [String]) async throws
  func deleteSecurityGroup(groupID: String) async throws
  func describeSecurityGroups(groupIDs: [String], filters: [EC2Filter]) async throws -> [EC2SecurityGroup]
  func describeSubnets(subnetIDs: [String], filters: [EC2Filter]) async throws -> [EC2Subnet]
  func describeVpcs(vpcIDs: [String], filters: [EC2Filter]) async throws -> [EC2VPC]

  // Snapshots, volumes, tags
  func describeSnapshots(snapshotIDs: [String], owners: [String], filters: [EC2Filter]) async throws -> [EC2Snapshot]
  func deleteSnapshot(_ snapshotID: String) async throws
  func modifySnapshotAttribute(snapshotID: String, addUserIDs: [String], addGroups: [String]) async throws
  func describeVolumes(volumeIDs: [String], filters: [EC2Filter]) async throws -> [EC2Volume]
  func deleteVolume(_ volumeID: String) async throws

  // Spot Instance requests
  func describeSpotInstanceRequests(filters: [EC2Filter]) async throws -> [EC2SpotInstanceRequest]
  func cancelSpotInstanceRequests(_ requestIDs: [String]) async throws
  /// Sends nothing when `resourceIDs` or `tags` is empty.
  func createTags(resourceIDs: [String], tags: [EC2Tag]) async throws
}

extension EC2Client: EC2API {}

// The defaults of `EC2Client`'s methods, for callers holding `any EC2API`.
extension EC2API {
  public func describeRegions(names: [String] = []) async throws -> [EC2Region] {
    try await describeRegions(names: names)
  }

  public func describeImages(imageIDs: [String] = [], owners: [String] = [], filters: [EC2Filter] = [], includeDeprecated: Bool? = nil) async throws
    -> [EC2Image]
  {
    try await describeImages(imageIDs: imageIDs, owners: owners, filters: filters, includeDeprecated: includeDeprecated)
  }

  public func copyImage(
    sourceImageID: String, sourceRegion: String, name: String, description: String? = nil, encrypted: Bool? = nil, kmsKeyID: String? = nil,
    imageTags: [EC2Tag] = [], snapshotTags: [EC2Tag] = [], snapshotCopyDurationMinutes: Int? = nil, clientToken: String? = nil
  ) async throws -> String {
    try await copyImage(
      sourceImageID: sourceImageID, sourceRegion: sourceRegion, name: name, description: description, encrypted: encrypted,
      kmsKeyID: kmsKeyID, imageTags: imageTags, snapshotTags: snapshotTags, snapshotCopyDurationMinutes: snapshotCopyDurationMinutes,
      clientToken: clientToken)
  }

  public func modifyImageAttribute(
    imageID: String, addUserIDs: [String] = [], addGroups: [String] = [], addOrganizationARNs: [String] = [],
    addOrganizationalUnitARNs: [String] = [], description: String? = nil, productCodes: [String] = [], imdsSupport: String? = nil
  ) async throws {
    try await modifyImageAttribute(
      imageID: imageID, addUserIDs: addUserIDs, addGroups: addGroups, addOrganizationARNs: addOrganizationARNs,
      addOrganizationalUnitARNs: addOrganizationalUnitARNs, description: description, productCodes: productCodes, imdsSupport: imdsSupport)
  }

  public func describeInstances(instanceIDs: [String] = [], filters: [EC2Filter] = []) async throws -> [EC2Instance] {
    try await describeInstances(instanceIDs: instanceIDs, filters: filters)
  }

  public func modifyInstanceAttribute(instanceID: String, enaSupport: Bool? = nil, sriovNetSupport: String? = nil) async throws {
    try await modifyInstanceAttribute(instanceID: instanceID, enaSupport: enaSupport, sriovNetSupport: sriovNetSupport)
  }

  public func createKeyPair(name: String, type: String? = nil, tags: [EC2Tag] = []) async throws -> (keyPair: EC2KeyPair, privateKey: String) {
    try await createKeyPair(name: name, type: type, tags: tags)
  }

  public func importKeyPair(name: String, publicKey: String, tags: [EC2Tag] = []) async throws -> EC2KeyPair {
    try await importKeyPair(name: name, publicKey: publicKey, tags: tags)
  }

  public func describeKeyPairs(names: [String] = [], filters: [EC2Filter] = [], includePublicKey: Bool = false) async throws -> [EC2KeyPair] {
    try await describeKeyPairs(names: names, filters: filters, includePublicKey: includePublicKey)
  }

  public func createSecurityGroup(name: String, description: String, vpcID: String?, tags: [EC2Tag] = []) async throws -> String {
    try await createSecurityGroup(name: name, description: description, vpcID: vpcID, tags: tags)
  }

  public func describeSecurityGroups(groupIDs: [String] = [], filters: [EC2Filter] = []) async throws -> [EC2SecurityGroup] {
    try await describeSecurityGroups(groupIDs: groupIDs, filters: filters)
  }

  public func describeSubnets(subnetIDs: [String] = [], filters: [EC2Filter] = []) async throws -> [EC2Subnet] {
    try await describeSubnets(subnetIDs: subnetIDs, filters: filters)
  }

  public func describeVpcs(vpcIDs: [String] = [], filters: [EC2Filter] = []) async throws -> [EC2VPC] {
    try await describeVpcs(vpcIDs: vpcIDs, filters: filters)
  }

  public func describeSnapshots(snapshotIDs: [String] = [], owners: [String] = [], filters: [EC2Filter] = []) async throws -> [EC2Snapshot] {
    try await describeSnapshots(snapshotIDs: snapshotIDs, owners: owners, filters: filters)
  }

  public func describeVolumes(volumeIDs: [String] = [], filters: [EC2Filter] = []) async throws -> [EC2Volume] {
    try await describeVolumes(volumeIDs: volumeIDs, filters: filters)
  }
}
