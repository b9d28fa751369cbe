public import KilnAWS

extension AMIFilter {
  /// What a search found: nothing, the one image (the only match, or the newest with
  /// `most_recent`), or several when `most_recent` is off. Each caller words the outcome.
  public enum Match: Sendable {
    case none
    case found(EC2Image)
    case many([EC2Image])
  }

  /// DescribeImages with these filters and owners (and `imageIDs`, for `source_ami`), deprecated
  /// images included when `include_deprecated` is set, then the choice: one match is the
  /// image; of several, the newest by creation date when `most_recent` is set (ties go to
  /// the lowest image id, so the choice is stable), else `.many`.
  public func find(in ec2: any EC2API, imageIDs: [String] = []) async throws -> Match {
    let images = try await ec2.describeImages(
      imageIDs: imageIDs, owners: owners, filters: filters.map { EC2Filter($0.key, [$0.value]) },
      includeDeprecated: includeDeprecated ? true : nil)
    switch images.count {
    case 0: return .none
    case 1: return .found(images[0])
    default:
      guard mostRecent else { return .many(images) }
      // ISO 8601 timestamps sort as text.
      return .found(images.max { ($0.creationDate, $1.imageID) < ($1.creationDate, $0.imageID) }!)
    }
  }

  /// The filters and owners, for messages: `filters name=ubuntu/*; owners 099720109477`.
  public var summary: String {
    var parts: [String] = []
    if !filters.isEmpty { parts.append("filters " + filters.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")) }
    if !owners.isEmpty { parts.append("owners " + owners.joined(separator: ", ")) }
    return parts.joined(separator: "; ")
  }
}
