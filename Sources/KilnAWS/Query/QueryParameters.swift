import Foundation

/// The parameters of an AWS Query API call, in EC2's flattened form (`Filter.1.Name`,
/// `Filter.1.Value.1`, `TagSpecification.1.Tag.2.Key`, ...).
public struct QueryParameters: Sendable {
  public private(set) var items: [(String, String)] = []

  public init() {}

  public mutating func add(_ name: String, _ value: String?) {
    if let value { items.append((name, value)) }
  }

  public mutating func add(_ name: String, _ value: Int?) { add(name, value.map(String.init)) }

  public mutating func add(_ name: String, _ value: Bool?) { add(name, value.map { $0 ? "true" : "false" }) }

  /// `Name.1`, `Name.2`, ...
  public mutating func add(list name: String, _ values: [String]) {
    for (index, value) in values.enumerated() { items.append(("\(name).\(index + 1)", value)) }
  }

  /// `Filter.N.Name` / `Filter.N.Value.M`
  public mutating func add(filters: [EC2Filter]) {
    for (index, filter) in filters.enumerated() {
      add("Filter.\(index + 1).Name", filter.name)
      add(list: "Filter.\(index + 1).Value", filter.values)
    }
  }

  /// `TagSpecification.N.ResourceType` / `TagSpecification.N.Tag.M.Key|Value`
  public mutating func add(tagSpecifications: [(resourceType: String, tags: [EC2Tag])]) {
    var index = 0
    for spec in tagSpecifications where !spec.tags.isEmpty {
      index += 1
      add("TagSpecification.\(index).ResourceType", spec.resourceType)
      add(tags: spec.tags, prefix: "TagSpecification.\(index).Tag")
    }
  }

  public mutating func add(tags: [EC2Tag], prefix: String = "Tag") {
    for (index, tag) in tags.enumerated() {
      add("\(prefix).\(index + 1).Key", tag.key)
      add("\(prefix).\(index + 1).Value", tag.value)
    }
  }

  /// The `application/x-www-form-urlencoded` body, encoded as botocore encodes it (space as
  /// `+`, everything but `A-Z a-z 0-9 - _ . ~` as `%XX`). AWS signs the raw bytes, so any
  /// valid encoding works there; moto re-encodes the parsed form this way before checking
  /// the signature, so this is the one encoding both accept.
  public func formBody(action: String, version: String) -> String {
    ([("Action", action), ("Version", version)] + items)
      .map { Self.formEncode($0.0) + "=" + Self.formEncode($0.1) }
      .joined(separator: "&")
  }

  public static func formEncode(_ text: String) -> String {
    SigV4.encode(text).replacingOccurrences(of: "%20", with: "+")
  }
}

public struct EC2Filter: Sendable, Equatable {
  public var name: String
  public var values: [String]
  public init(_ name: String, _ values: [String]) {
    self.name = name
    self.values = values
  }
}

public struct EC2Tag: Sendable, Equatable, Hashable {
  public var key: String
  public var value: String
  public init(_ key: String, _ value: String) {
    self.key = key
    self.value = value
  }
}
