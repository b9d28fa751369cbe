import KilnAWS
import KilnCore

/// Mirrors Packer's `StepNetworkInfo`.
///
/// Resolves VPC, subnet and availability zone. With none of them set it makes no call: EC2
/// launches into the default VPC.
///
/// Creates nothing; no cleanup. Writes `NetworkPlacement`.
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
        throw BuildError(
          "'vpc_filter' must match exactly one VPC, it matched \(vpcs.count)\(vpcs.isEmpty ? "" : ": " + vpcs.map(\.vpcID).joined(separator: ", "))")
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
        throw BuildError(
          "'subnet_filter' matched \(subnets.count) subnets (\(subnets.map(\.subnetID).joined(separator: ", "))); set \"most_free\" or \"random\", or narrow the filters"
        )
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

// MARK: - What it tells the steps after it

/// Where the instance goes: VPC, subnet and availability zone ("" when EC2 picks).
enum NetworkPlacement: StateKey { typealias Value = (vpcID: String, subnetID: String, availabilityZone: String) }
