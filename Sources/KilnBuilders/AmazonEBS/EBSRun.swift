import Foundation
import KilnAWS
import KilnCore
import Synchronization

/// What every step of one `amazon-ebs` build shares: the configuration, one EC2 client per
/// region it touches (build region and `ami_regions`), the tags that mark everything this
/// run creates, the wait policies after `aws_polling`, and the list of live resources.
///
/// Packer keeps these in its string-keyed state bag; here they are plain stored properties
/// of one value, and only what steps learn while running goes into `BuildState`.
struct EBSRun: Sendable {
  let config: AmazonEBSConfig
  let context: BuildContext
  /// The build region (the template's, else the environment's or the profile's).
  let region: String
  let clients: [String: any EC2API]
  /// `kiln:run`, `kiln:template`, `kiln:build`, `kiln:created`: on every resource Kiln
  /// creates, so that what a killed process left can be found (`kiln:run` = the run's UUID).
  let kilnTags: [EC2Tag]
  let resources: LiveResources
  let waits: WaitPolicies
  /// `AWS_CA_BUNDLE` or the profile's `ca_bundle`: the AWS calls' trust, also for checkip.
  let caBundle: String?

  var ui: any BuildUI { context.ui }

  /// Asks `look` up to three times, 2 s apart, until it finds something: what a create call
  /// cut short may have made can take a moment to be listed (and a deletion to show).
  func lookAgain<Found>(_ look: () async throws -> Found?) async throws -> Found? {
    for attempt in 1...3 {
      if let found = try await look() { return found }
      if attempt < 3 { try await Task.sleep(for: .seconds(2)) }
    }
    return nil
  }
  var ec2: any EC2API { clients[region]! }

  func client(_ region: String) -> any EC2API { clients[region]! }

  /// Every region an AMI of this build may be in: the build region, then `ami_regions`.
  var amiRegions: [String] { [region] + config.amiRegions.filter { $0 != region } }

  /// The wait policies with the template's `aws_polling` and the environment's overrides.
  struct WaitPolicies: Sendable {
    var instance: WaitPolicy
    var image: WaitPolicy
    var copy: WaitPolicy
    var securityGroup: WaitPolicy

    init(_ polling: AmazonEBSConfig.Polling?, environment: [String: String]) throws {
      func apply(_ policy: WaitPolicy) throws -> WaitPolicy {
        try policy.overridden(delaySeconds: polling?.delaySeconds, maxAttempts: polling?.maxAttempts, environment: environment)
      }
      instance = try apply(.instanceState)
      image = try apply(.imageAvailable)
      copy = try apply(.imageCopy)
      securityGroup = try apply(.securityGroupExists)
    }
  }

  /// Renders a late key (`tags`, `run_tags`, `ami_description`, …) with the build's data:
  /// `.SourceAMI`, `.BuildRegion`, … and `{{build `…`}}`.
  func render(_ text: String, _ state: BuildState) throws -> String {
    let data = state[GeneratedData.self] ?? [:]
    var fields: [String: TemplateValue] = data.mapValues { .string($0) }
    fields["SourceAMITags"] = .map((state[SourceImage.self]?.tags ?? []).reduce(into: [:]) { $0[$1.key] = .string($1.value) })
    return try context.render(text, phase: .builder, buildValues: data, fields: fields)
  }

  /// Renders a tag map (keys and values) for a late key, in template order.
  func renderTags(_ tags: [(key: String, value: String)], _ state: BuildState) throws -> [EC2Tag] {
    try tags.map { EC2Tag(try render($0.key, state), try render($0.value, state)) }
  }

  /// Kiln's tags with `tags` over them (the user's win on a clash; they cannot clash unless
  /// the template uses `kiln:` keys on purpose).
  func withKilnTags(_ tags: [EC2Tag]) -> [EC2Tag] { Self.overlay(kilnTags, with: tags) }

  /// `base` with `top` laid over it: a key in both keeps `top`'s value, and appears once (EC2
  /// refuses a tag list with a key twice).
  static func overlay(_ base: [EC2Tag], with top: [EC2Tag]) -> [EC2Tag] {
    base.filter { tag in !top.contains { $0.key == tag.key } } + top
  }

  /// `packer_<uuid>`-style names for temporary resources: `kiln_<uuid>`.
  static func temporaryName() -> String { "kiln_" + UUID().uuidString.lowercased() }
}

/// The resources one build has created, or asked EC2 to create, and not yet removed: a
/// resource is recorded before its create call goes out, so one whose answer never came
/// (a Ctrl-C while the call was in flight) is still looked for and named. Each is also recorded in the
/// process-wide `ResourceJournal`, which a second Ctrl-C prints; `-on-error=abort` prints the
/// build's own list, so the user knows exactly what was left for inspection.
final class LiveResources: Sendable {
  private let tokens = Mutex<[Int: String]>([:])

  @discardableResult
  func record(_ description: String) -> Int {
    let token = ResourceJournal.shared.record(description)
    tokens.withLock { $0[token] = description }
    return token
  }

  /// A resource recorded before its create call (by the name Kiln chose, or the launch's
  /// client token) is now known by its id.
  func update(_ token: Int, _ description: String) {
    ResourceJournal.shared.update(token, description)
    tokens.withLock { if $0[token] != nil { $0[token] = description } }
  }

  func settle(_ token: Int?) {
    guard let token else { return }
    ResourceJournal.shared.settle(token)
    _ = tokens.withLock { $0.removeValue(forKey: token) }
  }

  var outstanding: [String] {
    tokens.withLock { tokens in tokens.keys.sorted().map { tokens[$0]! } }
  }
}

// MARK: - What steps learn, in the build state

/// The source image (`source_ami` or the newest match of `source_ami_filter`).
enum SourceImage: StateKey { typealias Value = EC2Image }
/// Packer's generated data: `BuildRegion`, `SourceAMI`, `SourceAMIName`, … for late keys,
/// provisioners (`{{build `SourceAMI`}}`) and post-processors.
enum GeneratedData: StateKey { typealias Value = [String: String] }
/// Where the instance goes: VPC, subnet and availability zone ("" when EC2 picks).
enum NetworkPlacement: StateKey { typealias Value = (vpcID: String, subnetID: String, availabilityZone: String) }
/// The key pair the instance is launched with, and the private key Kiln holds for it (a
/// temporary one, in memory).
enum LaunchKeyPair: StateKey { typealias Value = (name: String, privateKeyPEM: String?, publicKeyLine: String?) }
/// Security groups the instance joins.
enum SecurityGroupIDs: StateKey { typealias Value = [String] }
/// The build instance, as last described. Its id is written the moment RunInstances returns.
enum BuildInstance: StateKey { typealias Value = EC2Instance }
/// The AMIs of this build, region → id, written the moment CreateImage/CopyImage returns.
enum BuildAMIs: StateKey { typealias Value = [String: String] }
/// The snapshots behind those AMIs, region → ids.
enum BuildSnapshots: StateKey { typealias Value = [String: [String]] }
/// Regions where an AMI of this build may exist even though its id never came back (a
/// CreateImage/CopyImage request in flight when the build was cancelled).
enum ImageRequestsSent: StateKey { typealias Value = Set<String> }
/// The intermediary AMI (`encrypt_boot`, `skip_save_build_region`), removed once copied.
enum IntermediaryAMI: StateKey { typealias Value = String }
/// Set by the last step: the AMIs are the build's result and must be kept.
enum BuildCompleted: StateKey { typealias Value = Bool }
