import Foundation
import KilnAWS
import KilnCore

/// Mirrors Packer's `StepAMIRegionCopy`.
///
/// Copies the AMI to `ami_regions`, all regions at once (each CopyImage with its own
/// ClientToken, so the client's retry after a lost answer makes no second copy), with `encrypt_boot`, `kms_key_id`
/// and `region_kms_key_ids`; with an intermediary image, the encrypted copy into the build
/// region too, after which the intermediary is removed. Each copy and its snapshots get the
/// AMI's tags from CopyImage itself (TagSpecifications), as the original got them from
/// CreateImage: no CreateTags follows.
///
/// Creates: the copies in the other regions (and the build region's encrypted copy) and
/// their snapshots. Cleanup: none of its own; each copy's id goes into `BuildAMIs` as soon as
/// CopyImage answers (and the region into `ImageRequestsSent` before it is asked), so
/// `StepCreateAMI`'s rollback removes the copies of a failed or cancelled build.
struct StepCopyAMI: BuildStep {
  let name = "ami-region-copy"
  let run: EBSRun

  func run(_ state: BuildState) async throws {
    let config = run.config
    guard !config.skipCreateAMI, let source = state[BuildAMIs.self]?[run.region] else { return }
    var targets = config.amiRegions.filter { $0 != run.region }
    if config.usesIntermediaryAMI, !config.skipSaveBuildRegion { targets.insert(run.region, at: 0) }
    guard !targets.isEmpty else { return }
    let kmsKeys = Dictionary(config.regionKMSKeyIDs.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
    let description = try run.render(config.amiDescription, state)
    let tags = try run.amiTags(state)
    run.ui.say("Copying/Encrypting AMI (\(source)) to other regions...")
    let ui = run.ui
    let failures = await withTaskGroup(of: String?.self) { group in
      for region in targets {
        let client = run.client(region)
        let kmsKey = kmsKeys[region] ?? (region == run.region ? config.kmsKeyID : "")
        group.addTask {
          do {
            ui.message("Copying to: \(region)")
            state.update(ImageRequestsSent.self, default: []) { _ = $0.insert(region) }
            let copyID = try await client.copyImage(
              sourceImageID: source, sourceRegion: run.region, name: config.amiName,
              description: description.isEmpty ? nil : description, encrypted: config.encryptBoot,
              kmsKeyID: kmsKey.isEmpty ? nil : kmsKey, imageTags: tags.image, snapshotTags: tags.snapshot,
              snapshotCopyDurationMinutes: config.snapshotCopyDurationMinutes, clientToken: UUID().uuidString)
            // The intermediary's entry in the build region is replaced by its copy here.
            state.update(BuildAMIs.self, default: [:]) { $0[region] = copyID }
            let token = run.resources.record("AMI \(copyID) in \(region)")
            state.update(AMIResourceTokens.self, default: [:]) { $0[region] = token }
            ui.message("Copy in \(region): \(copyID)")
            let image = try await client.waitForImage(
              copyID, policy: run.waits.copy, progress: { ui.message("\(region): \($0)") }, status: { ui.progress("\(region): \($0)") })
            state.update(BuildSnapshots.self, default: [:]) { $0[region] = image.snapshotIDs }
            return nil
          } catch {
            return "\(region): \(error)"
          }
        }
      }
      var failures: [String] = []
      for await failure in group { if let failure { failures.append(failure) } }
      return failures.sorted()
    }
    try Task.checkCancellation()
    if !failures.isEmpty { throw BuildError("copying the AMI failed in \(failures.count) region(s): \(failures.joined(separator: "; "))") }
    if config.usesIntermediaryAMI, let intermediary = state[IntermediaryAMI.self] {
      try await removeIntermediary(intermediary, state)
    }
  }

  private func removeIntermediary(_ imageID: String, _ state: BuildState) async throws {
    run.ui.say("Deregistering the intermediary AMI \(imageID)...")
    let snapshots = try await run.ec2.describeImages(imageIDs: [imageID]).first?.snapshotIDs ?? []
    try await run.ec2.deregisterImage(imageID)
    for snapshot in snapshots { try await run.ec2.deleteSnapshot(snapshot) }
    if run.config.skipSaveBuildRegion {
      // Packer keeps the deleted intermediary in its artifact; Kiln's artifact lists only
      // AMIs that exist.
      state.update(BuildAMIs.self, default: [:]) { $0[run.region] = nil }
      state.update(BuildSnapshots.self, default: [:]) { $0[run.region] = nil }
    }
    state[IntermediaryAMI.self] = nil
  }
}
