public import Foundation

/// The EC2 actions Kiln's builders use, each with typed inputs and outputs, over one signed
/// Query API path (`AWSQueryClient`). List calls follow `NextToken` until the end.
public struct EC2Client: Sendable {
  public static let apiVersion = "2016-11-15"
  public let query: AWSQueryClient
  public var region: String { query.region }

  public init(query: AWSQueryClient) { self.query = query }

  /// A client for `region` (at `customEndpoint` when given) with the shared rate limiter of
  /// the account and region; `log` hears its retries, and `authorizationDecoder` (STS) decodes
  /// the encoded message of an `UnauthorizedOperation`.
  public init(
    region: String, customEndpoint: String? = nil, variant: EndpointVariant = EndpointVariant(), http: any HTTPClient,
    credentials: any CredentialsProvider,
    retry: RetryPolicy = RetryPolicy(), limiterKey: String? = nil, log: AWSClientLog? = nil,
    authorizationDecoder: (any AuthorizationMessageDecoder)? = nil
  ) throws {
    self.query = try AWSQueryClient(
      service: "ec2", apiVersion: Self.apiVersion, region: region, customEndpoint: customEndpoint, variant: variant, http: http,
      credentials: credentials, retry: retry, limiter: limiterKey.map { RateLimiter.shared(for: "\($0)/\(region)") }, log: log,
      authorizationDecoder: authorizationDecoder)
  }

  /// Calls a paginated Describe action and collects `itemsKey` items from every page.
  func paginate<T>(_ action: String, _ parameters: QueryParameters, itemsKey: String, _ decode: (XMLElementNode) -> T) async throws -> [T] {
    var results: [T] = []
    var token: String?
    repeat {
      var page = parameters
      page.add("NextToken", token)
      let response = try await query.call(action, page)
      results += response.items(itemsKey).map(decode)
      token = response.string("nextToken").flatMap { $0.isEmpty ? nil : $0 }
    } while token != nil
    return results
  }

  // MARK: - Regions, images

  public func describeRegions(names: [String] = []) async throws -> [EC2Region] {
    var p = QueryParameters()
    p.add(list: "RegionName", names)
    return try await query.call("DescribeRegions", p).items("regionInfo").map {
      EC2Region(name: $0.string("regionName") ?? "", endpoint: $0.string("regionEndpoint") ?? "")
    }
  }

  public func describeImages(imageIDs: [String] = [], owners: [String] = [], filters: [EC2Filter] = [], includeDeprecated: Bool? = nil) async throws
    -> [EC2Image]
  {
    var p = QueryParameters()
    p.add(list: "ImageId", imageIDs)
    p.add(list: "Owner", owners)
    p.add(filters: filters)
    p.add("IncludeDeprecated", includeDeprecated)
    return try await paginate("DescribeImages", p, itemsKey: "imagesSet", EC2Image.init)
  }

  public struct CreateImageRequest: Sendable {
    public var instanceID: String
    public var name: String
    public var description: String?
    public var noReboot: Bool?
    public var blockDevices: [BlockDeviceMappingInput] = []
    public var tagSpecifications: [(resourceType: String, tags: [EC2Tag])] = []

    public init(instanceID: String, name: String, description: String? = nil, noReboot: Bool? = nil) {
      self.instanceID = instanceID
      self.name = name
      self.description = description
      self.noReboot = noReboot
    }
  }

  public func createImage(_ request: CreateImageRequest) async throws -> String {
    var p = QueryParameters()
    p.add("InstanceId", request.instanceID)
    p.add("Name", request.name)
    p.add("Description", request.description)
    p.add("NoReboot", request.noReboot)
    BlockDeviceMappingInput.add(request.blockDevices, to: &p)
    p.add(tagSpecifications: request.tagSpecifications)
    return try await query.call("CreateImage", p).string("imageId") ?? ""
  }

  /// Copies an AMI from `sourceRegion` into this region; the copy and its snapshots carry
  /// `imageTags` and `snapshotTags` from the moment they exist (TagSpecifications). With a
  /// `clientToken` (EC2's idempotency token), a resend of the call (a retry after a lost
  /// answer) makes no second copy: EC2 answers the first one's id.
  public func copyImage(
    sourceImageID: String, sourceRegion: String, name: String, description: String? = nil, encrypted: Bool? = nil, kmsKeyID: String? = nil,
    imageTags: [EC2Tag] = [], snapshotTags: [EC2Tag] = [], snapshotCopyDurationMinutes: Int? = nil, clientToken: String? = nil
  ) async throws -> String {
    var p = QueryParameters()
    p.add("SourceImageId", sourceImageID)
    p.add("SourceRegion", sourceRegion)
    p.add("Name", name)
    p.add("Description", description)
    p.add("Encrypted", encrypted)
    p.add("KmsKeyId", kmsKeyID.flatMap { $0.isEmpty ? nil : $0 })
    p.add("SnapshotCopyCompletionDurationMinutes", snapshotCopyDurationMinutes)
    p.add(tagSpecifications: [("image", imageTags), ("snapshot", snapshotTags)])
    p.add("ClientToken", clientToken)
    return try await query.call("CopyImage", p).string("imageId") ?? ""
  }

  public func deregisterImage(_ imageID: String) async throws {
    var p = QueryParameters()
    p.add("ImageId", imageID)
    _ = try await query.call("DeregisterImage", p)
  }

  /// The image's launch permissions (`launchPermission`) or description (`description`).
  public func describeImageAttribute(imageID: String, attribute: String) async throws -> (
    launchPermissions: [EC2LaunchPermission], description: String?
  ) {
    var p = QueryParameters()
    p.add("ImageId", imageID)
    p.add("Attribute", attribute)
    let response = try await query.call("DescribeImageAttribute", p)
    let permissions = response.items("launchPermission").map { EC2LaunchPermission(userID: $0.string("userId"), group: $0.string("group")) }
    return (permissions, response.child("description")?.string("value"))
  }

  /// Adds launch permissions for accounts, groups, organizations and OUs, sets the
  /// description or the IMDS support ("v2.0": instances launched from it require IMDSv2),
  /// or adds product codes (one kind per call).
  public func modifyImageAttribute(
    imageID: String, addUserIDs: [String] = [], addGroups: [String] = [], addOrganizationARNs: [String] = [],
    addOrganizationalUnitARNs: [String] = [], description: String? = nil, productCodes: [String] = [],
    imdsSupport: String? = nil
  ) async throws {
    var p = QueryParameters()
    p.add("ImageId", imageID)
    if let imdsSupport {
      p.add("ImdsSupport.Value", imdsSupport)
    } else if let description {
      p.add("Description.Value", description)
    } else if !productCodes.isEmpty {
      p.add(list: "ProductCode", productCodes)
    } else {
      var index = 0
      for user in addUserIDs {
        index += 1
        p.add("LaunchPermission.Add.\(index).UserId", user)
      }
      for group in addGroups {
        index += 1
        p.add("LaunchPermission.Add.\(index).Group", group)
      }
      for arn in addOrganizationARNs {
        index += 1
        p.add("LaunchPermission.Add.\(index).OrganizationArn", arn)
      }
      for arn in addOrganizationalUnitARNs {
        index += 1
        p.add("LaunchPermission.Add.\(index).OrganizationalUnitArn", arn)
      }
    }
    _ = try await query.call("ModifyImageAttribute", p)
  }

  /// `withCooldown`: after protection is disabled, the AMI stays protected for 24 hours.
  public func enableImageDeregistrationProtection(imageID: String, withCooldown: Bool = false) async throws {
    var p = QueryParameters()
    p.add("ImageId", imageID)
    p.add("WithCooldown", withCooldown ? true : nil)
    _ = try await query.call("EnableImageDeregistrationProtection", p)
  }

  public func enableImageDeprecation(imageID: String, at date: Date) async throws {
    var p = QueryParameters()
    p.add("ImageId", imageID)
    p.add("DeprecateAt", date.formatted(.iso8601))
    _ = try await query.call("EnableImageDeprecation", p)
  }

  // MARK: - Instances

  public struct RunInstancesRequest: Sendable {
    public var imageID: String
    public var instanceType: String
    public var keyName: String?
    public var securityGroupIDs: [String] = []
    public var subnetID: String?
    public var associatePublicIPAddress: Bool?
    public var userData: String?
    public var iamInstanceProfile: String?
    public var shutdownBehavior: String?
    public var availabilityZone: String?
    public var tenancy: String?
    /// `Placement.HostId` and `Placement.HostResourceGroupArn` (Dedicated Hosts).
    public var hostID: String?
    public var hostResourceGroupARN: String?
    /// `LicenseSpecification.N.LicenseConfigurationArn` (License Manager configurations).
    public var licenseConfigurationARNs: [String] = []
    /// `CreditSpecification.CpuCredits` ("unlimited" for burstable types).
    public var cpuCredits: String?
    /// `EnclaveOptions.Enabled` (AWS Nitro Enclaves).
    public var nitroEnclave: Bool?
    /// `CapacityReservationSpecification`: a preference, or a target reservation or group.
    public var capacityReservationPreference: String?
    public var capacityReservationID: String?
    public var capacityReservationGroupARN: String?
    public var ebsOptimized: Bool?
    public var blockDevices: [BlockDeviceMappingInput] = []
    public var metadataHTTPTokens: String?
    public var metadataHTTPEndpoint: String?
    public var metadataHopLimit: Int?
    public var metadataTags: String?
    /// A one-time spot instance (`InstanceMarketOptions`), at most at `spotMaxPrice` when
    /// given (else the on-demand price caps it).
    public var spot = false
    public var spotMaxPrice: String?
    public var tagSpecifications: [(resourceType: String, tags: [EC2Tag])] = []
    /// EC2's idempotency token: a resend of the same request (a retry after a lost answer)
    /// launches nothing new.
    public var clientToken: String?

    public init(imageID: String, instanceType: String) {
      self.imageID = imageID
      self.instanceType = instanceType
    }
  }

  public func runInstances(_ r: RunInstancesRequest) async throws -> [EC2Instance] {
    var p = QueryParameters()
    p.add("ImageId", r.imageID)
    p.add("InstanceType", r.instanceType)
    p.add("MinCount", 1)
    p.add("MaxCount", 1)
    p.add("KeyName", r.keyName)
    if let associate = r.associatePublicIPAddress, let subnet = r.subnetID {
      // A public address can only be asked for on a network interface.
      p.add("NetworkInterface.1.DeviceIndex", 0)
      p.add("NetworkInterface.1.SubnetId", subnet)
      p.add("NetworkInterface.1.AssociatePublicIpAddress", associate)
      p.add("NetworkInterface.1.DeleteOnTermination", true)
      p.add(list: "NetworkInterface.1.SecurityGroupId", r.securityGroupIDs)
    } else {
      p.add(list: "SecurityGroupId", r.securityGroupIDs)
      p.add("SubnetId", r.subnetID)
    }
    p.add("UserData", r.userData)
    p.add("IamInstanceProfile.Name", r.iamInstanceProfile)
    p.add("InstanceInitiatedShutdownBehavior", r.shutdownBehavior)
    p.add("Placement.AvailabilityZone", r.availabilityZone)
    p.add("Placement.Tenancy", r.tenancy)
    p.add("Placement.HostId", r.hostID)
    p.add("Placement.HostResourceGroupArn", r.hostResourceGroupARN)
    for (index, arn) in r.licenseConfigurationARNs.enumerated() {
      p.add("LicenseSpecification.\(index + 1).LicenseConfigurationArn", arn)
    }
    p.add("CreditSpecification.CpuCredits", r.cpuCredits)
    p.add("EnclaveOptions.Enabled", r.nitroEnclave)
    p.add("CapacityReservationSpecification.CapacityReservationPreference", r.capacityReservationPreference)
    p.add("CapacityReservationSpecification.CapacityReservationTarget.CapacityReservationId", r.capacityReservationID)
    p.add("CapacityReservationSpecification.CapacityReservationTarget.CapacityReservationResourceGroupArn", r.capacityReservationGroupARN)
    p.add("EbsOptimized", r.ebsOptimized)
    BlockDeviceMappingInput.add(r.blockDevices, to: &p)
    p.add("MetadataOptions.HttpTokens", r.metadataHTTPTokens)
    p.add("MetadataOptions.HttpEndpoint", r.metadataHTTPEndpoint)
    p.add("MetadataOptions.HttpPutResponseHopLimit", r.metadataHopLimit)
    p.add("MetadataOptions.InstanceMetadataTags", r.metadataTags)
    if r.spot {
      p.add("InstanceMarketOptions.MarketType", "spot")
      p.add("InstanceMarketOptions.SpotOptions.SpotInstanceType", "one-time")
      p.add("InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior", "terminate")
      p.add("InstanceMarketOptions.SpotOptions.MaxPrice", r.spotMaxPrice)
    }
    p.add(tagSpecifications: r.tagSpecifications)
    p.add("ClientToken", r.clientToken)
    return try await query.call("RunInstances", p).items("instancesSet").map(EC2Instance.init)
  }

  public func describeInstances(instanceIDs: [String] = [], filters: [EC2Filter] = []) async throws -> [EC2Instance] {
    var p = QueryParameters()
    p.add(list: "InstanceId", instanceIDs)
    p.add(filters: filters)
    let reservations = try await paginate("DescribeInstances", p, itemsKey: "reservationSet") { $0 }
    return reservations.flatMap { $0.items("instancesSet").map(EC2Instance.init) }
  }

  public func describeInstanceStatus(instanceIDs: [String], includeAll: Bool = true) async throws -> [EC2InstanceStatus] {
    var p = QueryParameters()
    p.add(list: "InstanceId", instanceIDs)
    p.add("IncludeAllInstances", includeAll)
    return try await paginate("DescribeInstanceStatus", p, itemsKey: "instanceStatusSet") {
      EC2InstanceStatus(
        instanceID: $0.string("instanceId") ?? "", state: $0.child("instanceState")?.string("name") ?? "",
        systemStatus: $0.child("systemStatus")?.string("status") ?? "", instanceStatus: $0.child("instanceStatus")?.string("status") ?? "")
    }
  }

  /// Returns each instance's new state.
  @discardableResult
  public func stopInstances(_ ids: [String]) async throws -> [String: String] {
    try await stateChange("StopInstances", ids)
  }

  @discardableResult
  public func terminateInstances(_ ids: [String]) async throws -> [String: String] {
    try await stateChange("TerminateInstances", ids)
  }

  private func stateChange(_ action: String, _ ids: [String]) async throws -> [String: String] {
    var p = QueryParameters()
    p.add(list: "InstanceId", ids)
    let response = try await query.call(action, p)
    var states: [String: String] = [:]
    for item in response.items("instancesSet") {
      states[item.string("instanceId") ?? ""] = item.child("currentState")?.string("name") ?? ""
    }
    return states
  }

  /// Sets ENA support (`ena_support`) or SR-IOV (`sriov_support`: "simple") on a stopped
  /// instance before it is imaged; one attribute per call, as EC2 requires.
  public func modifyInstanceAttribute(instanceID: String, enaSupport: Bool? = nil, sriovNetSupport: String? = nil) async throws {
    var p = QueryParameters()
    p.add("InstanceId", instanceID)
    p.add("EnaSupport.Value", enaSupport)
    p.add("SriovNetSupport.Value", sriovNetSupport)
    _ = try await query.call("ModifyInstanceAttribute", p)
  }

  /// The console output, decoded from base64 (empty when there is none yet).
  public func getConsoleOutput(instanceID: String) async throws -> String {
    var p = QueryParameters()
    p.add("InstanceId", instanceID)
    let encoded = try await query.call("GetConsoleOutput", p).string("output") ?? ""
    return Data(base64Encoded: encoded, options: .ignoreUnknownCharacters).map { String(decoding: $0, as: UTF8.self) } ?? ""
  }

  // MARK: - Key pairs

  /// Creates a key pair; returns it with the private key material AWS generated.
  public func createKeyPair(name: String, type: String? = nil, tags: [EC2Tag] = []) async throws -> (keyPair: EC2KeyPair, privateKey: String) {
    var p = QueryParameters()
    p.add("KeyName", name)
    p.add("KeyType", type)
    p.add(tagSpecifications: [("key-pair", tags)])
    let response = try await query.call("CreateKeyPair", p)
    return (EC2KeyPair(response, withPublicKey: false), response.string("keyMaterial") ?? "")
  }

  /// Imports an OpenSSH public key line (`ssh-ed25519 AAAA... comment`).
  public func importKeyPair(name: String, publicKey: String, tags: [EC2Tag] = []) async throws -> EC2KeyPair {
    var p = QueryParameters()
    p.add("KeyName", name)
    p.add("PublicKeyMaterial", Data(publicKey.utf8).base64EncodedString())
    p.add(tagSpecifications: [("key-pair", tags)])
    return EC2KeyPair(try await query.call("ImportKeyPair", p), withPublicKey: false)
  }

  public func deleteKeyPair(name: String) async throws {
    var p = QueryParameters()
    p.add("KeyName", name)
    _ = try await query.call("DeleteKeyPair", p)
  }

  public func describeKeyPairs(names: [String] = [], filters: [EC2Filter] = [], includePublicKey: Bool = false) async throws -> [EC2KeyPair] {
    var p = QueryParameters()
    p.add(list: "KeyName", names)
    p.add(filters: filters)
    if includePublicKey { p.add("IncludePublicKey", true) }
    return try await query.call("DescribeKeyPairs", p).items("keySet").map { EC2KeyPair($0, withPublicKey: true) }
  }

  // MARK: - Security groups, network

  public func createSecurityGroup(name: String, description: String, vpcID: String?, tags: [EC2Tag] = []) async throws -> String {
    var p = QueryParameters()
    p.add("GroupName", name)
    p.add("GroupDescription", description)
    p.add("VpcId", vpcID.flatMap { $0.isEmpty ? nil : $0 })
    p.add(tagSpecifications: [("security-group", tags)])
    return try await query.call("CreateSecurityGroup", p).string("groupId") ?? ""
  }

  /// Opens TCP `port` from each CIDR block (IPv4 or IPv6).
  public func authorizeSecurityGroupIngress(groupID: String, port: Int, cidrs: [String]) async throws {
    var p = QueryParameters()
    p.add("GroupId", groupID)
    p.add("IpPermissions.1.IpProtocol", "tcp")
    p.add("IpPermissions.1.FromPort", port)
    p.add("IpPermissions.1.ToPort", port)
    var v4 = 0
    var v6 = 0
    for cidr in cidrs {
      if cidr.contains(":") {
        v6 += 1
        p.add("IpPermissions.1.Ipv6Ranges.\(v6).CidrIpv6", cidr)
      } else {
        v4 += 1
        p.add("IpPermissions.1.IpRanges.\(v4).CidrIp", cidr)
      }
    }
    _ = try await query.call("AuthorizeSecurityGroupIngress", p)
  }

  public func deleteSecurityGroup(groupID: String) async throws {
    var p = QueryParameters()
    p.add("GroupId", groupID)
    _ = try await query.call("DeleteSecurityGroup", p)
  }

  public func describeSecurityGroups(groupIDs: [String] = [], filters: [EC2Filter] = []) async throws -> [EC2SecurityGroup] {
    var p = QueryParameters()
    p.add(list: "GroupId", groupIDs)
    p.add(filters: filters)
    return try await paginate("DescribeSecurityGroups", p, itemsKey: "securityGroupInfo", EC2SecurityGroup.init)
  }

  public func describeSubnets(subnetIDs: [String] = [], filters: [EC2Filter] = []) async throws -> [EC2Subnet] {
    var p = QueryParameters()
    p.add(list: "SubnetId", subnetIDs)
    p.add(filters: filters)
    return try await paginate("DescribeSubnets", p, itemsKey: "subnetSet", EC2Subnet.init)
  }

  public func describeVpcs(vpcIDs: [String] = [], filters: [EC2Filter] = []) async throws -> [EC2VPC] {
    var p = QueryParameters()
    p.add(list: "VpcId", vpcIDs)
    p.add(filters: filters)
    return try await paginate("DescribeVpcs", p, itemsKey: "vpcSet", EC2VPC.init)
  }

  // MARK: - Snapshots, volumes, tags

  public func describeSnapshots(snapshotIDs: [String] = [], owners: [String] = [], filters: [EC2Filter] = []) async throws -> [EC2Snapshot] {
    var p = QueryParameters()
    p.add(list: "SnapshotId", snapshotIDs)
    p.add(list: "Owner", owners)
    p.add(filters: filters)
    return try await paginate("DescribeSnapshots", p, itemsKey: "snapshotSet", EC2Snapshot.init)
  }

  public func deleteSnapshot(_ snapshotID: String) async throws {
    var p = QueryParameters()
    p.add("SnapshotId", snapshotID)
    _ = try await query.call("DeleteSnapshot", p)
  }

  /// Gives accounts and groups permission to create volumes from the snapshot.
  public func modifySnapshotAttribute(snapshotID: String, addUserIDs: [String], addGroups: [String]) async throws {
    var p = QueryParameters()
    p.add("SnapshotId", snapshotID)
    p.add("Attribute", "createVolumePermission")
    p.add("OperationType", "add")
    p.add(list: "UserId", addUserIDs)
    p.add(list: "UserGroup", addGroups)
    _ = try await query.call("ModifySnapshotAttribute", p)
  }

  public func describeVolumes(volumeIDs: [String] = [], filters: [EC2Filter] = []) async throws -> [EC2Volume] {
    var p = QueryParameters()
    p.add(list: "VolumeId", volumeIDs)
    p.add(filters: filters)
    return try await paginate("DescribeVolumes", p, itemsKey: "volumeSet", EC2Volume.init)
  }

  public func deleteVolume(_ volumeID: String) async throws {
    var p = QueryParameters()
    p.add("VolumeId", volumeID)
    _ = try await query.call("DeleteVolume", p)
  }

  // MARK: - Spot Instance requests

  public func describeSpotInstanceRequests(filters: [EC2Filter]) async throws -> [EC2SpotInstanceRequest] {
    var p = QueryParameters()
    p.add(filters: filters)
    return try await paginate("DescribeSpotInstanceRequests", p, itemsKey: "spotInstanceRequestSet", EC2SpotInstanceRequest.init)
  }

  public func cancelSpotInstanceRequests(_ requestIDs: [String]) async throws {
    guard !requestIDs.isEmpty else { return }
    var p = QueryParameters()
    p.add(list: "SpotInstanceRequestId", requestIDs)
    _ = try await query.call("CancelSpotInstanceRequests", p)
  }

  public func createTags(resourceIDs: [String], tags: [EC2Tag]) async throws {
    guard !tags.isEmpty, !resourceIDs.isEmpty else { return }
    var p = QueryParameters()
    p.add(list: "ResourceId", resourceIDs)
    p.add(tags: tags)
    _ = try await query.call("CreateTags", p)
  }
}

/// A block device for RunInstances or CreateImage.
public struct BlockDeviceMappingInput: Sendable, Equatable {
  public var deviceName: String
  public var noDevice = false
  public var virtualName: String?
  public var snapshotID: String?
  public var volumeSize: Int?
  public var volumeType: String?
  public var iops: Int?
  public var throughput: Int?
  public var deleteOnTermination: Bool?
  public var encrypted: Bool?
  public var kmsKeyID: String?

  public init(deviceName: String) { self.deviceName = deviceName }

  static func add(_ devices: [BlockDeviceMappingInput], to p: inout QueryParameters) {
    for (index, device) in devices.enumerated() {
      let prefix = "BlockDeviceMapping.\(index + 1)"
      p.add("\(prefix).DeviceName", device.deviceName)
      if device.noDevice {
        p.add("\(prefix).NoDevice", "")
        continue
      }
      p.add("\(prefix).VirtualName", device.virtualName)
      if device.virtualName == nil {
        p.add("\(prefix).Ebs.SnapshotId", device.snapshotID)
        p.add("\(prefix).Ebs.VolumeSize", device.volumeSize)
        p.add("\(prefix).Ebs.VolumeType", device.volumeType)
        p.add("\(prefix).Ebs.Iops", device.iops)
        p.add("\(prefix).Ebs.Throughput", device.throughput)
        p.add("\(prefix).Ebs.DeleteOnTermination", device.deleteOnTermination)
        p.add("\(prefix).Ebs.Encrypted", device.encrypted)
        p.add("\(prefix).Ebs.KmsKeyId", device.kmsKeyID)
      }
    }
  }
}
