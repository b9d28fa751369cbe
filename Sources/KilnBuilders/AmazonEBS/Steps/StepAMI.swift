import Foundation
import KilnAWS
import KilnCore

/// With `-force` or `force_deregister`: deregisters the AMIs *owned by this account* that
/// carry the name, in the build region and every copy region, and with
/// `force_delete_snapshot` their snapshots (Packer's `StepDeregisterAMI`).
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

/// CreateImage from the stopped instance (Packer's `stepCreateAMI`): the image is tagged at
/// creation with `run_tags` (unless `skip_ami_run_tags`), `tags` and Kiln's tags; its
/// snapshots get the same plus `snapshot_tags` as soon as the image is available. The id is
/// in the state the moment EC2 answers; the wait shows snapshot progress.
///
/// The cleanup is the rollback Packer lacks (hashicorp/packer#10248): unless the build
/// completed, every AMI of this build in every region — copies included, and images whose
/// id never came back because the request was in flight at Ctrl-C (found by name and run
/// tag) — is deregistered and its snapshots deleted.
struct StepCreateAMI: BuildStep {
  let name = "create-ami"
  let run: EBSRun

  /// Whether an intermediary image is made first and copied (encrypted) to the final name.
  var usesIntermediary: Bool { run.config.encryptBoot == true || run.config.skipSaveBuildRegion }

  func run(_ state: BuildState) async throws {
    let config = run.config
    guard !config.skipCreateAMI else {
      run.ui.say("Skipping AMI creation...")
      return
    }
    guard let instance = state[BuildInstance.self] else { throw BuildError("no instance") }
    let imageName = usesIntermediary ? "kiln-intermediary-\(UUID().uuidString.prefix(8).lowercased())" : config.amiName
    var request = EC2Client.CreateImageRequest(instanceID: instance.instanceID, name: imageName)
    request.description = usesIntermediary ? "Intermediary image of a Kiln build" : try run.render(config.amiDescription, state)
    if request.description?.isEmpty == true { request.description = nil }
    request.blockDevices = config.amiBlockDeviceMappings.map(\.input)
    let tags = try imageTags(state)
    // Snapshots are tagged with CreateTags once their ids are known: the snapshot
    // TagSpecification of CreateImage is not implemented by moto, which the tests run against.
    request.tagSpecifications = [("image", usesIntermediary ? run.kilnTags : tags.image)]
    run.ui.say("Creating AMI \(imageName) from instance \(instance.instanceID)")
    state.update(ImageRequestsSent.self, default: []) { _ = $0.insert(run.region) }
    let imageID = try await createImage(request)
    state.update(BuildAMIs.self, default: [:]) { $0[run.region] = imageID }
    let token = run.resources.record("AMI \(imageID) in \(run.region)")
    state.update(Tokens.self, default: [:]) { $0[run.region] = token }
    if usesIntermediary { state[IntermediaryAMI.self] = imageID } else { state.update(TaggedAtCreation.self, default: []) { _ = $0.insert(run.region) } }
    run.ui.message("AMI: \(imageID)")
    run.ui.say("Waiting for AMI to become ready...")
    let ui = run.ui
    let image = try await run.ec2.waitForImage(imageID, policy: run.waits.image) { ui.progress($0); ui.message($0) }
    state.update(BuildSnapshots.self, default: [:]) { $0[run.region] = image.snapshotIDs }
    try await run.ec2.createTags(resourceIDs: image.snapshotIDs, tags: usesIntermediary ? run.kilnTags : tags.snapshot)
  }

  /// CreateImage, retried while EC2 still reports the instance as not yet stopped.
  private func createImage(_ request: EC2Client.CreateImageRequest) async throws -> String {
    let clock = ContinuousClock()
    let deadline = clock.now + .seconds(900)
    while true {
      do {
        return try await run.ec2.createImage(request)
      } catch let error as AWSServiceError where error.code == "InvalidParameterValue" && error.message.contains("not in state") && clock.now < deadline {
        try await Task.sleep(for: .seconds(5))
      }
    }
  }

  /// The tags of the final image and of its snapshots.
  func imageTags(_ state: BuildState) throws -> (image: [EC2Tag], snapshot: [EC2Tag]) {
    let runTags = run.config.skipAMIRunTags ? [] : try run.renderTags(run.config.runTags, state)
    let image = EBSRun.overlay(runTags, with: try run.renderTags(run.config.tags, state))
    let snapshot = EBSRun.overlay(image, with: try run.renderTags(run.config.snapshotTags, state))
    return (run.withKilnTags(image), run.withKilnTags(snapshot))
  }

  enum Tokens: StateKey { typealias Value = [String: Int] }
  /// Regions whose AMI got the user's tags from CreateImage itself.
  enum TaggedAtCreation: StateKey { typealias Value = Set<String> }

  func cleanup(_ state: BuildState) async throws {
    guard state[BuildCompleted.self] != true else { return }
    let regions = Set(state[BuildAMIs.self]?.keys.map { $0 } ?? []).union(state[ImageRequestsSent.self] ?? [])
    guard !regions.isEmpty else { return }
    run.ui.say("Deregistering the AMIs of this failed build and deleting their snapshots...")
    let known = state[BuildAMIs.self] ?? [:]
    let tokens = state[Tokens.self] ?? [:]
    let problems = await withTaskGroup(of: [String].self) { group in
      for region in regions.sorted() {
        group.addTask { await rollback(region: region, knownImage: known[region], token: tokens[region]) }
      }
      var all: [String] = []
      for await found in group { all += found }
      return all
    }
    if !problems.isEmpty { throw BuildError(problems.joined(separator: "; ")) }
  }

  /// Deregisters this build's images in `region` (the known id, plus any with the run tag
  /// or, for a request in flight, our name), then deletes their snapshots and any snapshot
  /// with the run tag. Returns what could not be removed.
  func rollback(region: String, knownImage: String?, token: Int?) async -> [String] {
    let client = run.client(region)
    let runTag = run.kilnTags[0]
    var problems: [String] = []
    var images: [String: [String]] = [:]
    do {
      if let knownImage, let image = try await client.describeImages(imageIDs: [knownImage]).first {
        images[image.imageID] = image.snapshotIDs
      }
      for image in try await client.describeImages(owners: ["self"], filters: [EC2Filter("tag:\(runTag.key)", [runTag.value])]) {
        images[image.imageID] = image.snapshotIDs
      }
      for image in try await client.describeImages(owners: ["self"], filters: [EC2Filter("name", [run.config.amiName])]) {
        // Only ours: the pre-check (or -force) made sure no other AMI had this name.
        images[image.imageID] = image.snapshotIDs
      }
    } catch {
      if let knownImage { images[knownImage] = [] }
      problems.append("cannot list the AMIs of this build in \(region): \(error)")
    }
    var snapshots = Set(images.values.joined())
    for (imageID, _) in images.sorted(by: { $0.key < $1.key }) {
      do {
        try await client.deregisterImage(imageID)
        run.ui.message("Deregistered AMI \(imageID) in \(region)")
      } catch let error as AWSServiceError where error.code.hasPrefix("InvalidAMIID") {
        continue
      } catch {
        problems.append("AMI \(imageID) in \(region) is left: \(error)")
      }
    }
    if problems.isEmpty { run.resources.settle(token) }
    if let tagged = try? await client.describeSnapshots(owners: ["self"], filters: [EC2Filter("tag:\(runTag.key)", [runTag.value])]) {
      snapshots.formUnion(tagged.map(\.snapshotID))
    }
    for snapshot in snapshots.sorted() {
      do {
        try await client.deleteSnapshot(snapshot)
        run.ui.message("Deleted snapshot \(snapshot) in \(region)")
      } catch let error as AWSServiceError where error.code == "InvalidSnapshot.NotFound" {
        continue
      } catch {
        problems.append("snapshot \(snapshot) in \(region) is left: \(error)")
      }
    }
    return problems
  }
}

/// Copies the AMI to `ami_regions`, all regions at once (Packer's `StepAMIRegionCopy`), with
/// `encrypt_boot`, `kms_key_id` and `region_kms_key_ids`; with an intermediary image, the
/// encrypted copy into the build region too, after which the intermediary is removed. Each
/// copy's id is recorded as soon as CopyImage answers, so a failure or Ctrl-C rolls it back.
struct StepCopyAMI: BuildStep {
  let name = "ami-region-copy"
  let run: EBSRun
  let usesIntermediary: Bool

  func run(_ state: BuildState) async throws {
    let config = run.config
    guard !config.skipCreateAMI, let source = state[BuildAMIs.self]?[run.region] else { return }
    var targets = config.amiRegions.filter { $0 != run.region }
    if usesIntermediary, !config.skipSaveBuildRegion { targets.insert(run.region, at: 0) }
    guard !targets.isEmpty else { return }
    let kmsKeys = Dictionary(config.regionKMSKeyIDs.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
    let description = try run.render(config.amiDescription, state)
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
              kmsKeyID: kmsKey.isEmpty ? nil : kmsKey, tags: run.kilnTags, snapshotCopyDurationMinutes: config.snapshotCopyDurationMinutes)
            // The intermediary's entry in the build region is replaced by its copy here.
            state.update(BuildAMIs.self, default: [:]) { $0[region] = copyID }
            let token = run.resources.record("AMI \(copyID) in \(region)")
            state.update(StepCreateAMI.Tokens.self, default: [:]) { $0[region] = token }
            ui.message("Copy in \(region): \(copyID)")
            let image = try await client.waitForImage(copyID, policy: run.waits.copy) { ui.message("\(region): \($0)") }
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
    if usesIntermediary, let intermediary = state[IntermediaryAMI.self] {
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

/// Sharing, `imds_support`, user tags on copies, deprecation and deregistration protection, for every AMI
/// of the build in every region (Packer's `StepModifyAMIAttributes`, `StepCreateTags`,
/// and the plugin's `StepEnableDeprecation`); then marks the build complete, which tells
/// the rollback to keep the AMIs.
struct StepFinishAMIs: BuildStep {
  let name = "modify-ami-attributes"
  let run: EBSRun
  let createStep: StepCreateAMI

  func run(_ state: BuildState) async throws {
    let config = run.config
    let amis = state[BuildAMIs.self] ?? [:]
    let snapshotsByRegion = state[BuildSnapshots.self] ?? [:]
    let taggedAtCreation = state[StepCreateAMI.TaggedAtCreation.self] ?? []
    let tags = try createStep.imageTags(state)
    let ui = run.ui
    try await withThrowingTaskGroup(of: Void.self) { group in
      for (region, imageID) in amis.sorted(by: { $0.key < $1.key }) {
        let client = run.client(region)
        let snapshots = snapshotsByRegion[region] ?? []
        group.addTask {
          if !taggedAtCreation.contains(region) {
            ui.say("Adding tags to AMI (\(imageID)) in \(region)...")
            try await client.createTags(resourceIDs: [imageID], tags: tags.image)
            try await client.createTags(resourceIDs: snapshots, tags: tags.snapshot)
          }
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
    if config.deregistrationProtection {
      // Last, so that a failure above can still roll the AMIs back.
      for (region, imageID) in amis.sorted(by: { $0.key < $1.key }) {
        ui.say("Enabling deregistration protection on AMI (\(imageID)) in \(region)...")
        try await run.client(region).enableImageDeregistrationProtection(imageID: imageID)
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
    for token in (state[StepCreateAMI.Tokens.self] ?? [:]).values { run.resources.settle(token) }
  }
}
