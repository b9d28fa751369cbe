import KilnAWS
import KilnCore

/// Mirrors Packer's `StepModifyAMIAttributes` and `StepCreateTags`, and the amazon plugin's
/// `StepEnableDeprecation` and `StepEnableDeregistrationProtection`.
///
/// Sharing, `imds_support`, product codes, deprecation and deregistration protection, for
/// every AMI of the build in every region (their tags came with CreateImage and CopyImage);
/// then the `kiln:state=complete` tag and `BuildCompleted`, which tells the rollback to keep
/// the AMIs.
///
/// The completion mark is the one CreateTags of a build, one per region: it cannot ride on
/// the create calls, because it must not exist until the build has finished. Put on at
/// creation, an AMI of a build killed (or whose rollback failed) after CreateImage or CopyImage
/// would carry it, and `kiln sweep` would keep that leftover as a result; and no cheaper sign
/// tells a result from a leftover in every region (the instance is in the build region only,
/// is terminated by a failed build too, and is listed for about an hour after).
///
/// Creates nothing (it changes the AMIs' attributes and tags); no cleanup.
struct StepFinishAMIs: BuildStep {
  let name = "modify-ami-attributes"
  let run: EBSRun

  func run(_ state: BuildState) async throws {
    let config = run.config
    let amis = state[BuildAMIs.self] ?? [:]
    let snapshotsByRegion = state[BuildSnapshots.self] ?? [:]
    let ui = run.ui
    try await withThrowingTaskGroup(of: Void.self) { group in
      for (region, imageID) in amis.sorted(by: { $0.key < $1.key }) {
        let client = run.client(region)
        let snapshots = snapshotsByRegion[region] ?? []
        group.addTask {
          if !config.amiUsers.isEmpty || !config.amiGroups.isEmpty || !config.amiOrgARNs.isEmpty || !config.amiOUARNs.isEmpty {
            ui.say("Modifying attributes on AMI (\(imageID)) in \(region)...")
            try await client.modifyImageAttribute(
              imageID: imageID, addUserIDs: config.amiUsers, addGroups: config.amiGroups,
              addOrganizationARNs: config.amiOrgARNs, addOrganizationalUnitARNs: config.amiOUARNs)
          }
          if !config.imdsSupport.isEmpty {
            ui.say("Setting IMDS support \(config.imdsSupport) on AMI (\(imageID)) in \(region)...")
            try await client.modifyImageAttribute(imageID: imageID, imdsSupport: config.imdsSupport)
          }
          if !config.amiProductCodes.isEmpty {
            try await client.modifyImageAttribute(imageID: imageID, productCodes: config.amiProductCodes)
          }
          if !config.snapshotUsers.isEmpty || !config.snapshotGroups.isEmpty {
            ui.say("Modifying attributes on snapshots of \(imageID) in \(region)...")
            for snapshot in snapshots {
              try await client.modifySnapshotAttribute(snapshotID: snapshot, addUserIDs: config.snapshotUsers, addGroups: config.snapshotGroups)
            }
          }
          if let date = config.deprecateAt {
            ui.say("Enabling deprecation on AMI (\(imageID)) in \(region)...")
            try await client.enableImageDeprecation(imageID: imageID, at: date)
          }
        }
      }
      try await group.waitForAll()
    }
    let protection = config.deregistrationProtection
    if protection.enabled {
      // Last, so that a failure above can still roll the AMIs back.
      for (region, imageID) in amis.sorted(by: { $0.key < $1.key }) {
        ui.say("Enabling deregistration protection on AMI (\(imageID)) in \(region)\(protection.withCooldown ? ", with a 24-hour cooldown" : "")...")
        try await run.client(region).enableImageDeregistrationProtection(imageID: imageID, withCooldown: protection.withCooldown)
      }
    }
    // The mark `kiln sweep` (and a person) tells a result from a leftover by.
    try await withThrowingTaskGroup(of: Void.self) { group in
      for (region, imageID) in amis {
        let client = run.client(region)
        let snapshots = snapshotsByRegion[region] ?? []
        group.addTask { try await client.createTags(resourceIDs: [imageID] + snapshots, tags: [EC2Tag("kiln:state", "complete")]) }
      }
      try await group.waitForAll()
    }
    state[BuildCompleted.self] = true
    for token in (state[AMIResourceTokens.self] ?? [:]).values { run.resources.settle(token) }
  }
}

// MARK: - What it tells the steps after it

/// Set by the last step: the AMIs are the build's result and must be kept.
enum BuildCompleted: StateKey { typealias Value = Bool }
