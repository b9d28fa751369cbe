public import Foundation
public import KilnAWS

/// Finds, and on request removes, what builds left in EC2 — after a SIGKILL, a lost CI
/// runner, or `-on-error=abort` — by the tags every amazon-ebs build puts on what it creates
/// (`kiln:run`, `kiln:created`). AMIs and snapshots of builds that completed carry
/// `kiln:state=complete` and are never touched: they are results, not leftovers.
///
/// A spot build's Spot Instance request is tagged too (RunInstances' `spot-instances-request`
/// tag specification). One still `open` — a build killed while EC2 held its request for
/// capacity — could launch an instance after the build is gone, so it is listed, and cancelled
/// before anything else is removed. Active, closed and cancelled requests are not listed: an
/// active one-time request ends with its instance, which is listed on its own.
public struct ResourceSweep: Sendable {
  public struct Leftover: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
      case spotRequest = "spot request"
      case instance, volume
      case securityGroup = "security group"
      case keyPair = "key pair"
      case image = "AMI"
      case snapshot
    }
    public var kind: Kind
    public var id: String
    public var region: String
    public var run: String
    public var created: String

    public var description: String { "\(kind.rawValue) \(id) in \(region) (run \(run), created \(created.isEmpty ? "?" : created))" }
  }

  public let client: any EC2API
  /// Only this run's resources (a `kiln:run` value); every run's when nil.
  public var run: String?
  /// Only resources created before this date (by their `kiln:created` tag).
  public var createdBefore: Date?

  public init(client: any EC2API, run: String? = nil, createdBefore: Date? = nil) {
    self.client = client
    self.run = run
    self.createdBefore = createdBefore
  }

  var tagFilter: EC2Filter { run.map { EC2Filter("tag:kiln:run", [$0]) } ?? EC2Filter("tag-key", ["kiln:run"]) }

  /// Everything left, in the order it must be removed (open spot requests first: they could
  /// still launch an instance; then instances: volumes, groups and key pairs are held by them).
  public func find() async throws -> [Leftover] {
    let region = client.region
    func leftover(_ kind: Leftover.Kind, _ id: String, _ tags: [EC2Tag]) -> Leftover? {
      let value = { (key: String) in tags.first { $0.key == key }?.value ?? "" }
      if let createdBefore {
        guard let created = try? Date(value("kiln:created"), strategy: .iso8601), created < createdBefore else { return nil }
      }
      return Leftover(kind: kind, id: id, region: region, run: value("kiln:run"), created: value("kiln:created"))
    }
    let incomplete = { (tags: [EC2Tag]) in !tags.contains(EC2Tag("kiln:state", "complete")) }
    var found: [Leftover] = []
    found += try await client.describeSpotInstanceRequests(filters: [tagFilter, EC2Filter("state", ["open"])]).filter { $0.state == "open" }
      .compactMap { leftover(.spotRequest, $0.requestID, $0.tags) }
    found += try await client.describeInstances(filters: [tagFilter]).filter { !["terminated", "shutting-down"].contains($0.state) }
      .compactMap { leftover(.instance, $0.instanceID, $0.tags) }
    var snapshots: [Leftover] = []
    for image in try await client.describeImages(owners: ["self"], filters: [tagFilter]) where incomplete(image.tags) {
      guard let item = leftover(.image, image.imageID, image.tags) else { continue }
      found.append(item)
      // Its snapshots go with it, whatever their tags (CreateImage and CopyImage tag them as
      // they make them; AMIs of older Kiln builds had them tagged later).
      snapshots += image.snapshotIDs.map { Leftover(kind: .snapshot, id: $0, region: region, run: item.run, created: item.created) }
    }
    for snapshot in try await client.describeSnapshots(owners: ["self"], filters: [tagFilter]) where incomplete(snapshot.tags) {
      if let item = leftover(.snapshot, snapshot.snapshotID, snapshot.tags), !snapshots.contains(where: { $0.id == item.id }) {
        snapshots.append(item)
      }
    }
    found += snapshots
    found += try await client.describeVolumes(filters: [tagFilter]).compactMap { leftover(.volume, $0.volumeID, $0.tags) }
    found += try await client.describeSecurityGroups(filters: [tagFilter]).compactMap { leftover(.securityGroup, $0.groupID, $0.tags) }
    found += try await client.describeKeyPairs(filters: [tagFilter]).compactMap { leftover(.keyPair, $0.keyName, $0.tags) }
    return found
  }

  /// Removes `leftovers` (as `find` returned them): cancels open spot requests, terminates the
  /// instances and waits, then
  /// deregisters AMIs before deleting snapshots, then volumes, groups and key pairs. Returns
  /// what could not be removed, with why.
  public func remove(_ leftovers: [Leftover], waitPolicy: WaitPolicy = .instanceState, say: @Sendable (String) -> Void) async -> [String] {
    var problems: [String] = []
    let requests = leftovers.filter { $0.kind == .spotRequest }.map(\.id)
    if !requests.isEmpty {
      do {
        try await client.cancelSpotInstanceRequests(requests)
        for id in requests { say("cancelled spot request \(id)") }
      } catch {
        problems.append("spot requests \(requests.joined(separator: ", ")): \(error)")
      }
    }
    let instances = leftovers.filter { $0.kind == .instance }.map(\.id)
    if !instances.isEmpty {
      do {
        try await client.terminateInstances(instances)
        for id in instances {
          _ = try await client.waitForInstance(id, toBe: "terminated", policy: waitPolicy)
          say("terminated instance \(id)")
        }
      } catch {
        problems.append("instances \(instances.joined(separator: ", ")): \(error)")
      }
    }
    for item in leftovers where item.kind != .instance && item.kind != .spotRequest {
      do {
        switch item.kind {
        case .image: try await client.deregisterImage(item.id)
        case .snapshot: try await client.deleteSnapshot(item.id)
        case .volume: try await client.deleteVolume(item.id)
        case .securityGroup: try await client.deleteSecurityGroup(groupID: item.id)
        case .keyPair: try await client.deleteKeyPair(name: item.id)
        case .instance, .spotRequest: continue
        }
        say("removed \(item.kind.rawValue) \(item.id)")
      } catch let error as AWSServiceError where error.code.hasSuffix(".NotFound") || error.code.hasSuffix(".Unknown") {
        say("\(item.kind.rawValue) \(item.id) is already gone")
      } catch {
        problems.append("\(item): \(error)")
      }
    }
    return problems
  }
}
