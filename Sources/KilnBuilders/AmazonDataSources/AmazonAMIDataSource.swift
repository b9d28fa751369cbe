import Foundation
public import KilnAWS
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
    AmazonDataSources.acceptAccessOptionsWithoutEffect(&r)
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

  public func evaluate(_ context: DataSourceContext) async throws -> DataSourceOutput {
    let connection = try AmazonDataSources.connect(access, context, label: Self.label(name), at: location)
    return try await evaluate(ec2: try connection.ec2(connection.region, limiterKey: "data-sources"))
  }

  /// The evaluation over an EC2 client the caller makes (tests: moto, `FakeEC2`).
  public func evaluate(ec2: any EC2API) async throws -> DataSourceOutput {
    let label = Self.label(name)
    let match: AMIFilter.Match
    do {
      match = try await filter.find(in: ec2)
    } catch let error as CancellationError {
      throw error
    } catch {
      throw DataSourceError("\(label): Error querying AMI: \(error)", at: location)
    }
    switch match {
    case .none:
      let deprecated = filter.includeDeprecated ? "; deprecated images included" : ""
      throw DataSourceError("\(label): No AMI was found matching filters: \(filter.summary)\(deprecated)", at: location)
    case .many(let images):
      let sample = images.prefix(5).map { "\($0.imageID) (\($0.name))" }.joined(separator: ", ")
      throw DataSourceError(
        "\(label): Your query returned more than one result. Please try a more specific search, or set most_recent to true. (\(images.count) images: \(sample)\(images.count > 5 ? ", …" : ""))",
        at: location)
    case .found(let image):
      return DataSourceOutput(values: [
        "id": .string(image.imageID), "name": .string(image.name), "creation_date": .string(image.creationDate),
        "owner": .string(image.ownerID), "owner_name": .string(image.ownerAlias ?? ""),
        "tags": .map(image.tags.reduce(into: [:]) { $0[$1.key] = .string($1.value) }),
        "root_device_name": .string(image.rootDeviceName), "root_device_type": .string(image.rootDeviceType),
        "virtualization_type": .string(image.virtualizationType),
      ])
    }
  }
}
