/// Which form of a service's public endpoint to use: FIPS 140 validated (`ec2-fips.…`),
/// dual-stack IPv4/IPv6 (`….api.aws`), or both.
///
/// Set as the AWS SDKs and CLI set it: `AWS_USE_FIPS_ENDPOINT` / `AWS_USE_DUALSTACK_ENDPOINT`
/// (`true` or `false`), else the profile's `use_fips_endpoint` / `use_dualstack_endpoint` in the
/// shared config file (`CredentialsSettings.endpointVariant`). Packer 1.6.6 reads neither.
public struct EndpointVariant: Sendable, Hashable {
  public var fips: Bool
  public var dualStack: Bool

  public init(fips: Bool = false, dualStack: Bool = false) {
    self.fips = fips
    self.dualStack = dualStack
  }
}

/// AWS's partitions, and a service's public endpoint in any region of any of them, as AWS's
/// own endpoint rules give it (the `endpoint-rule-set-1.json` of EC2 and STS with
/// `partitions.json`, which botocore ships and runs: `Tests/Fixtures/endpoint_peer.py` runs
/// them, and `EndpointTests` compares every region and variant with this).
///
/// A region belongs to the first partition, in AWS's order, that lists it or whose pattern
/// it has (`<prefix>-<word>-<number>`); a region of no partition is taken as `aws`, as the
/// rules take it.
public struct AWSPartition: Sendable {
  public let id: String
  /// The `<prefix>` of its regions' pattern: `cn` for `cn-north-1`, `us-gov` for `us-gov-west-1`.
  let regionPrefixes: [String]
  /// Region names it lists that its pattern does not match (`aws-global`, …).
  let otherRegions: Set<String>
  public let dnsSuffix: String
  public let dualStackDnsSuffix: String

  /// partitions.json, in its order (botocore 1.43).
  public static let all: [AWSPartition] = [
    AWSPartition(
      id: "aws", regionPrefixes: ["us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"], otherRegions: ["aws-global"],
      dnsSuffix: "amazonaws.com", dualStackDnsSuffix: "api.aws"),
    AWSPartition(
      id: "aws-cn", regionPrefixes: ["cn"], otherRegions: ["aws-cn-global"],
      dnsSuffix: "amazonaws.com.cn", dualStackDnsSuffix: "api.amazonwebservices.com.cn"),
    AWSPartition(
      id: "aws-eusc", regionPrefixes: ["eusc-de"], otherRegions: [],
      dnsSuffix: "amazonaws.eu", dualStackDnsSuffix: "api.amazonwebservices.eu"),
    AWSPartition(
      id: "aws-iso", regionPrefixes: ["us-iso"], otherRegions: ["aws-iso-global"],
      dnsSuffix: "c2s.ic.gov", dualStackDnsSuffix: "api.aws.ic.gov"),
    AWSPartition(
      id: "aws-iso-b", regionPrefixes: ["us-isob"], otherRegions: ["aws-iso-b-global"],
      dnsSuffix: "sc2s.sgov.gov", dualStackDnsSuffix: "api.aws.scloud"),
    AWSPartition(
      id: "aws-iso-e", regionPrefixes: ["eu-isoe"], otherRegions: ["aws-iso-e-global"],
      dnsSuffix: "cloud.adc-e.uk", dualStackDnsSuffix: "api.cloud-aws.adc-e.uk"),
    AWSPartition(
      id: "aws-iso-f", regionPrefixes: ["us-isof"], otherRegions: ["aws-iso-f-global"],
      dnsSuffix: "csp.hci.ic.gov", dualStackDnsSuffix: "api.aws.hci.ic.gov"),
    AWSPartition(
      id: "aws-us-gov", regionPrefixes: ["us-gov"], otherRegions: ["aws-us-gov-global"],
      dnsSuffix: "amazonaws.com", dualStackDnsSuffix: "api.aws"),
  ]

  /// The partition `region` is in.
  public static func of(_ region: String) -> AWSPartition {
    all.first { $0.contains(region) } ?? all[0]
  }

  func contains(_ region: String) -> Bool {
    otherRegions.contains(region) || regionPrefixes.contains { Self.matches(region, prefix: $0) }
  }

  /// `region` is `<prefix>-<word>-<digits>`, where a word is letters, digits and underscores
  /// (the `\w+` of AWS's patterns: no hyphen).
  static func matches(_ region: String, prefix: String) -> Bool {
    guard region.hasPrefix(prefix + "-") else { return false }
    let rest = region.dropFirst(prefix.count + 1).split(separator: "-", omittingEmptySubsequences: false)
    guard rest.count == 2, !rest[0].isEmpty, !rest[1].isEmpty else { return false }
    return rest[0].allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") } && rest[1].allSatisfy { $0.isASCII && $0.isNumber }
  }

  /// The public endpoint of `service` (`ec2`, `sts`) in `region`, in `variant`'s form.
  ///
  /// Two cases differ from `https://<service>[-fips].<region>.<suffix>`, both from AWS's rules:
  /// FIPS without dual-stack in GovCloud is the regional endpoint itself (GovCloud's endpoints
  /// are FIPS validated), and STS in `aws-global` is the global `sts.amazonaws.com`.
  public static func endpoint(service: String, region: String, variant: EndpointVariant) -> String {
    let partition = of(region)
    if service == "sts" && region == "aws-global" && variant == EndpointVariant() { return "https://sts.amazonaws.com" }
    if partition.id == "aws-us-gov" && variant.fips && !variant.dualStack { return "https://\(service).\(region).\(partition.dnsSuffix)" }
    let name = variant.fips ? "\(service)-fips" : service
    return "https://\(name).\(region).\(variant.dualStack ? partition.dualStackDnsSuffix : partition.dnsSuffix)"
  }
}

extension CredentialsSettings {
  /// The endpoint variant the environment or the profile asks for: `AWS_USE_FIPS_ENDPOINT`,
  /// else the profile's `use_fips_endpoint`; the same for dual-stack.
  ///
  /// - Throws: `AWSConfigurationError` naming the setting whose value is not `true`/`false`.
  public func endpointVariant() throws(AWSConfigurationError) -> EndpointVariant {
    let profile = sharedFiles.profiles[profileName] ?? [:]
    func flag(_ variable: String, _ key: String) throws(AWSConfigurationError) -> Bool {
      let (value, source) =
        if let value = environment[variable], !value.isEmpty { (value, variable) } else { (profile[key] ?? "", "\(key) in profile \(profileName)") }
      switch value.lowercased() {
      case "": return false
      case "true": return true
      case "false": return false
      default: throw AWSConfigurationError("\(source) must be true or false, not \"\(value)\"")
      }
    }
    return EndpointVariant(
      fips: try flag("AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint"),
      dualStack: try flag("AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint"))
  }
}
