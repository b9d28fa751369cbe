import KilnAWS
import KilnCore

/// A subnet the instance may be launched in, and its zone ("" and "": where EC2 chooses).
struct SubnetPlacement: Sendable, Equatable {
  var subnetID: String
  var availabilityZone: String

  /// No subnet and no zone: EC2 chooses (a default subnet of the default VPC).
  static let chosenByEC2 = SubnetPlacement(subnetID: "", availabilityZone: "")

  /// The first subnet of each zone, by zone then subnet id (capacity is a zone's, not a
  /// subnet's).
  static func onePerZone(_ subnets: [EC2Subnet]) -> [SubnetPlacement] {
    var seen: Set<String> = []
    return subnets.sorted { ($0.availabilityZone, $0.subnetID) < ($1.availabilityZone, $1.subnetID) }.compactMap { subnet in
      seen.insert(subnet.availabilityZone).inserted ? SubnetPlacement(subnetID: subnet.subnetID, availabilityZone: subnet.availabilityZone) : nil
    }
  }
}

/// Where else the instance may go when the first place has no capacity for it
/// (`StepNetwork` decides, `StepRunInstance` walks it).
enum OtherPlacements: Sendable, Equatable {
  /// These subnets, in order: other zones of the picked subnet's VPC. Empty when the template
  /// pins the zone.
  case listed([SubnetPlacement])
  /// The default VPC's default subnets, one per zone: a build with no network options
  /// launches where EC2 chooses, as Packer does, and looks these up only once EC2 has
  /// refused that launch for capacity — the build that gets its instance makes no extra call.
  case defaultSubnets
}

extension EBSRun {
  /// The default VPC's default subnets, one per zone, by zone; nil when this identity may not
  /// list subnets (said once: no other zone is tried then).
  func defaultSubnets() async throws -> [SubnetPlacement]? {
    do {
      let subnets = try await ec2.describeSubnets(filters: [EC2Filter("default-for-az", ["true"]), EC2Filter("state", ["available"])])
      return SubnetPlacement.onePerZone(subnets)
    } catch let error as AWSServiceError where error.code == "UnauthorizedOperation" {
      ui.message("Cannot list the default subnets (\(error.code)): no other zone is tried")
      return nil
    }
  }
}
