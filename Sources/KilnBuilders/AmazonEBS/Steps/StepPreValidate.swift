import Foundation
import KilnAWS
import KilnCore

/// Checks what can be checked before anything is created (Packer's `StepPreValidate`), so a
/// build fails in a second instead of after provisioning: the build region and every
/// `ami_regions` target exist, a `vpc_id` without a subnet is the default VPC, and the AMI
/// name is free in the build region *and every copy region* (Packer checks only the build
/// region, so a taken name in a copy region failed the build after the AMI was made).
struct StepPreValidate: BuildStep {
  let name = "pre-validate"
  let run: EBSRun

  func run(_ state: BuildState) async throws {
    let config = run.config
    if !config.skipRegionValidation {
      let known = Set(try await run.ec2.describeRegions().map(\.name))
      let unknown = run.amiRegions.filter { !known.contains($0) }
      if !unknown.isEmpty {
        throw BuildError("unknown region(s) \(unknown.joined(separator: ", ")): not among the account's \(known.count) regions; check 'region' and 'ami_regions', or set \"skip_region_validation\": true for a new or custom region")
      }
    }
    if !config.vpcID.isEmpty, config.subnetID.isEmpty, config.subnetFilter == nil {
      run.ui.say("Prevalidating any provided VPC information")
      let vpcs = try await run.ec2.describeVpcs(vpcIDs: [config.vpcID])
      if vpcs.first?.isDefault != true {
        throw BuildError("'subnet_id' or 'subnet_filter' must be provided for the non-default VPC \(config.vpcID)")
      }
    }
    if run.context.force || config.forceDeregister {
      run.ui.say("Force deregister flag found, skipping prevalidating AMI name")
      return
    }
    if config.skipCreateAMI || config.skipSaveBuildRegion && config.amiRegions.isEmpty { return }
    run.ui.say("Prevalidating AMI Name: \(config.amiName)")
    let regions = config.skipSaveBuildRegion ? config.amiRegions : run.amiRegions
    let found = try await withThrowingTaskGroup(of: (String, [String]).self) { group in
      for region in regions {
        let client = run.client(region)
        group.addTask {
          (region, try await client.describeImages(owners: ["self"], filters: [EC2Filter("name", [config.amiName])]).map(\.imageID))
        }
      }
      var byRegion: [String: [String]] = [:]
      for try await (region, ids) in group { byRegion[region] = ids }
      return byRegion
    }
    // The build region first, then the copy regions in template order.
    let taken = regions.flatMap { region in (found[region] ?? []).sorted().map { "\($0) in \(region)" } }
    if !taken.isEmpty {
      throw BuildError("AMI name '\(config.amiName)' is used by an existing AMI: \(taken.joined(separator: ", ")). Use -force (or \"force_deregister\": true) to replace it, or change 'ami_name'")
    }
  }
}

/// Finds the source image (Packer's `StepSourceAMIInfo`) and publishes the build data
/// (`StepSetGeneratedData`): `SourceAMI`, `SourceAMIName`, `BuildRegion`, …
struct StepSourceAMI: BuildStep {
  let name = "source-ami-info"
  let run: EBSRun

  func run(_ state: BuildState) async throws {
    let config = run.config
    var filters: [EC2Filter] = []
    var owners: [String] = []
    if let filter = config.sourceAMIFilter {
      filters = filter.filters.map { EC2Filter($0.key, [$0.value]) }
      owners = filter.owners
    }
    let images = try await run.ec2.describeImages(
      imageIDs: config.sourceAMI.isEmpty ? [] : [config.sourceAMI], owners: owners, filters: filters,
      includeDeprecated: config.sourceAMIFilter?.includeDeprecated == true ? true : nil)
    let wanted = Self.describe(config)
    guard !images.isEmpty else {
      throw BuildError("no AMI was found matching \(wanted) in \(run.region)")
    }
    let image: EC2Image
    if images.count == 1 {
      image = images[0]
    } else if config.sourceAMIFilter?.mostRecent == true {
      // ISO 8601 timestamps sort as text; ties keep the image id order for a stable choice.
      image = images.max { ($0.creationDate, $1.imageID) < ($1.creationDate, $0.imageID) }!
    } else {
      let sample = images.prefix(5).map { "\($0.imageID) (\($0.name))" }.joined(separator: ", ")
      throw BuildError("\(images.count) AMIs match \(wanted): \(sample)\(images.count > 5 ? ", …" : ""); narrow the filters or set \"most_recent\": true")
    }
    if image.rootDeviceType != "ebs" {
      throw BuildError("the source AMI \(image.imageID) has root device type \"\(image.rootDeviceType)\": amazon-ebs needs an EBS-backed image")
    }
    // Packer's check: "ami_virtualization_type": "hvm" vouches for the image (paravirtual
    // with enhanced networking is refused when the template is read).
    if config.enaSupport == true || config.sriovSupport, config.amiVirtualizationType != "hvm", image.virtualizationType != "hvm" {
      throw BuildError("enhanced networking ('ena_support', 'sriov_support') needs an HVM source AMI; \(image.imageID) is \(image.virtualizationType)")
    }
    run.ui.say("Found Image ID: \(image.imageID) (\(image.name))")
    state[SourceImage.self] = image
    state[GeneratedData.self] = [
      "BuildRegion": run.region, "SourceAMI": image.imageID, "SourceAMIName": image.name,
      "SourceAMICreationDate": image.creationDate, "SourceAMIOwner": image.ownerID,
      "SourceAMIOwnerName": image.ownerAlias ?? "",
    ]
  }

  static func describe(_ config: AmazonEBSConfig) -> String {
    var parts: [String] = []
    if !config.sourceAMI.isEmpty { parts.append("id \(config.sourceAMI)") }
    if let filter = config.sourceAMIFilter {
      if !filter.filters.isEmpty { parts.append("filters " + filter.filters.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")) }
      if !filter.owners.isEmpty { parts.append("owners " + filter.owners.joined(separator: ", ")) }
    }
    return parts.joined(separator: "; ")
  }
}

/// Resolves VPC, subnet and availability zone (Packer's `StepNetworkInfo`). With none of
/// them set it makes no call: EC2 launches into the default VPC.
struct StepNetwork: BuildStep {
  let name = "network-info"
  let run: EBSRun

  func run(_ state: BuildState) async throws {
    let config = run.config
    var vpcID = config.vpcID
    var subnetID = config.subnetID
    var zone = config.availabilityZone
    if vpcID.isEmpty, !config.vpcFilter.isEmpty {
      let vpcs = try await run.ec2.describeVpcs(filters: config.vpcFilter.map { EC2Filter($0.key, [$0.value]) })
      guard vpcs.count == 1 else {
        throw BuildError("'vpc_filter' must match exactly one VPC, it matched \(vpcs.count)\(vpcs.isEmpty ? "" : ": " + vpcs.map(\.vpcID).joined(separator: ", "))")
      }
      vpcID = vpcs[0].vpcID
      run.ui.message("Found VPC ID: \(vpcID)")
    }
    if subnetID.isEmpty, let filter = config.subnetFilter {
      var filters = filter.filters.map { EC2Filter($0.key, [$0.value]) } + [EC2Filter("state", ["available"])]
      if !vpcID.isEmpty { filters.append(EC2Filter("vpc-id", [vpcID])) }
      if !zone.isEmpty { filters.append(EC2Filter("availability-zone", [zone])) }
      let subnets = try await run.ec2.describeSubnets(filters: filters)
      guard !subnets.isEmpty else { throw BuildError("'subnet_filter' matched no available subnet") }
      let subnet: EC2Subnet
      if subnets.count == 1 {
        subnet = subnets[0]
      } else if filter.mostFree {
        subnet = subnets.max { ($0.availableIPAddressCount, $1.subnetID) < ($1.availableIPAddressCount, $0.subnetID) }!
      } else if filter.random {
        subnet = subnets.randomElement()!
      } else {
        throw BuildError("'subnet_filter' matched \(subnets.count) subnets (\(subnets.map(\.subnetID).joined(separator: ", "))); set \"most_free\" or \"random\", or narrow the filters")
      }
      subnetID = subnet.subnetID
      run.ui.message("Found Subnet ID: \(subnetID)")
    }
    if !subnetID.isEmpty, vpcID.isEmpty || zone.isEmpty {
      guard let subnet = try await run.ec2.describeSubnets(subnetIDs: [subnetID]).first else {
        throw BuildError("subnet \(subnetID) was not found in \(run.region)")
      }
      if vpcID.isEmpty { vpcID = subnet.vpcID }
      if zone.isEmpty { zone = subnet.availabilityZone }
    }
    state[NetworkPlacement.self] = (vpcID, subnetID, zone)
  }
}
