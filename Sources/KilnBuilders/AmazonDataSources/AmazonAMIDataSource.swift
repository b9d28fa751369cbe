import KilnAWS
public import KilnCore

/// The amazon plugin's `amazon-ami` data source: the one AMI that `filters` and `owners`
/// select (the newest of several with `most_recent`), found with the same code as the
/// `amazon-ebs` builder's `source_ami_filter` (`AMIFilter`).
///
/// Configuration: `filters`, `owners` (required, for security, as in Packer), `most_recent`,
/// `include_deprecated`, and the access options (`AWSAccessConfig`: `region`, keys,
/// `profile`, `assume_role`, `custom_endpoint_ec2`, …).
///
/// Outputs (`outputNames`): the plugin's `id`, `name`, `creation_date`, `owner`,
/// `owner_name`, `tags` (a map), and, beyond the plugin's (v1.8.2) list, `root_device_name`,
/// `root_device_type` and `virtualization_type`. None is sensitive.
///
/// Errors are the plugin's words (`No AMI was found matching filters: …`, `Your query
/// returned more than one result. …`, `Error querying AMI: …`), after the block's label.
public struct AmazonAMIDataSource: DataSourcePlugin {
  public static let typeName = "amazon-ami"
  public static let outputNames = [
    "id", "name", "creation_date", "owner", "owner_name", "tags", "root_device_name", "root_device_type", "virtualization_type",
  ]

  public let name: String
  public var access: AWSAccessConfig
  public var filter: AMIFilter
  /// Where the block is, for errors found when it is evaluated.
  let location: SourceLocation

  public init(name: String, from r: inout ConfigReader) {
    self.name = name
    location = r.node.location
    access = AWSAccessConfig(from: &r)
    AmazonDataSources.acceptAccessOptionsWithoutEffect(&r, callsEC2: true)
    filter = AMIFilter(from: &r)
    if filter.owners.isEmpty {
      r.error(
        "'owners' must be specified: for security reasons kiln, like Packer, does not pick an image from any account",
        at: r.has("owners") ? r.location(of: "owners") : nil)
    }
    if filter.owners.isEmpty, filter.filters.isEmpty {
      r.error("'filters' must be specified", at: r.has("filters") ? r.location(of: "filters") : nil)
    }
  }
}
