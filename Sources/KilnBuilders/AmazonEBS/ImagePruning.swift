public import Foundation
public import KilnAWS
import KilnCore

/// `kiln prune`: retention for the AMIs one template's builds made. Packer has none; users
/// write scripts around `aws ec2 describe-images`, and those scripts delete AMIs that
/// autoscaling groups still launch.
///
/// Which AMIs: owned by the account, tagged by Kiln with this template's file name
/// (`kiln:template`) and this build's name (`kiln:build`), and finished (`kiln:state=complete`:
/// what a killed build left is `kiln sweep`'s, not this). An AMI Kiln did not make is never
/// looked at.
///
/// What happens to them, region by region (the build region and every `ami_regions` one):
/// the newest `keep` stay. Each older one was superseded when the AMI `keep` places newer was
/// created; `deprecateAfter` that moment it is deprecated (EC2 `EnableImageDeprecation`, at
/// least a minute ahead, as EC2 wants a future time), and `deleteAfter` that moment it is
/// deregistered and its snapshots deleted — unless an instance was launched from it within
/// `deleteAfter` of now (`lastLaunchedTime`): an image still in use is spared. An image
/// already set to deprecate earlier keeps its own time.
public struct ImagePruning: Sendable {
  public struct Policy: Sendable {
    public var keep: Int
    public var deprecateAfter: TimeInterval?
    public var deleteAfter: TimeInterval?

    public init(keep: Int, deprecateAfter: TimeInterval? = nil, deleteAfter: TimeInterval? = nil) {
      self.keep = keep
      self.deprecateAfter = deprecateAfter
      self.deleteAfter = deleteAfter
    }
  }

  public enum Action: Sendable, Equatable {
    /// Among the newest `keep`.
    case keep
    /// Superseded, but not yet due for anything (or already deprecated by then).
    case wait(deprecateAt: Date?, deleteAt: Date?)
    case deprecate(at: Date)
    case delete(snapshots: [String])
    /// Due for deletion, but launched within the grace period.
    case spare(launched: Date)
  }

  public struct Decision: Sendable, Equatable {
    public var region: String
    public var image: EC2Image
    public var supersededAt: Date?
    public var action: Action
  }

  public let template: String
  public let build: String
  public let policy: Policy

  public init(template: String, build: String, policy: Policy) {
    self.template = template
    self.build = build
    self.policy = policy
  }

  /// The filters that find this template's finished AMIs of this build.
  public var filters: [EC2Filter] {
    [EC2Filter("tag:kiln:template", [template]), EC2Filter("tag:kiln:build", [build]), EC2Filter("tag:kiln:state", ["complete"])]
  }

  /// What to do with each of `images` (one region's), newest first. Pure: `now` is given.
  public func plan(region: String, images: [EC2Image], now: Date) -> [Decision] {
    let dated = images.map { (image: $0, created: Self.date($0.creationDate) ?? .distantPast) }
      .sorted { $0.created != $1.created ? $0.created > $1.created : $0.image.imageID > $1.image.imageID }
    return dated.enumerated().map { position, entry in
      let image = entry.image
      guard position >= policy.keep else { return Decision(region: region, image: image, supersededAt: nil, action: .keep) }
      let superseded = dated[position - policy.keep].created
      let deleteAt = policy.deleteAfter.map { superseded.addingTimeInterval($0) }
      if let deleteAt, deleteAt <= now, let grace = policy.deleteAfter {
        if let launched = image.lastLaunchedTime.flatMap(Self.date), now.timeIntervalSince(launched) < grace {
          return Decision(region: region, image: image, supersededAt: superseded, action: .spare(launched: launched))
        }
        let snapshots = image.blockDevices.compactMap(\.snapshotID)
        return Decision(region: region, image: image, supersededAt: superseded, action: .delete(snapshots: snapshots))
      }
      if let after = policy.deprecateAfter {
        let wanted = max(superseded.addingTimeInterval(after), now.addingTimeInterval(60))
        let current = image.deprecationTime.flatMap(Self.date)
        // EC2 rounds a deprecation time up to the minute: one within a minute after the
        // wanted time is the one an earlier prune set.
        if current == nil || current! > wanted.addingTimeInterval(60) {
          return Decision(region: region, image: image, supersededAt: superseded, action: .deprecate(at: wanted))
        }
        return Decision(region: region, image: image, supersededAt: superseded, action: .wait(deprecateAt: current, deleteAt: deleteAt))
      }
      return Decision(
        region: region, image: image, supersededAt: superseded,
        action: .wait(deprecateAt: image.deprecationTime.flatMap(Self.date), deleteAt: deleteAt))
    }
  }

  /// Reads one region's AMIs and plans them.
  public func plan(region: String, client: any EC2API, now: Date = Date()) async throws -> [Decision] {
    let images = try await client.describeImages(imageIDs: [], owners: ["self"], filters: filters, includeDeprecated: true)
    return plan(region: region, images: images.filter { $0.state != "deregistered" }, now: now)
  }

  /// Carries out `decision`; throws what EC2 said.
  public func apply(_ decision: Decision, client: any EC2API) async throws {
    switch decision.action {
    case .deprecate(let at):
      try await client.enableImageDeprecation(imageID: decision.image.imageID, at: at)
    case .delete(let snapshots):
      try await client.deregisterImage(decision.image.imageID)
      for snapshot in snapshots { try await client.deleteSnapshot(snapshot) }
    case .keep, .wait, .spare:
      break
    }
  }

  /// One line per decision, for people and scripts: region, AMI, name, created, what.
  public static func describe(_ decision: Decision) -> String {
    let image = decision.image
    let head = "\(decision.region) \(image.imageID) \(image.name) (created \(image.creationDate))"
    let superseded = decision.supersededAt.map { "superseded \($0.formatted(.iso8601))" } ?? ""
    switch decision.action {
    case .keep:
      return "\(head): keep"
    case .wait(let deprecateAt, let deleteAt):
      var parts = [superseded]
      if let deprecateAt { parts.append("deprecated at \(deprecateAt.formatted(.iso8601))") }
      if let deleteAt { parts.append("deleted from \(deleteAt.formatted(.iso8601))") }
      return "\(head): wait (\(parts.joined(separator: "; ")))"
    case .deprecate(let at):
      return "\(head): deprecate at \(at.formatted(.iso8601)) (\(superseded))"
    case .delete(let snapshots):
      return "\(head): delete with \(snapshots.isEmpty ? "no snapshots" : snapshots.joined(separator: ", ")) (\(superseded))"
    case .spare(let launched):
      return "\(head): spare: an instance was launched from it at \(launched.formatted(.iso8601)), within the grace period (\(superseded))"
    }
  }

  static func date(_ text: String) -> Date? {
    if let date = try? Date(text, strategy: .iso8601) { return date }
    return try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
  }
}
