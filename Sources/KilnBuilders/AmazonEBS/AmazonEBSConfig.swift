public import Foundation
public import KilnCore

/// The `amazon-ebs` builder's configuration: Packer 1.6.6's options plus the Amazon plugin's
/// newer ones that current templates use (`metadata_options`, `imds_support`,
/// `temporary_key_pair_type`, `deprecate_at`, `skip_create_ami`, ...), decoded and checked
/// with no side effects (`../shared/docs/packer-reference.md` §2).
public struct AmazonEBSConfig: Sendable {
  // MARK: Access
  /// Credentials, region, endpoints, retries and `aws_polling`: the amazon plugin's
  /// `AccessConfig`, shared with the Amazon data sources.
  public var access = AWSAccessConfig()

  // MARK: Source and instance
  public var sourceAMI = ""
  public var sourceAMIFilter: ImageFilter?
  public var instanceType = ""
  public var ebsOptimized = false
  public var iamInstanceProfile = ""
  public var userData = ""
  public var userDataFile = ""
  public var shutdownBehavior = "stop"
  public var disableStopInstance = false
  public var availabilityZone = ""
  public var tenancy = ""
  public var metadataOptions = MetadataOptions()
  public var imdsSupport = ""
  public var spotPrice = ""
  public var spotInstanceTypes: [String] = []
  /// Kiln's own: on-demand instance types to try in order when one has no capacity (Packer's
  /// plugin has only `spot_instance_types`, for spot builds).
  public var instanceTypes: [String] = []
  /// `placement.host_id` and `placement.host_resource_group_arn` (`placement.tenancy` is
  /// folded into `tenancy`, which it overrides, as in Packer).
  public var hostID = ""
  public var hostResourceGroupARN = ""
  /// `license_specifications[].license_configuration_request.license_configuration_arn`.
  public var licenseConfigurationARNs: [String] = []
  /// `enable_unlimited_credits` (or its older name `enable_t2_unlimited`).
  public var unlimitedCredits = false
  public var enableNitroEnclave = false
  public var capacityReservationPreference = ""
  public var capacityReservationID = ""
  public var capacityReservationGroupARN = ""
  public var noEphemeral = false

  // MARK: Network
  public var vpcID = ""
  public var vpcFilter: [(key: String, value: String)] = []
  public var subnetID = ""
  public var subnetFilter: SubnetFilter?
  public var associatePublicIPAddress: Bool?
  public var securityGroupIDs: [String] = []
  public var securityGroupFilter: [(key: String, value: String)] = []
  /// The sources the temporary security group admits: the template's CIDRs, else `::/0`
  /// with `"ssh_interface": "ipv6"`, else `0.0.0.0/0`; empty with
  /// `temporary_security_group_source_public_ip`, whose `/32` is found at build time.
  public var temporarySecurityGroupSourceCIDRs: [String] = ["0.0.0.0/0"]
  public var temporarySecurityGroupSourcePublicIP = false
  public var sshInterface = ""

  // MARK: AMI
  public var amiName = ""
  public var amiDescription = ""
  public var amiVirtualizationType = ""
  public var amiUsers: [String] = []
  public var amiGroups: [String] = []
  public var amiOrgARNs: [String] = []
  public var amiOUARNs: [String] = []
  public var amiProductCodes: [String] = []
  public var snapshotUsers: [String] = []
  public var snapshotGroups: [String] = []
  public var amiRegions: [String] = []
  public var skipSaveBuildRegion = false
  public var encryptBoot: Bool?
  public var kmsKeyID = ""
  public var regionKMSKeyIDs: [(key: String, value: String)] = []
  public var forceDeregister = false
  public var forceDeleteSnapshot = false
  public var enaSupport: Bool?
  public var sriovSupport = false
  public var skipCreateAMI = false
  public var skipAMIRunTags = false
  public var deprecateAt: Date?
  /// The amazon plugin's `deregistration_protection` block.
  public var deregistrationProtection = DeregistrationProtection()

  public struct DeregistrationProtection: Sendable {
    public var enabled = false
    /// Once protection is disabled, the AMI stays protected for 24 more hours.
    public var withCooldown = false
  }
  public var snapshotCopyDurationMinutes: Int?

  // MARK: Tags (late: rendered with build data)
  public var tags: [(key: String, value: String)] = []
  public var snapshotTags: [(key: String, value: String)] = []
  public var runTags: [(key: String, value: String)] = []
  public var runVolumeTags: [(key: String, value: String)] = []
  public var spotTags: [(key: String, value: String)] = []

  // MARK: Block devices
  public var launchBlockDeviceMappings: [BlockDevice] = []
  public var amiBlockDeviceMappings: [BlockDevice] = []

  public var communicator = CommunicatorConfig()

  public typealias AssumeRole = AWSAccessConfig.AssumeRole
  public typealias Polling = AWSAccessConfig.Polling

  /// `source_ami_filter` (the same options as the `amazon-ami` data source).
  public typealias ImageFilter = AMIFilter

  public struct SubnetFilter: Sendable {
    public var filters: [(key: String, value: String)] = []
    public var mostFree = false
    public var random = false
  }

  public struct MetadataOptions: Sendable {
    /// Kiln requires IMDSv2 by default (Packer: "optional"); set `http_tokens: optional` to
    /// allow IMDSv1 on the build instance.
    public var httpEndpoint = "enabled"
    public var httpTokens = "required"
    public var httpPutResponseHopLimit = 1
    public var instanceMetadataTags = "disabled"
  }

  public struct BlockDevice: Sendable {
    public var deviceName = ""
    public var deleteOnTermination = false
    public var encrypted: Bool?
    public var kmsKeyID = ""
    public var iops: Int?
    public var throughput: Int?
    public var noDevice = false
    public var snapshotID = ""
    public var virtualName = ""
    public var volumeType = ""
    public var volumeSize: Int?
  }
}

// MARK: - What the build derives from the configuration alone

extension AmazonEBSConfig {
  /// A spot build: `spot_price` is set and not "0" (Packer's rule). The instance is a one-time
  /// spot request, launched without a shutdown behaviour and not stopped before imaging.
  var isSpot: Bool { !spotPrice.isEmpty && spotPrice != "0" }

  /// Whether the image made in the build region is an intermediary, copied to the final AMI(s)
  /// and then removed: with `encrypt_boot` (the encrypted copy is the result) or
  /// `skip_save_build_region` (only the copies in `ami_regions` are kept).
  var usesIntermediaryAMI: Bool { encryptBoot == true || skipSaveBuildRegion }
}
