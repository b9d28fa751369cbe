import KilnAWS
import KilnCore

/// Mirrors Packer's `StepNetworkInfo`.
///
/// Resolves VPC, subnet and availability zone, and where else the instance may go when the
/// first place has no capacity for it (`StepRunInstance` walks them, issue #15 item 5):
/// - `subnet_filter` with several matches: `most_free` or `random` picks the first; the other
///   matches in the same VPC (so the security group, made in that VPC, stays valid) follow,
///   one per availability zone, by zone then subnet id.
/// - none of `subnet_id`, `subnet_filter`, `vpc_id`, `vpc_filter` and `availability_zone`:
///   EC2 chooses, as in Packer, and no call is made here; only if EC2 refuses that launch for
///   capacity does `StepRunInstance` look up the default VPC's default subnets (one per zone,
///   by zone) to try next (`OtherPlacements.defaultSubnets`).
/// - `subnet_id` or `availability_zone` pins the zone: nothing else is tried (only the
///   instance types are walked).
///
/// Creates nothing; no cleanup. Writes `NetworkPlacement` and `PlacementFallbacks`.
struct StepNetwork: BuildStep {
  let name = "network-info"
  let run: EBSRun

  func run(_ state: BuildState) async throws {
    let config = run.config
    var vpcID = config.vpcID
    var subnetID = config.subnetID
    var zone = config.availabilityZone
    var fallbacks: OtherPlacements = .listed([])
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
      // The match says where it is: no second DescribeSubnets for its VPC and zone.
      if vpcID.isEmpty { vpcID = subnet.vpcID }
      if zone.isEmpty { zone = subnet.availabilityZone }
      fallbacks = .listed(Self.fallbacks(after: subnet, among: subnets))
      run.ui.message("Found Subnet ID: \(subnetID)")
    }
    if !subnetID.isEmpty, vpcID.isEmpty || zone.isEmpty {
      guard let subnet = try await run.ec2.describeSubnets(subnetIDs: [subnetID]).first else {
        throw BuildError("subnet \(subnetID) was not found in \(run.region)")
      }
      if vpcID.isEmpty { vpcID = subnet.vpcID }
      if zone.isEmpty { zone = subnet.availabilityZone }
    }
    if subnetID.isEmpty, zone.isEmpty, vpcID.isEmpty { fallbacks = .defaultSubnets }
    if !config.subnetID.isEmpty || !config.availabilityZone.isEmpty { fallbacks = .listed([]) }
    state[NetworkPlacement.self] = (vpcID, subnetID, zone)
    state[PlacementFallbacks.self] = fallbacks
  }

  /// The subnets to try after `picked`: the others in its VPC, one per zone other than its
  /// own (capacity is a zone's, not a subnet's), by zone then subnet id.
  static func fallbacks(after picked: EC2Subnet, among subnets: [EC2Subnet]) -> [SubnetPlacement] {
    SubnetPlacement.onePerZone(subnets.filter { $0.vpcID == picked.vpcID && $0.availabilityZone != picked.availabilityZone })
  }
}

// MARK: - What it tells the steps after it

/// Where the instance goes: VPC, subnet and availability zone ("" when EC2 picks).
enum NetworkPlacement: StateKey { typealias Value = (vpcID: String, subnetID: String, availabilityZone: String) }

/// Where else the instance may go when `NetworkPlacement` has no capacity for it.
enum PlacementFallbacks: StateKey { typealias Value = OtherPlacements }
