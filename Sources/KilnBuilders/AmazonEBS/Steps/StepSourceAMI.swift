import KilnAWS
import KilnCore

/// Mirrors Packer's `StepSourceAMIInfo`, and `StepSetGeneratedData`.
///
/// Finds the source image (`source_ami` or the newest match of `source_ami_filter`) and
/// publishes the build data: `SourceAMI`, `SourceAMIName`, `BuildRegion`, …
///
/// Creates nothing; no cleanup. Writes `SourceImage` and `GeneratedData`.
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
      throw BuildError(
        "\(images.count) AMIs match \(wanted): \(sample)\(images.count > 5 ? ", …" : ""); narrow the filters or set \"most_recent\": true")
    }
    if image.rootDeviceType != "ebs" {
      throw BuildError("the source AMI \(image.imageID) has root device type \"\(image.rootDeviceType)\": amazon-ebs needs an EBS-backed image")
    }
    // Packer's check: "ami_virtualization_type": "hvm" vouches for the image (paravirtual
    // with enhanced networking is refused when the template is read).
    if config.enaSupport == true || config.sriovSupport, config.amiVirtualizationType != "hvm", image.virtualizationType != "hvm" {
      throw BuildError(
        "enhanced networking ('ena_support', 'sriov_support') needs an HVM source AMI; \(image.imageID) is \(image.virtualizationType)")
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

// MARK: - What it tells the steps after it

/// The source image (`source_ami` or the newest match of `source_ami_filter`).
enum SourceImage: StateKey { typealias Value = EC2Image }
/// Packer's generated data: `BuildRegion`, `SourceAMI`, `SourceAMIName`, … for late keys,
/// provisioners (`{{build `SourceAMI`}}`) and post-processors.
enum GeneratedData: StateKey { typealias Value = [String: String] }
