public import KilnCore

/// The amazon plugin's `AmiFilterOptions`: `filters`, `owners`, `most_recent` and
/// `include_deprecated`. The `amazon-ebs` builder reads them in its `source_ami_filter`
/// block, the `amazon-ami` data source at the top of its configuration; both find the image
/// with `find(in:imageIDs:)` (`AMIFilter+Find.swift`).
public struct AMIFilter: Sendable {
  /// DescribeImages filters, name → value (one value each, as Packer's map has it).
  public var filters: [(key: String, value: String)] = []
  /// Account ids, `self`, or owner aliases (`amazon`, `aws-marketplace`).
  public var owners: [String] = []
  /// Pick the newest of several matches instead of refusing them.
  public var mostRecent = false
  public var includeDeprecated = false

  public init() {}

  /// Reads the four options from `r` (a `source_ami_filter` block, or a data source's top level).
  public init(from r: inout ConfigReader) {
    filters = r.stringMap("filters") ?? []
    owners = r.stringList("owners") ?? []
    mostRecent = r.bool("most_recent") ?? false
    includeDeprecated = r.bool("include_deprecated") ?? false
  }
}
