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
    let filter = config.sourceAMIFilter ?? AMIFilter()
    let wanted = Self.describe(config)
    let image: EC2Image
    switch try await filter.find(in: run.ec2, imageIDs: config.sourceAMI.isEmpty ? [] : [config.sourceAMI]) {
    case .none:
      throw BuildError("no AMI was found matching \(wanted) in \(run.region)")
    case .found(let found):
      image = found
    case .many(let images):
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
    let parts = [config.sourceAMI.isEmpty ? "" : "id \(config.sourceAMI)", config.sourceAMIFilter?.summary ?? ""]
    return parts.filter { !$0.isEmpty }.joined(separator: "; ")
  }
}

// MARK: - What it tells the steps after it

/// The source image (`source_ami` or the newest match of `source_ami_filter`).
enum SourceImage: StateKey { typealias Value = EC2Image }
/// Packer's generated data: `BuildRegion`, `SourceAMI`, `SourceAMIName`, … for late keys,
/// provisioners (`{{build `SourceAMI`}}`) and post-processors.
enum GeneratedData: StateKey { typealias Value = [String: String] }
