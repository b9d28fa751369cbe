import KilnAWS
import KilnCore

/// Mirrors Packer's `StepDeregisterAMI`.
///
/// With `-force` or `force_deregister`: deregisters the AMIs *owned by this account* that
/// carry the name, in the build region and every copy region, and with
/// `force_delete_snapshot` their snapshots.
///
/// Creates nothing; no cleanup (what it removes is gone for good, as in Packer).
struct StepDeregisterExisting: BuildStep {
  let name = "deregister-existing-ami"
  let run: EBSRun

  func run(_ state: BuildState) async throws {
    guard run.context.force || run.config.forceDeregister, !run.config.skipCreateAMI else { return }
    let amiName = run.config.amiName
    let deleteSnapshots = run.config.forceDeleteSnapshot
    let ui = run.ui
    try await withThrowingTaskGroup(of: Void.self) { group in
      for region in run.amiRegions {
        let client = run.client(region)
        group.addTask {
          for image in try await client.describeImages(owners: ["self"], filters: [EC2Filter("name", [amiName])]) {
            ui.say("Deregistered AMI \(image.imageID) (\(amiName)) in \(region)")
            try await client.deregisterImage(image.imageID)
            if deleteSnapshots {
              for snapshot in image.snapshotIDs {
                ui.say("Deleted snapshot \(snapshot) in \(region)")
                try await client.deleteSnapshot(snapshot)
              }
            }
          }
        }
      }
      try await group.waitForAll()
    }
  }
}
