import Foundation
public import KilnAWS
public import KilnCore

extension AmazonAMIDataSource {
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
