import Foundation
import KilnAWS
import KilnCore
import Synchronization

/// Mirrors Packer's `stepCreateAMI`.
///
/// CreateImage from the stopped instance: the image and its snapshots are tagged by CreateImage
/// itself (TagSpecifications), the image with `run_tags` (unless `skip_ami_run_tags`), `tags`
/// and Kiln's tags, the snapshots with the same plus `snapshot_tags`, so both carry `kiln:run`
/// from the instant they exist and no CreateTags is needed. With `encrypt_boot` or
/// `skip_save_build_region` the image is an intermediary that `StepCopyAMI` copies and
/// removes. The id is in the state the moment EC2 answers; the wait shows snapshot progress.
///
/// Creates: the AMI in the build region and its snapshots. Cleanup: the rollback Packer
/// lacks (hashicorp/packer#10248): unless the build completed (`BuildCompleted`), every AMI
/// of this build in every region (copies included, and images whose id never came back
/// because the request was in flight at Ctrl-C, found by name and run tag) is deregistered
/// and its snapshots deleted. Writes `BuildAMIs`, `BuildSnapshots`, `ImageRequestsSent`,
/// `IntermediaryAMI`, `AMIResourceTokens`.
struct StepCreateAMI: BuildStep {
  let name = "create-ami"
  let run: EBSRun

  func run(_ state: BuildState) async throws {
    let config = run.config
    guard !config.skipCreateAMI else {
      run.ui.say("Skipping AMI creation...")
      return
    }
    guard let instance = state[BuildInstance.self] else { throw BuildError("no instance") }
    let usesIntermediary = config.usesIntermediaryAMI
    let imageName = usesIntermediary ? "kiln-intermediary-\(UUID().uuidString.prefix(8).lowercased())" : config.amiName
    var request = EC2Client.CreateImageRequest(instanceID: instance.instanceID, name: imageName)
    request.description = usesIntermediary ? "Intermediary image of a Kiln build" : try run.render(config.amiDescription, state)
    if request.description?.isEmpty == true { request.description = nil }
    request.blockDevices = config.amiBlockDeviceMappings.map(\.input)
    // The intermediary, removed once copied, carries only Kiln's tags.
    let tags = usesIntermediary ? (image: run.kilnTags, snapshot: run.kilnTags) : try run.amiTags(state)
    request.tagSpecifications = [("image", tags.image), ("snapshot", tags.snapshot)]
    run.ui.say("Creating AMI \(imageName) from instance \(instance.instanceID)")
    state.update(ImageRequestsSent.self, default: []) { _ = $0.insert(run.region) }
    let imageID = try await createImage(request)
    state.update(BuildAMIs.self, default: [:]) { $0[run.region] = imageID }
    let token = run.resources.record("AMI \(imageID) in \(run.region)")
    state.update(AMIResourceTokens.self, default: [:]) { $0[run.region] = token }
    if usesIntermediary { state[IntermediaryAMI.self] = imageID }
    run.ui.message("AMI: \(imageID)")
    run.ui.say("Waiting for AMI to become ready...")
    let ui = run.ui
    let release = InstanceRelease(volumes: config.disableStopInstance ? [] : instance.blockDevices.compactMap(\.volumeID), state: state)
    let image = try await run.ec2.waitForImage(
      imageID, policy: run.waits.image, progress: { ui.message($0) }, status: { ui.progress($0) }, snapshots: { release.saw($0) })
    state.update(BuildSnapshots.self, default: [:]) { $0[run.region] = image.snapshotIDs }
  }

  /// Releases the instance (terminate it, delete its volumes and security group) while the
  /// image is still pending, once EC2 has taken a snapshot of each of the instance's volumes.
  ///
  /// Why that is safe, from the Amazon EBS User Guide, "Create Amazon EBS snapshots": a
  /// snapshot is created at once and stays `pending` while its data moves to S3; the volume can
  /// go on being used meanwhile without affecting the snapshot, which holds only the data
  /// written before it was requested. So once every volume's snapshot exists, what happens to
  /// the volumes (here: their deletion with the instance) cannot change the image. Only for a
  /// stopped instance: with `disable_stop_instance` Kiln keeps Packer's order (the instance
  /// ends after the AMI is available). Nothing is released before every volume is matched,
  /// and the cleanups run in their usual order when the runner does not allow early ones.
  private final class InstanceRelease: Sendable {
    let volumes: Set<String>
    let state: BuildState
    private let done = Mutex(false)

    init(volumes: [String], state: BuildState) {
      self.volumes = Set(volumes)
      self.state = state
    }

    func saw(_ snapshots: [EC2Snapshot]) {
      guard !volumes.isEmpty else { return }
      let taken = Set(snapshots.filter { ["pending", "completed"].contains($0.state) }.map(\.volumeID))
      guard volumes.isSubset(of: taken),
        done.withLock({ released in
          defer { released = true }
          return !released
        })
      else { return }
      state.releaseEarly(.sourceInstance)
    }
  }

  /// CreateImage, retried while EC2 still reports the instance as not yet stopped.
  ///
  /// CreateImage has no idempotency token: when EC2 made the image but the answer was lost
  /// (a 5xx, a dropped connection), the client's retry is refused `InvalidAMIName.Duplicate`.
  /// An image of that name with this build's `kiln:run` and `kiln:build` tags (put on by
  /// CreateImage itself) is the one this call made, and is used; any other stays an error.
  private func createImage(_ request: EC2Client.CreateImageRequest) async throws -> String {
    let clock = ContinuousClock()
    let deadline = clock.now + .seconds(900)
    while true {
      do {
        return try await run.ec2.createImage(request)
      } catch let error as AWSServiceError
        where error.code == "InvalidParameterValue" && error.message.contains("not in state") && clock.now < deadline
      {
        try await Task.sleep(for: .seconds(5))
      } catch let error as AWSServiceError where error.code == "InvalidAMIName.Duplicate" {
        guard let own = try await ownImage(named: request.name) else { throw error }
        run.ui.message("EC2 made the AMI but its answer was lost; using it")
        return own
      }
    }
  }

  /// The id of this account's AMI `name` in the build region if it carries this build's
  /// `kiln:run` and `kiln:build` tags, else nil; asked again while EC2 does not list it.
  private func ownImage(named name: String) async throws -> String? {
    do {
      let found: String?? = try await run.lookAgain {
        let images = try await run.ec2.describeImages(owners: ["self"], filters: [EC2Filter("name", [name])])
        guard !images.isEmpty else { return nil }
        return .some(images.first { run.isOwn($0.tags) }?.imageID)
      }
      return found ?? nil
    } catch {
      throw BuildError("AMI \(name) in \(run.region): EC2 says the name is taken, and whether by this build's AMI could not be checked: \(error)")
    }
  }

  func cleanup(_ state: BuildState) async throws {
    guard state[BuildCompleted.self] != true else { return }
    let regions = Set(state[BuildAMIs.self]?.keys.map { $0 } ?? []).union(state[ImageRequestsSent.self] ?? [])
    guard !regions.isEmpty else { return }
    run.ui.say("Deregistering the AMIs of this failed build and deleting their snapshots...")
    let known = state[BuildAMIs.self] ?? [:]
    let tokens = state[AMIResourceTokens.self] ?? [:]
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

// MARK: - What it tells the steps after it

/// The AMIs of this build, region → id, written the moment CreateImage/CopyImage returns.
enum BuildAMIs: StateKey { typealias Value = [String: String] }
/// The snapshots behind those AMIs, region → ids.
enum BuildSnapshots: StateKey { typealias Value = [String: [String]] }
/// Regions where an AMI of this build may exist even though its id never came back (a
/// CreateImage/CopyImage request in flight when the build was cancelled).
enum ImageRequestsSent: StateKey { typealias Value = Set<String> }
/// The intermediary AMI (`encrypt_boot`, `skip_save_build_region`), removed once copied.
enum IntermediaryAMI: StateKey { typealias Value = String }
/// Each AMI's entry in the list of live resources, region → token (copies' too, from
/// `StepCopyAMI`); settled once the build completes or the AMI is rolled back.
enum AMIResourceTokens: StateKey { typealias Value = [String: Int] }
