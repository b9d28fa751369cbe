import Foundation
import KilnAWS
public import KilnCore

extension AmazonEBSConfig {
  /// The `.Fields` the late keys may use (Packer's `interpolate_build_info.go`).
  static let buildInfoFields: Set<String> = [
    "BuildRegion", "SourceAMI", "SourceAMICreationDate", "SourceAMIName", "SourceAMIOwner",
    "SourceAMIOwnerName", "SourceAMITags",
  ]

  static let lateKeys: [String: Set<String>] = Dictionary(
    uniqueKeysWithValues: ["ami_description", "tags", "snapshot_tags", "run_tags", "run_volume_tags", "spot_tags", "fleet_tags"].map {
      ($0, buildInfoFields)
    })

  /// Why a list of instance types to try is wrong (an empty name, a type twice), else nil.
  static func badTypeList(_ types: [String]) -> String? {
    if types.contains(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) { return "must not contain an empty instance type" }
    var seen: Set<String> = []
    for type in types where !seen.insert(type).inserted { return "lists \"\(type)\" twice" }
    return nil
  }

  static let volumeTypes = ["standard", "io1", "io2", "gp2", "gp3", "sc1", "st1"]

  /// Decodes and checks; reports every problem through `reader`. No side effects.
  public init(from r: inout ConfigReader) {
    self.init()
    access = AWSAccessConfig(from: &r)
    decodeSource(&r)
    decodeNetwork(&r)
    decodeAMI(&r)
    decodeTags(&r)
    launchBlockDeviceMappings = Self.blockDevices(&r, "launch_block_device_mappings", launch: true)
    amiBlockDeviceMappings = Self.blockDevices(&r, "ami_block_device_mappings", launch: false)
    communicator = CommunicatorConfig.read(&r)
    checkCombinations(&r)
  }

  private mutating func decodeSource(_ r: inout ConfigReader) {
    sourceAMI = r.string("source_ami") ?? ""
    if var block = r.object("source_ami_filter") {
      let filter = AMIFilter(from: &block)
      block.finish()
      if filter.owners.isEmpty, sourceAMI.isEmpty {
        r.error(
          "'source_ami_filter' must list 'owners': for security reasons kiln, like Packer, does not pick an image from any account",
          at: r.location(of: "source_ami_filter"))
      }
      sourceAMIFilter = filter
    }
    if sourceAMI.isEmpty, sourceAMIFilter == nil {
      r.error("a 'source_ami' or 'source_ami_filter' must be specified", at: nil)
    }
    instanceType = r.string("instance_type") ?? ""
    spotInstanceTypes = r.stringList("spot_instance_types") ?? []
    instanceTypes = r.stringList("instance_types") ?? []
    for (key, types) in [("spot_instance_types", spotInstanceTypes), ("instance_types", instanceTypes)] {
      if let bad = Self.badTypeList(types) { r.error(key: key, bad) }
    }
    if instanceType.isEmpty, spotInstanceTypes.isEmpty, instanceTypes.isEmpty {
      r.error("an 'instance_type' must be specified (or 'instance_types', the types to try in order)", at: nil)
    } else if !instanceType.isEmpty, !spotInstanceTypes.isEmpty {
      r.error("'instance_type' and 'spot_instance_types' cannot both be set", at: r.location(of: "spot_instance_types"))
    } else if !instanceType.isEmpty, !instanceTypes.isEmpty {
      r.error(
        "'instance_type' and 'instance_types' cannot both be set: list the first choice first in 'instance_types'",
        at: r.location(of: "instance_types"))
    } else if !spotInstanceTypes.isEmpty, !instanceTypes.isEmpty {
      r.error("'instance_types' and 'spot_instance_types' cannot both be set", at: r.location(of: "instance_types"))
    }
    spotPrice = r.string("spot_price") ?? ""
    if !spotPrice.isEmpty, spotPrice != "auto", Double(spotPrice) == nil {
      r.error(key: "spot_price", "must be \"auto\" or a price such as \"0.05\", not \"\(spotPrice)\"")
    }
    if !spotInstanceTypes.isEmpty, !isSpot {
      r.error("'spot_instance_types' needs 'spot_price' (\"auto\" or a maximum price)", at: r.location(of: "spot_instance_types"))
    }
    if !instanceTypes.isEmpty, isSpot {
      r.error("'instance_types' is for on-demand builds: a spot build lists its types in 'spot_instance_types'", at: r.location(of: "instance_types"))
    }
    r.acceptWithoutEffect("spot_price_auto_product", because: "deprecated; Packer ignores it too")
    if let minutes = r.int("block_duration_minutes"), minutes != 0 {
      r.error(key: "block_duration_minutes", "is not supported: EC2 no longer offers spot blocks (defined-duration spot instances)")
    }
    if let strategy = r.string("spot_allocation_strategy"), !strategy.isEmpty {
      r.error(
        key: "spot_allocation_strategy",
        "is not supported by kiln: it launches a spot instance with RunInstances (a one-time spot request, trying 'spot_instance_types' in order), not an EC2 fleet"
      )
    }
    ebsOptimized = r.bool("ebs_optimized") ?? false
    unlimitedCredits = r.bool("enable_unlimited_credits") ?? false
    r.deprecated["enable_t2_unlimited"] = "use 'enable_unlimited_credits'"
    if r.bool("enable_t2_unlimited") == true { unlimitedCredits = true }
    if unlimitedCredits, isSpot {
      r.error(
        "unlimited CPU credits ('enable_unlimited_credits') cannot be used with spot instances",
        at: r.location(of: r.has("enable_t2_unlimited") ? "enable_t2_unlimited" : "enable_unlimited_credits"))
    }
    enableNitroEnclave = r.bool("enable_nitro_enclave") ?? false
    for var entry in r.objectList("license_specifications") ?? [] {
      if var request = entry.object("license_configuration_request") {
        if let arn = request.requiredString("license_configuration_arn") { licenseConfigurationARNs.append(arn) }
        request.finish()
      } else {
        entry.error("'license_configuration_request' must be specified", at: nil)
      }
      entry.finish()
    }
    capacityReservationPreference = r.choice("capacity_reservation_preference", ["open", "none", "capacity-reservations-only"]) ?? ""
    capacityReservationID = r.string("capacity_reservation_id") ?? ""
    capacityReservationGroupARN = r.string("capacity_reservation_group_arn") ?? ""
    if !capacityReservationID.isEmpty, !capacityReservationGroupARN.isEmpty {
      r.error(
        "only one of 'capacity_reservation_id' or 'capacity_reservation_group_arn' can be specified",
        at: r.location(of: "capacity_reservation_group_arn"))
    }
    noEphemeral = r.bool("no_ephemeral") ?? false
    r.acceptWithoutEffect("skip_profile_validation", because: "kiln does not look the instance profile up in IAM before the build")
    // Packer's amazon-ebs has none of these: an image made with CreateImage takes the source
    // AMI's boot mode, UEFI variables and NitroTPM support. Packer offers them only where the
    // builder registers the image itself (amazon-ebssurrogate, amazon-chroot).
    for key in ["boot_mode", "uefi_data", "tpm_support"] where r.raw(key) != nil {
      r.error(
        key: key,
        "is not an amazon-ebs option: the AMI takes the source AMI's \(key == "tpm_support" ? "NitroTPM support" : key == "uefi_data" ? "UEFI variables" : "boot mode") (EC2's CreateImage has no such parameter); choose a source AMI that has it"
      )
    }
    iamInstanceProfile = r.string("iam_instance_profile") ?? ""
    if r.raw("temporary_iam_instance_profile_policy_document") != nil {
      r.error(
        key: "temporary_iam_instance_profile_policy_document",
        "is not supported by kiln yet: create the instance profile and name it in 'iam_instance_profile'")
    }
    userData = r.string("user_data") ?? ""
    userDataFile = r.string("user_data_file") ?? ""
    if !userData.isEmpty, !userDataFile.isEmpty {
      r.error("only one of 'user_data' or 'user_data_file' can be specified", at: r.location(of: "user_data_file"))
    } else if !userDataFile.isEmpty {
      r.checkExists(userDataFile, key: "user_data_file", what: "a user data file")
    }
    shutdownBehavior = r.choice("shutdown_behavior", ["stop", "terminate"]) ?? "stop"
    disableStopInstance = r.bool("disable_stop_instance") ?? false
    availabilityZone = r.string("availability_zone") ?? ""
    tenancy = r.choice("tenancy", ["default", "dedicated", "host"]) ?? ""
    if var block = r.object("placement") {
      if let placed = block.choice("tenancy", ["default", "dedicated", "host"]) { tenancy = placed }
      hostID = block.string("host_id") ?? ""
      hostResourceGroupARN = block.string("host_resource_group_arn") ?? ""
      block.finish()
    }
    if isSpot, !hostID.isEmpty || !hostResourceGroupARN.isEmpty {
      r.error("'placement' on a Dedicated Host cannot be used with spot instances", at: r.location(of: "placement"))
    }
    if let duration = r.duration("windows_password_timeout"), duration < 0 {
      r.error(key: "windows_password_timeout", "must not be negative")
    }
    r.acceptWithoutEffect(
      "windows_password_timeout", because: "the Windows password is only fetched for the WinRM communicator, which kiln does not have")
    if var block = r.object("metadata_options") {
      metadataOptions.httpEndpoint = block.choice("http_endpoint", ["enabled", "disabled"]) ?? "enabled"
      metadataOptions.httpTokens = block.choice("http_tokens", ["optional", "required"]) ?? "required"
      metadataOptions.httpPutResponseHopLimit = block.int("http_put_response_hop_limit", range: 1...64) ?? 1
      metadataOptions.instanceMetadataTags = block.choice("instance_metadata_tags", ["enabled", "disabled"]) ?? "disabled"
      block.finish()
    }
    imdsSupport = r.choice("imds_support", ["v2.0"]) ?? ""
  }

  private mutating func decodeNetwork(_ r: inout ConfigReader) {
    vpcID = r.string("vpc_id") ?? ""
    if var block = r.object("vpc_filter") {
      vpcFilter = block.stringMap("filters") ?? []
      block.finish()
    }
    subnetID = r.string("subnet_id") ?? ""
    if var block = r.object("subnet_filter") {
      var filter = SubnetFilter()
      filter.filters = block.stringMap("filters") ?? []
      filter.mostFree = block.bool("most_free") ?? false
      filter.random = block.bool("random") ?? false
      block.finish()
      subnetFilter = filter
    }
    associatePublicIPAddress = r.bool("associate_public_ip_address")
    let single = r.string("security_group_id") ?? ""
    securityGroupIDs = r.stringList("security_group_ids") ?? []
    if !single.isEmpty {
      if !securityGroupIDs.isEmpty {
        r.error("only one of 'security_group_id' or 'security_group_ids' can be specified", at: r.location(of: "security_group_id"))
      }
      securityGroupIDs = [single]
    }
    if var block = r.object("security_group_filter") {
      securityGroupFilter = block.stringMap("filters") ?? []
      block.finish()
    }
    let cidrs = r.stringList("temporary_security_group_source_cidrs") ?? []
    for cidr in cidrs where !Self.isCIDR(cidr) {
      r.error(key: "temporary_security_group_source_cidrs", "contains \"\(cidr)\", which is not a CIDR block such as 203.0.113.0/24")
    }
    if !cidrs.isEmpty { temporarySecurityGroupSourceCIDRs = cidrs }
    temporarySecurityGroupSourcePublicIP = r.bool("temporary_security_group_source_public_ip") ?? false
    if temporarySecurityGroupSourcePublicIP {
      if !cidrs.isEmpty {
        // Packer says so at build time and drops the public IP; kiln refuses the ambiguity.
        r.error(
          "only one of 'temporary_security_group_source_cidrs' or 'temporary_security_group_source_public_ip' can be specified",
          at: r.location(of: "temporary_security_group_source_public_ip"))
      }
      temporarySecurityGroupSourceCIDRs = []
    }
    for key in ["pause_before_ssm", "session_manager_port", "ssm_agent_enable_retries"] {
      r.acceptWithoutEffect(key, because: "it is used only with \"ssh_interface\": \"session_manager\", which kiln does not support")
    }
    sshInterface = r.choice("ssh_interface", ["public_ip", "private_ip", "public_dns", "private_dns", "session_manager", "ipv6"]) ?? ""
    if sshInterface == "ipv6", !temporarySecurityGroupSourcePublicIP, cidrs.isEmpty {
      temporarySecurityGroupSourceCIDRs = ["::/0"]
    }
    if sshInterface == "session_manager" {
      r.error(key: "ssh_interface", "\"session_manager\" is not supported by kiln yet")
    }
    r.deprecated["ssh_private_ip"] = "removed from Packer; use \"ssh_interface\": \"private_ip\""
    if r.raw("ssh_private_ip") != nil {
      r.error(key: "ssh_private_ip", "was removed from Packer: use \"ssh_interface\": \"private_ip\"")
    }
  }

  private mutating func decodeAMI(_ r: inout ConfigReader) {
    amiName = r.requiredString("ami_name") ?? ""
    if !amiName.isEmpty {
      if !AMIName.lengths.contains(amiName.count) {
        r.error(
          key: "ami_name",
          "must be between \(AMIName.lengths.lowerBound) and \(AMIName.lengths.upperBound) characters long, not \(amiName.count): \"\(amiName)\"")
      }
      if let bad = AMIName.firstDisallowed(in: amiName) {
        r.error(
          key: "ami_name",
          "contains '\(bad)': an AMI name may only contain letters, digits, parentheses, square brackets, spaces, periods, slashes, dashes, single quotes, at-signs and underscores (\"\(amiName)\"); the clean_resource_name function replaces the rest"
        )
      }
    }
    amiDescription = r.string("ami_description") ?? ""
    amiVirtualizationType = r.choice("ami_virtualization_type", ["hvm", "paravirtual"]) ?? ""
    amiUsers = r.stringList("ami_users") ?? []
    amiGroups = r.stringList("ami_groups") ?? []
    for group in amiGroups where group != "all" {
      r.error(key: "ami_groups", "may only contain \"all\" (public), not \"\(group)\"")
    }
    amiOrgARNs = r.stringList("ami_org_arns") ?? []
    amiOUARNs = r.stringList("ami_ou_arns") ?? []
    amiProductCodes = r.stringList("ami_product_codes") ?? []
    snapshotUsers = r.stringList("snapshot_users") ?? []
    snapshotGroups = r.stringList("snapshot_groups") ?? []
    for user in amiUsers + snapshotUsers where !(user.count == 12 && user.allSatisfy(\.isNumber)) {
      r.warning(
        "'\(user)' does not look like a 12-digit AWS account id", at: r.location(of: amiUsers.contains(user) ? "ami_users" : "snapshot_users"))
    }
    var regions: [String] = []
    for region in r.stringList("ami_regions") ?? [] where !region.isEmpty && !regions.contains(region) {
      regions.append(region)
    }
    for region in regions {
      do { try AWSRegion.validate(region) } catch { r.error(key: "ami_regions", "\(error)") }
    }
    amiRegions = regions
    skipSaveBuildRegion = r.bool("skip_save_build_region") ?? false
    encryptBoot = r.bool("encrypt_boot")
    kmsKeyID = r.string("kms_key_id") ?? ""
    if !kmsKeyID.isEmpty {
      if encryptBoot != true {
        r.error("'kms_key_id' requires \"encrypt_boot\": true", at: r.location(of: "kms_key_id"))
      }
      if !Self.isKMSKey(kmsKeyID) {
        r.error(key: "kms_key_id", "is not a KMS key id, alias or ARN: \"\(kmsKeyID)\"")
      }
    }
    regionKMSKeyIDs = r.stringMap("region_kms_key_ids") ?? []
    for (region, key) in regionKMSKeyIDs {
      if !amiRegions.contains(region) {
        r.error("'region_kms_key_ids' names region \(region), which is not in 'ami_regions'", at: r.location(of: "region_kms_key_ids"))
      }
      if !key.isEmpty, !Self.isKMSKey(key) {
        r.error("'region_kms_key_ids' \(region): not a KMS key id, alias or ARN: \"\(key)\"", at: r.location(of: "region_kms_key_ids"))
      }
    }
    if !regionKMSKeyIDs.isEmpty, regionKMSKeyIDs.count != amiRegions.count {
      r.error(
        "'region_kms_key_ids' must name a key (\"\" for the default key) for every region in 'ami_regions'", at: r.location(of: "region_kms_key_ids"))
    }
    forceDeregister = r.bool("force_deregister") ?? false
    forceDeleteSnapshot = r.bool("force_delete_snapshot") ?? false
    enaSupport = r.bool("ena_support")
    sriovSupport = r.bool("sriov_support") ?? false
    skipCreateAMI = r.bool("skip_create_ami") ?? false
    skipAMIRunTags = r.bool("skip_ami_run_tags") ?? false
    if let text = r.string("deprecate_at"), !text.isEmpty {
      if let date = ISO8601DateFormatter().date(from: text) {
        deprecateAt = date
      } else {
        r.error(key: "deprecate_at", "must be an RFC 3339 time such as 2030-01-02T15:04:05Z, not \"\(text)\"")
      }
    }
    if var block = r.object("deregistration_protection") {
      deregistrationProtection.enabled = block.bool("enabled") ?? false
      deregistrationProtection.withCooldown = block.bool("with_cooldown") ?? false
      block.finish()
    }
    snapshotCopyDurationMinutes = r.int("snapshot_copy_duration_minutes", range: 15...2880)
    if let minutes = snapshotCopyDurationMinutes, minutes % 15 != 0 {
      r.error(key: "snapshot_copy_duration_minutes", "must be a multiple of 15 minutes, not \(minutes)")
    }
    if r.raw("fast_launch") != nil {
      r.error(
        key: "fast_launch",
        "is not supported by kiln: fast launch pre-provisions Windows AMIs (EnableFastLaunch), and kiln builds no Windows images (no WinRM communicator)"
      )
    }
  }

  private mutating func decodeTags(_ r: inout ConfigReader) {
    func tags(_ map: String, _ block: String) -> [(key: String, value: String)] {
      var result = r.stringMap(map) ?? []
      // The block form [{"key": "...", "value": "..."}], from HCL-era templates.
      for var entry in r.objectList(block) ?? [] {
        if let key = entry.requiredString("key") { result.append((key, entry.string("value") ?? "")) }
        entry.finish()
      }
      return result
    }
    self.tags = tags("tags", "tag")
    snapshotTags = tags("snapshot_tags", "snapshot_tag")
    runTags = tags("run_tags", "run_tag")
    runVolumeTags = tags("run_volume_tags", "run_volume_tag")
    spotTags = tags("spot_tags", "spot_tag")
    let fleetTags = tags("fleet_tags", "fleet_tag")
    if !fleetTags.isEmpty || r.has("fleet_tags") || r.has("fleet_tag") {
      // Packer refuses them on an on-demand build; on a spot build Packer tags its EC2 fleet,
      // and kiln launches the spot instance with RunInstances: there is no fleet to tag.
      let key = r.has("fleet_tags") ? "fleet_tags" : "fleet_tag"
      if !isSpot {
        r.error(key: key, "should not be set when not requesting a spot instance")
      } else {
        r.error(
          key: key,
          "is not supported by kiln: it launches the spot instance with RunInstances, not an EC2 fleet, so there is no fleet to tag; 'spot_tags' tag the instance and its spot request"
        )
      }
    }
  }

  static func blockDevices(_ r: inout ConfigReader, _ key: String, launch: Bool) -> [BlockDevice] {
    var devices: [BlockDevice] = []
    for var entry in r.objectList(key) ?? [] {
      var device = BlockDevice()
      device.deviceName = entry.requiredString("device_name") ?? ""
      device.deleteOnTermination = entry.bool("delete_on_termination") ?? false
      device.encrypted = entry.bool("encrypted")
      device.kmsKeyID = entry.string("kms_key_id") ?? ""
      device.iops = entry.int("iops")
      device.throughput = entry.int("throughput")
      device.noDevice = entry.bool("no_device") ?? false
      device.snapshotID = entry.string("snapshot_id") ?? ""
      device.virtualName = entry.string("virtual_name") ?? ""
      device.volumeType = entry.choice("volume_type", volumeTypes) ?? ""
      device.volumeSize = entry.int("volume_size", range: 1...65536)
      if device.iops != nil, !["io1", "io2", "gp3"].contains(device.volumeType) {
        entry.error(key: "iops", "is only valid with volume_type io1, io2 or gp3")
      }
      if let throughput = device.throughput {
        if device.volumeType != "gp3" { entry.error(key: "throughput", "is only valid with volume_type gp3") }
        if !(125...1000).contains(throughput) { entry.error(key: "throughput", "must be between 125 and 1000 MiB/s") }
      }
      if !device.kmsKeyID.isEmpty, device.encrypted == false {
        entry.error(key: "kms_key_id", "needs \"encrypted\" not to be false")
      }
      if !launch, !device.kmsKeyID.isEmpty {
        entry.error(key: "kms_key_id", "is not valid in ami_block_device_mappings; use 'kms_key_id' with 'encrypt_boot'")
      }
      if !device.virtualName.isEmpty, !device.virtualName.hasPrefix("ephemeral") {
        entry.error(key: "virtual_name", "must be ephemeralN, not \"\(device.virtualName)\"")
      }
      entry.finish()
      devices.append(device)
    }
    return devices
  }

  private func checkCombinations(_ r: inout ConfigReader) {
    if isSpot, enaSupport == true || sriovSupport {
      r.error(
        "spot instances do not support modifying 'ena_support' or 'sriov_support'; build with an on-demand instance",
        at: r.location(of: enaSupport == true ? "ena_support" : "sriov_support"))
    }
    if amiVirtualizationType == "paravirtual", enaSupport == true || sriovSupport {
      r.error(
        "enhanced networking ('ena_support', 'sriov_support') needs an HVM image, and 'ami_virtualization_type' is \"paravirtual\"",
        at: r.location(of: "ami_virtualization_type"))
    }
    if !isSpot, !spotTags.isEmpty {
      r.error("'spot_tags' needs a spot build ('spot_price')", at: r.location(of: "spot_tags"))
    }
    if !communicator.keyPairName.isEmpty, communicator.privateKeyFile.isEmpty, !communicator.agentAuth {
      r.error(
        "'ssh_keypair_name' needs 'ssh_private_key_file' or 'ssh_agent_auth': kiln cannot read the key of an existing key pair from EC2",
        at: r.location(of: "ssh_keypair_name"))
    }
    if skipSaveBuildRegion, amiRegions.isEmpty {
      r.error("'skip_save_build_region' needs 'ami_regions', or no AMI would be kept", at: r.location(of: "skip_save_build_region"))
    }
    if access.region.isEmpty {
      r.warning(
        "'region' is empty: the region will come from AWS_REGION, AWS_DEFAULT_REGION or the profile at build time",
        at: r.has("region") ? r.location(of: "region") : nil)
    }
  }

  static func isCIDR(_ text: String) -> Bool {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, let bits = Int(parts[1]) else { return false }
    let address = String(parts[0])
    if address.contains(":") { return (0...128).contains(bits) && address.allSatisfy { $0.isHexDigit || $0 == ":" } }
    let octets = address.split(separator: ".", omittingEmptySubsequences: false)
    return (0...32).contains(bits) && octets.count == 4 && octets.allSatisfy { Int($0).map { (0...255).contains($0) } ?? false }
  }

  static func isKMSKey(_ text: String) -> Bool {
    if text.hasPrefix("alias/") || text.hasPrefix("arn:") || text.hasPrefix("mrk-") { return true }
    let uuid = text.split(separator: "-").map(\.count)
    return uuid == [8, 4, 4, 4, 12]
  }
}

/// Packer's `amazon-ebs` builder.
public struct AmazonEBSBuilder: BuilderPlugin {
  public static let typeName = "amazon-ebs"
  public static var lateKeys: [String: Set<String>] { AmazonEBSConfig.lateKeys }
  public static var generatedDataKeys: Set<String> { AmazonEBSConfig.buildInfoFields }

  public var config: AmazonEBSConfig
  public var hasCommunicator: Bool { config.communicator.kind != .none }

  public init(from reader: inout ConfigReader) {
    config = AmazonEBSConfig(from: &reader)
  }
}
