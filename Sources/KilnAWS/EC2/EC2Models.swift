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

  public init(
    deviceName: String, snapshotID: String? = nil, volumeID: String? = nil, volumeSize: Int? = nil, volumeType: String? = nil,
    deleteOnTermination: Bool? = nil, encrypted: Bool? = nil, virtualName: String? = nil
  ) {
    self.deviceName = deviceName
    self.snapshotID = snapshotID
    self.volumeID = volumeID
    self.volumeSize = volumeSize
    self.volumeType = volumeType
    self.deleteOnTermination = deleteOnTermination
    self.encrypted = encrypted
    self.virtualName = virtualName
  }

  /// An image's mapping (`BlockDeviceMapping`: what a launch will create, from snapshots).
  init(imageMapping node: XMLElementNode) {
    let ebs = node.child("ebs")
    self.init(
      deviceName: node.string("deviceName") ?? "", snapshotID: ebs?.string("snapshotId"),
      volumeSize: ebs?.int("volumeSize"), volumeType: ebs?.string("volumeType"),
      deleteOnTermination: ebs?.bool("deleteOnTermination"), encrypted: ebs?.bool("encrypted"),
      virtualName: node.string("virtualName"))
  }

  /// An instance's mapping (`InstanceBlockDeviceMapping`: the volumes attached, by id); EC2
  /// says nothing of their size, type or snapshot here.
  init(instanceMapping node: XMLElementNode) {
    let ebs = node.child("ebs")
    self.init(deviceName: node.string("deviceName") ?? "", volumeID: ebs?.string("volumeId"), deleteOnTermination: ebs?.bool("deleteOnTermination"))
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
  /// "disabled", "enabled-with-cooldown" or "enabled-without-cooldown" (nil when EC2 does not say).
  public var deregistrationProtection: String?
  /// When an instance was last launched from it (ISO 8601; EC2 updates it within 24 hours of a
  /// launch; nil when never, or not yet known).
  public var lastLaunchedTime: String?

  /// An image as EC2 describes it (for fakes; the client decodes them from XML).
  public init(
    imageID: String, name: String, description: String = "", state: String, ownerID: String, ownerAlias: String? = nil,
    creationDate: String = "", architecture: String = "x86_64", rootDeviceType: String = "ebs", rootDeviceName: String = "/dev/sda1",
    virtualizationType: String = "hvm", enaSupport: Bool? = nil, blockDevices: [EC2BlockDevice] = [], tags: [EC2Tag] = [],
    stateReason: String? = nil, deprecationTime: String? = nil
  ) {
    self.imageID = imageID
    self.name = name
    self.description = description
    self.state = state
    self.ownerID = ownerID
    self.ownerAlias = ownerAlias
    self.creationDate = creationDate
    self.architecture = architecture
    self.rootDeviceType = rootDeviceType
    self.rootDeviceName = rootDeviceName
    self.virtualizationType = virtualizationType
    self.enaSupport = enaSupport
    self.blockDevices = blockDevices
    self.tags = tags
    self.stateReason = stateReason
    self.deprecationTime = deprecationTime
  }

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
    blockDevices = node.items("blockDeviceMapping").map(EC2BlockDevice.init(imageMapping:))
    tags = KilnAWS.tags(node)
    stateReason = node.child("stateReason")?.string("message")
    deprecationTime = node.string("deprecationTime")
    deregistrationProtection = node.string("deregistrationProtection")
    lastLaunchedTime = node.string("lastLaunchedTime")
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

  /// An instance as EC2 describes it (for fakes; the client decodes them from XML).
  public init(
    instanceID: String, imageID: String, instanceType: String, state: String, stateReason: String? = nil, keyName: String? = nil,
    publicIPAddress: String? = nil, privateIPAddress: String? = nil, publicDNSName: String? = nil, privateDNSName: String? = nil,
    ipv6Address: String? = nil, hostID: String? = nil, subnetID: String? = nil, vpcID: String? = nil, availabilityZone: String? = nil,
    securityGroupIDs: [String] = [], blockDevices: [EC2BlockDevice] = [], tags: [EC2Tag] = [], launchTime: String? = nil,
    lifecycle: String? = nil
  ) {
    self.instanceID = instanceID
    self.imageID = imageID
    self.instanceType = instanceType
    self.state = state
    self.stateReason = stateReason
    self.keyName = keyName
    self.publicIPAddress = publicIPAddress
    self.privateIPAddress = privateIPAddress
    self.publicDNSName = publicDNSName
    self.privateDNSName = privateDNSName
    self.ipv6Address = ipv6Address
    self.hostID = hostID
    self.subnetID = subnetID
    self.vpcID = vpcID
    self.availabilityZone = availabilityZone
    self.securityGroupIDs = securityGroupIDs
    self.blockDevices = blockDevices
    self.tags = tags
    self.launchTime = launchTime
    self.lifecycle = lifecycle
  }

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
    ipv6Address =
      (node.string("ipv6Address")
      ?? node.items("networkInterfaceSet").lazy.compactMap { $0.items("ipv6AddressesSet").first?.string("ipv6Address") }.first)
      .flatMap { $0.isEmpty ? nil : $0 }
    hostID = node.child("placement")?.string("hostId").flatMap { $0.isEmpty ? nil : $0 }
    subnetID = node.string("subnetId")
    vpcID = node.string("vpcId")
    availabilityZone = node.child("placement")?.string("availabilityZone")
    securityGroupIDs = node.items("groupSet").compactMap { $0.string("groupId") }
    blockDevices = node.items("blockDeviceMapping").map(EC2BlockDevice.init(instanceMapping:))
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

  public init(keyName: String, keyPairID: String? = nil, fingerprint: String = "", publicKey: String? = nil, tags: [EC2Tag] = []) {
    self.keyName = keyName
    self.keyPairID = keyPairID
    self.fingerprint = fingerprint
    self.publicKey = publicKey
    self.tags = tags
  }

  /// `withPublicKey`: only `DescribeKeyPairs` (`KeyPairInfo`) carries the public key;
  /// `CreateKeyPair` and `ImportKeyPair` answer without it.
  init(_ node: XMLElementNode, withPublicKey: Bool) {
    keyName = node.string("keyName") ?? ""
    keyPairID = node.string("keyPairId")
    fingerprint = node.string("keyFingerprint") ?? ""
    publicKey = withPublicKey ? node.string("publicKey") : nil
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

  public init(
    groupID: String, groupName: String, vpcID: String? = nil, description: String = "", tags: [EC2Tag] = [], ingressPorts: [Int] = [],
    ingressCIDRs: [String] = []
  ) {
    self.groupID = groupID
    self.groupName = groupName
    self.vpcID = vpcID
    self.description = description
    self.tags = tags
    self.ingressPorts = ingressPorts
    self.ingressCIDRs = ingressCIDRs
  }

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

  public init(
    subnetID: String, vpcID: String, availabilityZone: String, availableIPAddressCount: Int = 4091, defaultForAZ: Bool = false,
    state: String = "available"
  ) {
    self.subnetID = subnetID
    self.vpcID = vpcID
    self.availabilityZone = availabilityZone
    self.availableIPAddressCount = availableIPAddressCount
    self.defaultForAZ = defaultForAZ
    self.state = state
  }

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

  public init(vpcID: String, isDefault: Bool, state: String = "available", cidrBlock: String = "172.31.0.0/16") {
    self.vpcID = vpcID
    self.isDefault = isDefault
    self.state = state
    self.cidrBlock = cidrBlock
  }

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

  public init(
    snapshotID: String, volumeID: String, state: String, progress: String = "", ownerID: String, encrypted: Bool = false, description: String = "",
    tags: [EC2Tag] = []
  ) {
    self.snapshotID = snapshotID
    self.volumeID = volumeID
    self.state = state
    self.progress = progress
    self.ownerID = ownerID
    self.encrypted = encrypted
    self.description = description
    self.tags = tags
  }

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

  public init(volumeID: String, state: String, size: Int, volumeType: String = "gp2", attachedInstanceIDs: [String] = [], tags: [EC2Tag] = []) {
    self.volumeID = volumeID
    self.state = state
    self.size = size
    self.volumeType = volumeType
    self.attachedInstanceIDs = attachedInstanceIDs
    self.tags = tags
  }

  init(_ node: XMLElementNode) {
    volumeID = node.string("volumeId") ?? ""
    state = node.string("status") ?? ""
    size = node.int("size") ?? 0
    volumeType = node.string("volumeType") ?? ""
    attachedInstanceIDs = node.items("attachmentSet").compactMap { $0.string("instanceId") }
    tags = KilnAWS.tags(node)
  }
}

/// A Spot Instance request: "open" until EC2 launches its instance (then "active"), or it is
/// cancelled, closed or fails.
public struct EC2SpotInstanceRequest: Sendable, Equatable {
  public var requestID: String
  public var state: String
  public var instanceID: String?
  public var tags: [EC2Tag]

  public init(requestID: String, state: String, instanceID: String? = nil, tags: [EC2Tag] = []) {
    self.requestID = requestID
    self.state = state
    self.instanceID = instanceID
    self.tags = tags
  }

  init(_ node: XMLElementNode) {
    requestID = node.string("spotInstanceRequestId") ?? ""
    state = node.string("state") ?? ""
    instanceID = node.string("instanceId").flatMap { $0.isEmpty ? nil : $0 }
    tags = KilnAWS.tags(node)
  }
}

public struct EC2Region: Sendable, Equatable {
  public var name: String
  public var endpoint: String

  public init(name: String, endpoint: String) {
    self.name = name
    self.endpoint = endpoint
  }
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
