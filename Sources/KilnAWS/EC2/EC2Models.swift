/// Typed EC2 values, decoded from the Query API's XML (API version 2016-11-15).

func tags(_ node: XMLElementNode) -> [EC2Tag] {
  node.items("tagSet").map { EC2Tag($0.string("key") ?? "", $0.string("value") ?? "") }
}

public struct EC2BlockDevice: Sendable, Equatable {
  public var deviceName: String
  public var snapshotID: String?
  public var volumeID: String?
  public var volumeSize: Int?
  public var volumeType: String?
  public var deleteOnTermination: Bool?
  public var encrypted: Bool?
  public var virtualName: String?

  public init(deviceName: String, snapshotID: String? = nil, volumeID: String? = nil, volumeSize: Int? = nil, volumeType: String? = nil, deleteOnTermination: Bool? = nil, encrypted: Bool? = nil, virtualName: String? = nil) {
    self.deviceName = deviceName
    self.snapshotID = snapshotID
    self.volumeID = volumeID
    self.volumeSize = volumeSize
    self.volumeType = volumeType
    self.deleteOnTermination = deleteOnTermination
    self.encrypted = encrypted
    self.virtualName = virtualName
  }

  init(_ node: XMLElementNode) {
    let ebs = node.child("ebs")
    self.init(
      deviceName: node.string("deviceName") ?? "", snapshotID: ebs?.string("snapshotId"), volumeID: ebs?.string("volumeId"),
      volumeSize: ebs?.int("volumeSize"), volumeType: ebs?.string("volumeType"),
      deleteOnTermination: ebs?.bool("deleteOnTermination"), encrypted: ebs?.bool("encrypted"),
      virtualName: node.string("virtualName"))
  }
}

public struct EC2Image: Sendable, Equatable {
  public var imageID: String
  public var name: String
  public var description: String
  public var state: String
  public var ownerID: String
  public var ownerAlias: String?
  public var creationDate: String
  public var architecture: String
  public var rootDeviceType: String
  public var rootDeviceName: String
  public var virtualizationType: String
  public var enaSupport: Bool?
  public var blockDevices: [EC2BlockDevice]
  public var tags: [EC2Tag]
  public var stateReason: String?
  public var deprecationTime: String?

  init(_ node: XMLElementNode) {
    imageID = node.string("imageId") ?? ""
    name = node.string("name") ?? ""
    description = node.string("description") ?? ""
    state = node.string("imageState") ?? ""
    ownerID = node.string("imageOwnerId") ?? ""
    ownerAlias = node.string("imageOwnerAlias")
    creationDate = node.string("creationDate") ?? ""
    architecture = node.string("architecture") ?? ""
    rootDeviceType = node.string("rootDeviceType") ?? ""
    rootDeviceName = node.string("rootDeviceName") ?? ""
    virtualizationType = node.string("virtualizationType") ?? ""
    enaSupport = node.bool("enaSupport")
    blockDevices = node.items("blockDeviceMapping").map(EC2BlockDevice.init)
    tags = KilnAWS.tags(node)
    stateReason = node.child("stateReason")?.string("message")
    deprecationTime = node.string("deprecationTime")
  }

  /// Snapshot ids of the image's EBS devices.
  public var snapshotIDs: [String] { blockDevices.compactMap(\.snapshotID) }
}

public struct EC2Instance: Sendable, Equatable {
  public var instanceID: String
  public var imageID: String
  public var instanceType: String
  public var state: String
  public var stateReason: String?
  public var keyName: String?
  public var publicIPAddress: String?
  public var privateIPAddress: String?
  public var publicDNSName: String?
  public var privateDNSName: String?
  /// The instance's IPv6 address (its primary interface's first), when its subnet gives one.
  public var ipv6Address: String?
  /// `Placement.HostId`: the Dedicated Host the instance runs on.
  public var hostID: String?
  public var subnetID: String?
  public var vpcID: String?
  public var availabilityZone: String?
  public var securityGroupIDs: [String]
  public var blockDevices: [EC2BlockDevice]
  public var tags: [EC2Tag]
  public var launchTime: String?
  /// "spot" for a spot instance; nil for on-demand.
  public var lifecycle: String?

  init(_ node: XMLElementNode) {
    instanceID = node.string("instanceId") ?? ""
    imageID = node.string("imageId") ?? ""
    instanceType = node.string("instanceType") ?? ""
    state = node.child("instanceState")?.string("name") ?? ""
    stateReason = node.child("stateReason")?.string("message") ?? node.string("reason").flatMap { $0.isEmpty ? nil : $0 }
    keyName = node.string("keyName")
    publicIPAddress = node.string("ipAddress")
    privateIPAddress = node.string("privateIpAddress")
    publicDNSName = node.string("dnsName").flatMap { $0.isEmpty ? nil : $0 }
    privateDNSName = node.string("privateDnsName").flatMap { $0.isEmpty ? nil : $0 }
    ipv6Address = (node.string("ipv6Address")
      ?? node.items("networkInterfaceSet").lazy.compactMap { $0.items("ipv6AddressesSet").first?.string("ipv6Address") }.first)
      .flatMap { $0.isEmpty ? nil : $0 }
    hostID = node.child("placement")?.string("hostId").flatMap { $0.isEmpty ? nil : $0 }
    subnetID = node.string("subnetId")
    vpcID = node.string("vpcId")
    availabilityZone = node.child("placement")?.string("availabilityZone")
    securityGroupIDs = node.items("groupSet").compactMap { $0.string("groupId") }
    blockDevices = node.items("blockDeviceMapping").map(EC2BlockDevice.init)
    tags = KilnAWS.tags(node)
    launchTime = node.string("launchTime")
    lifecycle = node.string("instanceLifecycle")
  }
}

public struct EC2KeyPair: Sendable, Equatable {
  public var keyName: String
  public var keyPairID: String?
  public var fingerprint: String
  public var publicKey: String?
  public var tags: [EC2Tag]

  init(_ node: XMLElementNode) {
    keyName = node.string("keyName") ?? ""
    keyPairID = node.string("keyPairId")
    fingerprint = node.string("keyFingerprint") ?? ""
    publicKey = node.string("publicKey")
    tags = KilnAWS.tags(node)
  }
}

public struct EC2SecurityGroup: Sendable, Equatable {
  public var groupID: String
  public var groupName: String
  public var vpcID: String?
  public var description: String
  public var tags: [EC2Tag]
  public var ingressPorts: [Int]
  /// The source CIDR blocks (IPv4 and IPv6) of all ingress rules.
  public var ingressCIDRs: [String]

  init(_ node: XMLElementNode) {
    groupID = node.string("groupId") ?? ""
    groupName = node.string("groupName") ?? ""
    vpcID = node.string("vpcId")
    description = node.string("groupDescription") ?? ""
    tags = KilnAWS.tags(node)
    ingressPorts = node.items("ipPermissions").compactMap { $0.int("fromPort") }
    ingressCIDRs = node.items("ipPermissions").flatMap { rule in
      rule.items("ipRanges").compactMap { $0.string("cidrIp") } + rule.items("ipv6Ranges").compactMap { $0.string("cidrIpv6") }
    }
  }
}

public struct EC2Subnet: Sendable, Equatable {
  public var subnetID: String
  public var vpcID: String
  public var availabilityZone: String
  public var availableIPAddressCount: Int
  public var defaultForAZ: Bool
  public var state: String

  init(_ node: XMLElementNode) {
    subnetID = node.string("subnetId") ?? ""
    vpcID = node.string("vpcId") ?? ""
    availabilityZone = node.string("availabilityZone") ?? ""
    availableIPAddressCount = node.int("availableIpAddressCount") ?? 0
    defaultForAZ = node.bool("defaultForAz") ?? false
    state = node.string("state") ?? ""
  }
}

public struct EC2VPC: Sendable, Equatable {
  public var vpcID: String
  public var isDefault: Bool
  public var state: String
  public var cidrBlock: String

  init(_ node: XMLElementNode) {
    vpcID = node.string("vpcId") ?? ""
    isDefault = node.bool("isDefault") ?? false
    state = node.string("state") ?? ""
    cidrBlock = node.string("cidrBlock") ?? ""
  }
}

public struct EC2Snapshot: Sendable, Equatable {
  public var snapshotID: String
  public var volumeID: String
  public var state: String
  public var progress: String
  public var ownerID: String
  public var encrypted: Bool
  public var description: String
  public var tags: [EC2Tag]

  init(_ node: XMLElementNode) {
    snapshotID = node.string("snapshotId") ?? ""
    volumeID = node.string("volumeId") ?? ""
    state = node.string("status") ?? ""
    progress = node.string("progress") ?? ""
    ownerID = node.string("ownerId") ?? ""
    encrypted = node.bool("encrypted") ?? false
    description = node.string("description") ?? ""
    tags = KilnAWS.tags(node)
  }
}

public struct EC2Volume: Sendable, Equatable {
  public var volumeID: String
  public var state: String
  public var size: Int
  public var volumeType: String
  public var attachedInstanceIDs: [String]
  public var tags: [EC2Tag]

  init(_ node: XMLElementNode) {
    volumeID = node.string("volumeId") ?? ""
    state = node.string("status") ?? ""
    size = node.int("size") ?? 0
    volumeType = node.string("volumeType") ?? ""
    attachedInstanceIDs = node.items("attachmentSet").compactMap { $0.string("instanceId") }
    tags = KilnAWS.tags(node)
  }
}

public struct EC2Region: Sendable, Equatable {
  public var name: String
  public var endpoint: String
}

public struct EC2InstanceStatus: Sendable, Equatable {
  public var instanceID: String
  public var state: String
  public var systemStatus: String
  public var instanceStatus: String
}

public struct EC2LaunchPermission: Sendable, Equatable {
  public var userID: String?
  public var group: String?

  public init(userID: String?, group: String?) {
    self.userID = userID
    self.group = group
  }
}
