import Foundation
import KilnAWS
import KilnCore

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

  /// The tags that tell what this build made from anything else: its `kiln:run` (the run's
  /// UUID) and `kiln:build`.
  var identityTags: [EC2Tag] { kilnTags.filter { ["kiln:run", "kiln:build"].contains($0.key) } }

  /// Whether a resource with `tags` was made by this build: a create call whose answer was
  /// lost made it, and its resend was refused as a duplicate. Anything else with the same
  /// name (a user's own) is never adopted, nor deleted.
  func isOwn(_ tags: [EC2Tag]) -> Bool { identityTags.allSatisfy(tags.contains) }

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

  /// The tags of the build's AMIs and of their snapshots: `run_tags` (unless
  /// `skip_ami_run_tags`), then `tags`, then for snapshots `snapshot_tags`, and Kiln's tags.
  /// Given at creation (`StepCreateAMI`) or afterwards to copies (`StepFinishAMIs`).
  func amiTags(_ state: BuildState) throws -> (image: [EC2Tag], snapshot: [EC2Tag]) {
    let runTags = config.skipAMIRunTags ? [] : try renderTags(config.runTags, state)
    let image = Self.overlay(runTags, with: try renderTags(config.tags, state))
    let snapshot = Self.overlay(image, with: try renderTags(config.snapshotTags, state))
    // The build's fingerprint goes on the AMIs (not their snapshots): what -skip-unchanged finds.
    let fingerprint = state[InputFingerprint.self].map { [EC2Tag("kiln:fingerprint", $0)] } ?? []
    return (withKilnTags(image) + fingerprint, withKilnTags(snapshot))
  }

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
/// (a Ctrl-C while the call was in flight) is still looked for and named. This is the
/// build's view of the run's one ledger (`BuildContext.resources`), which a second Ctrl-C
/// prints whole; `-on-error=abort` prints what this build recorded, so the user knows
/// exactly what was left for inspection.
final class LiveResources: Sendable {
  private let ledger: ResourceJournal
  private let owner: ResourceJournal.Owner

  init(_ context: BuildContext) {
    ledger = context.resources
    owner = ResourceJournal.Owner(build: context.buildName, plugin: context.buildType)
  }

  @discardableResult
  func record(_ description: String) -> Int { ledger.record(description, by: owner) }

  /// A resource recorded before its create call (by the name Kiln chose, or the launch's
  /// client token) is now known by its id.
  func update(_ token: Int, _ description: String) { ledger.update(token, description) }

  func settle(_ token: Int?) {
    guard let token else { return }
    ledger.settle(token)
  }

  var outstanding: [String] { ledger.outstanding(of: owner) }
}

extension EarlyCleanupGroup {
  /// The temporary key pair (`StepKeyPair`), released once the instance is running.
  static let temporaryKeyPair = EarlyCleanupGroup("temporary-key-pair")
  /// The build instance with its volumes, the SSH connection to it and its temporary security
  /// group (`StepConnectSSH`, `StepRunInstance`, `StepSecurityGroup`), released once EC2 has
  /// taken the snapshots of every volume of the stopped instance (`StepCreateAMI`), so that
  /// its termination overlaps the image and copy waits.
  static let sourceInstance = EarlyCleanupGroup("source-instance")
}
