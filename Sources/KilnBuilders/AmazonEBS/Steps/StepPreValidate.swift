import KilnAWS
import KilnCore

/// Mirrors Packer's `StepPreValidate`.
///
/// Checks what can be checked before anything is created, so a build fails in a second
/// instead of after provisioning: the build region and every `ami_regions` target exist, a
/// `vpc_id` without a subnet is the default VPC, and the AMI name is free in the build region
/// *and every copy region* (Packer checks only the build region, so a taken name in a copy
/// region failed the build after the AMI was made).
///
/// Creates nothing; no cleanup.
struct StepPreValidate: BuildStep {
  let name = "pre-validate"
  let run: EBSRun

  func run(_ state: BuildState) async throws {
    let config = run.config
    if !config.access.skipRegionValidation {
      let known = Set(try await run.ec2.describeRegions().map(\.name))
      let unknown = run.amiRegions.filter { !known.contains($0) }
      if !unknown.isEmpty {
        throw BuildError(
          "unknown region(s) \(unknown.joined(separator: ", ")): not among the account's \(known.count) regions; check 'region' and 'ami_regions', or set \"skip_region_validation\": true for a new or custom region"
        )
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
      throw BuildError(
        "AMI name '\(config.amiName)' is used by an existing AMI: \(taken.joined(separator: ", ")). Use -force (or \"force_deregister\": true) to replace it, or change 'ami_name'"
      )
    }
  }
}
