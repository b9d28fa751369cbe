import KilnAWS
import KilnCore
import KilnCrypto

/// Kiln's own step (Packer has no `-skip-unchanged`), right after the source AMI is known.
///
/// Completes the build's fingerprint: what the template gives (`BuildContext.inputsFingerprint`,
/// see `KilnBuild.BuildFingerprint`) and the resolved source AMI id, as one SHA-256 that
/// `StepCreateAMI` and `StepCopyAMI` tag the AMIs with (`kiln:fingerprint`). With
/// `-skip-unchanged`, when finished AMIs of this fingerprint (`kiln:state=complete`, owned by
/// the account, available) exist in the build region and every `ami_regions` region, they are
/// the build's artifact and the build stops here: no instance, no key pair, only describe
/// calls. The post-processors then run on them (the manifest gets its entry).
///
/// Creates nothing; no cleanup. Writes `InputFingerprint`, and `BuildAMIs` when it skips.
struct StepSkipUnchanged: BuildStep {
  let name = "skip-unchanged"
  let run: EBSRun

  func run(_ state: BuildState) async throws {
    guard let fingerprintInputs = run.context.inputsFingerprint, let source = state[SourceImage.self] else { return }
    let inputs = try fingerprintInputs()
    let fingerprint = Digest.hex(try Digest.sha256(Array("\(inputs)\nsource-ami \(source.imageID)\n".utf8)))
    state[InputFingerprint.self] = fingerprint
    guard run.context.skipUnchanged else { return }
    var found: [String: String] = [:]
    for region in [run.region] + run.config.amiRegions where found[region] == nil {
      let images = try await run.client(region).describeImages(
        imageIDs: [], owners: ["self"],
        filters: [EC2Filter("tag:kiln:fingerprint", [fingerprint]), EC2Filter("tag:kiln:state", ["complete"]), EC2Filter("state", ["available"])],
        includeDeprecated: nil)
      guard let newest = images.max(by: { ($0.creationDate, $0.imageID) < ($1.creationDate, $1.imageID) }) else {
        run.ui.say("Inputs changed since the last build (no AMI with fingerprint \(fingerprint.prefix(12)) in \(region)): building")
        return
      }
      found[region] = newest.imageID
    }
    run.ui.say("Nothing changed since the build of \(found[run.region] ?? "?") (fingerprint \(fingerprint.prefix(12))): skipping the build")
    state[BuildAMIs.self] = found
    throw StopSteps()
  }
}

// MARK: - What it tells the steps after it

/// The build's fingerprint, for the AMIs' `kiln:fingerprint` tag.
enum InputFingerprint: StateKey { typealias Value = String }
