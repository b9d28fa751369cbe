import Foundation
import KilnAWS
import KilnCore

/// Mirrors Packer's `StepRunSourceInstance` and `StepRunSpotInstance` (the spot variant as a
/// one-time spot request on RunInstances, not an EC2 fleet), with the cleanup of
/// `StepCleanupVolumes`.
///
/// Launches the build instance and waits until it runs. The launch is recorded before
/// RunInstances goes out (each call with its own ClientToken), and the instance id goes into
/// the state the moment RunInstances answers, so a Ctrl-C during the wait still terminates
/// it. A Ctrl-C while RunInstances is in flight leaves no id: the cleanup then finds what the
/// call may have launched by this build's `kiln:run` and `kiln:build` tags, which EC2 puts on
/// the instance as it creates it.
///
/// Capacity fallback (issue #15 item 5; Packer has none: hashicorp/packer-plugin-amazon#425):
/// when EC2 refuses the launch for capacity (`noCapacity`: `InsufficientInstanceCapacity`,
/// `Unsupported`, and the spot refusals), the launch is tried again in the next place
/// `StepNetwork` allows (`PlacementFallbacks`: other zones of the same VPC; for a build with no
/// network options, where EC2 chose, the default subnets of the zones it did not choose,
/// looked up then), then with the next
/// instance type (`instance_types`, or `spot_instance_types` for a spot build). A refused
/// RunInstances launches nothing (no instance, and so no interface or volume), and the
/// client does not resend a capacity refusal; after a refused spot launch, any Spot Instance
/// request of this build still open is cancelled. A failed attempt leaves nothing.
///
/// Creates: the instance, the volumes and network interface launched with it (and a spot
/// build's Spot Instance request), all tagged by RunInstances: the instance, its interface
/// and the request with `run_tags` (and `spot_tags`), the volumes with `run_volume_tags`, each
/// with Kiln's tags. Cleanup: terminates the
/// instance, waits until it is terminated, then deletes every volume launched with it that
/// is left `available` (found by this build's `kiln:run` and `kiln:build` tags), including
/// `launch_block_device_mappings` volumes with `delete_on_termination: false` (Packer leaves
/// those behind). Part of `EarlyCleanupGroup.sourceInstance`: `StepCreateAMI` releases it once
/// the image's snapshots are taken, so the termination overlaps the AMI and copy waits.
/// Writes `BuildInstance`.
struct StepRunInstance: BuildStep {
  let name = "run-source-instance"
  let run: EBSRun
  var earlyCleanup: EarlyCleanupGroup? { .sourceInstance }

  enum Token: StateKey { typealias Value = Int }
  /// True while a RunInstances call is out and not answered: an instance may exist whose id
  /// Kiln does not know.
  enum LaunchUnanswered: StateKey { typealias Value = Bool }
  /// The tags that tell this build's instance from any other: its `kiln:run` and
  /// `kiln:build`, as sent.
  enum LaunchIdentity: StateKey { typealias Value = [EC2Tag] }

  func run(_ state: BuildState) async throws {
    let config = run.config
    let isSpot = config.isSpot
    guard let source = state[SourceImage.self] else { throw BuildError("no source image") }
    let placement = state[NetworkPlacement.self] ?? ("", "", "")
    var userData = config.userData
    if !config.userDataFile.isEmpty {
      do {
        userData = try String(contentsOfFile: config.userDataFile, encoding: .utf8)
      } catch {
        throw BuildError("cannot read user_data_file \(config.userDataFile): \(error.localizedDescription)")
      }
    }
    // Like Packer: user data that is already base64 is sent as is.
    if !userData.isEmpty, Data(base64Encoded: userData) == nil {
      userData = Data(userData.utf8).base64EncodedString()
    }
    var request = EC2Client.RunInstancesRequest(imageID: source.imageID, instanceType: Self.types(config)[0])
    request.keyName = state[LaunchKeyPair.self]?.name
    request.securityGroupIDs = state[SecurityGroupIDs.self] ?? []
    request.associatePublicIPAddress = config.associatePublicIPAddress
    request.userData = userData.isEmpty ? nil : userData
    request.iamInstanceProfile = config.iamInstanceProfile.isEmpty ? nil : config.iamInstanceProfile
    request.shutdownBehavior = isSpot ? nil : config.shutdownBehavior
    request.tenancy = config.tenancy.isEmpty ? nil : config.tenancy
    request.ebsOptimized = config.ebsOptimized ? true : nil
    request.blockDevices = config.launchBlockDeviceMappings.map(\.input)
    if config.noEphemeral {
      // Packer's no_ephemeral: EC2 maps instance-store (ephemeral) drives to xvdca-xvdcz
      // unless the launch says there is no device there.
      request.blockDevices += "abcdefghijklmnopqrstuvwxyz".map { letter in
        var device = BlockDeviceMappingInput(deviceName: "xvdc\(letter)")
        device.noDevice = true
        return device
      }
    }
    request.hostID = config.hostID.isEmpty ? nil : config.hostID
    request.hostResourceGroupARN = config.hostResourceGroupARN.isEmpty ? nil : config.hostResourceGroupARN
    request.licenseConfigurationARNs = config.licenseConfigurationARNs
    request.cpuCredits = config.unlimitedCredits ? "unlimited" : nil
    request.nitroEnclave = config.enableNitroEnclave ? true : nil
    request.capacityReservationPreference = config.capacityReservationPreference.isEmpty ? nil : config.capacityReservationPreference
    request.capacityReservationID = config.capacityReservationID.isEmpty ? nil : config.capacityReservationID
    request.capacityReservationGroupARN = config.capacityReservationGroupARN.isEmpty ? nil : config.capacityReservationGroupARN
    request.metadataHTTPEndpoint = config.metadataOptions.httpEndpoint
    request.metadataHTTPTokens = config.metadataOptions.httpTokens
    request.metadataHopLimit = config.metadataOptions.httpPutResponseHopLimit
    request.metadataTags = config.metadataOptions.instanceMetadataTags
    if isSpot {
      request.spot = true
      request.spotMaxPrice = config.spotPrice == "auto" ? nil : config.spotPrice
    }
    let runTags = try run.renderTags(config.runTags, state)
    let instanceTags = run.withKilnTags(isSpot ? EBSRun.overlay(runTags, with: try run.renderTags(config.spotTags, state)) : runTags)
    let volumeTags = run.withKilnTags(try run.renderTags(config.runVolumeTags, state))
    // Everything the launch creates is tagged by RunInstances itself: the instance, its
    // volumes, its network interface and, for a spot build, the Spot Instance request.
    request.tagSpecifications = [("instance", instanceTags), ("volume", volumeTags), ("network-interface", instanceTags)]
    if isSpot { request.tagSpecifications.append(("spot-instances-request", instanceTags)) }
    state[LaunchIdentity.self] = instanceTags.filter { ["kiln:run", "kiln:build"].contains($0.key) }

    run.ui.say(isSpot ? "Launching a spot AWS instance..." : "Launching a source AWS instance...")
    state[Token.self] = run.resources.record(
      "instance launched by build '\(run.context.buildName)' (tagged kiln:run=\(run.context.runUUID)) in \(run.region)")
    let instance = try await launchWhereCapacityIs(request, state, placement: placement)
    run.ui.message("Instance ID: \(instance.instanceID)")
    run.ui.say("Waiting for instance (\(instance.instanceID)) to become ready...")
    let ui = run.ui
    let running = try await run.ec2.waitForInstance(
      instance.instanceID, toBe: "running", policy: run.waits.instance, progress: { ui.message($0) }, status: { ui.progress($0) })
    state[BuildInstance.self] = running
    // The temporary key pair has done its work: EC2 User Guide, "Delete your key pair":
    // deleting a public key from EC2 does not remove it from instances launched with it, and
    // they can still be reached with the private key (which Kiln holds in memory).
    state.releaseEarly(.temporaryKeyPair)
  }

  static let noCapacity: Set<String> = ["InsufficientInstanceCapacity", "SpotMaxPriceTooLow", "Unsupported", "InsufficientCapacity"]

  /// The instance types a launch tries, in order: `spot_instance_types` for a spot build
  /// that lists them, else `instance_types`, else `instance_type` alone.
  static func types(_ config: AmazonEBSConfig) -> [String] {
    if !config.spotInstanceTypes.isEmpty { return config.spotInstanceTypes }
    return config.instanceTypes.isEmpty ? [config.instanceType] : config.instanceTypes
  }

  /// One place and type to launch in.
  struct Attempt: Sendable, CustomStringConvertible {
    var instanceType: String
    var place: SubnetPlacement

    /// "m5.large in us-east-1b (subnet-…)", or "m5.large in the zone EC2 chooses".
    var description: String {
      let zone = place.availabilityZone.isEmpty ? "the zone EC2 chooses" : place.availabilityZone
      return "\(instanceType) in \(zone)\(place.subnetID.isEmpty ? "" : " (\(place.subnetID))")"
    }
  }

  /// The places to try after `first` was refused for capacity with `refusal`: `others`,
  /// without the zone EC2 chose when `first` left the choice to it and its refusal names that
  /// zone ("…in the Availability Zone you requested (us-east-1a)…": the EC2 API's
  /// InsufficientInstanceCapacity message), since asking there again would be refused again.
  static func placesAfter(_ first: SubnetPlacement, refusal: AWSServiceError, others: [SubnetPlacement]) -> [SubnetPlacement] {
    guard first == .chosenByEC2 else { return others }
    return others.filter { !refusal.message.contains("(\($0.availabilityZone))") }
  }

  /// Launches in the first place and type that has capacity: each instance type in the first
  /// place and then in each other place (`PlacementFallbacks`), before the next type. An
  /// attempt EC2 refuses for capacity (`noCapacity`) launched nothing, so it leaves nothing to
  /// clean; each is said in one line with what is tried next, and when all fail the error
  /// lists every one with AWS's words.
  private func launchWhereCapacityIs(
    _ request: EC2Client.RunInstancesRequest, _ state: BuildState,
    placement: (vpcID: String, subnetID: String, availabilityZone: String)
  ) async throws -> EC2Instance {
    let types = Self.types(run.config)
    let first = SubnetPlacement(subnetID: placement.subnetID, availabilityZone: placement.availabilityZone)
    // The other places, once known: `.defaultSubnets` are looked up at the first refusal.
    var others: [SubnetPlacement]?
    if case .listed(let listed) = state[PlacementFallbacks.self] ?? .listed([]) { others = listed }
    var request = request
    var refused: [(Attempt, AWSServiceError)] = []
    var queue = [Attempt(instanceType: types[0], place: first)]
    var typeIndex = 0
    while !queue.isEmpty {
      let attempt = queue.removeFirst()
      request.instanceType = attempt.instanceType
      request.subnetID = attempt.place.subnetID.isEmpty ? nil : attempt.place.subnetID
      request.availabilityZone = attempt.place.availabilityZone.isEmpty ? nil : attempt.place.availabilityZone
      do {
        return try await launch(request, state)
      } catch let error as AWSServiceError where Self.noCapacity.contains(error.code) {
        if request.spot { try await cancelOpenSpotRequests() }
        refused.append((attempt, error))
        if attempt.place == first {
          if others == nil { others = try await run.defaultSubnets() ?? [] }
          queue = Self.placesAfter(first, refusal: error, others: others ?? []).map { Attempt(instanceType: attempt.instanceType, place: $0) }
        }
        if queue.isEmpty, typeIndex + 1 < types.count {
          typeIndex += 1
          queue = [Attempt(instanceType: types[typeIndex], place: first)]
        }
        if let next = queue.first {
          run.ui.message("No capacity for \(attempt) (\(error.code)); trying \(next)")
        } else if refused.count == 1 {
          throw error // the one place and type the template allows: AWS's error as it is
        }
      }
    }
    let lines = refused.map { attempt, error in "  \(attempt): \(error.code): \(error.message)" }
    let advice = refused.last?.1.advice.map { "\n" + $0 } ?? ""
    throw BuildError(
      "no capacity for the build instance: RunInstances was refused \(refused.count) times, in every zone and instance type the template allows:\n"
        + lines.joined(separator: "\n") + advice)
  }

  /// After a spot launch refused for capacity: cancels this build's Spot Instance requests
  /// that are still open (found by its `kiln:run` and `kiln:build` tags). EC2 holds a request
  /// it has no capacity for open ("capacity-not-available", EC2 User Guide, "State changes
  /// for a Spot request"), and an open request could launch an instance after the build;
  /// whether a refused RunInstances leaves one is not documented, so Kiln looks.
  private func cancelOpenSpotRequests() async throws {
    let filters = run.identityTags.map { EC2Filter("tag:\($0.key)", [$0.value]) } + [EC2Filter("state", ["open"])]
    do {
      let open = try await run.ec2.describeSpotInstanceRequests(filters: filters).map(\.requestID)
      guard !open.isEmpty else { return }
      run.ui.message("Cancelling the spot request(s) the refused launch left open: \(open.joined(separator: ", "))")
      try await run.ec2.cancelSpotInstanceRequests(open)
    } catch {
      throw BuildError(
        "a spot request of build '\(run.context.buildName)' in \(run.region) may be left open (its launch was refused for capacity, and open requests could not be looked for or cancelled): \(error)"
      )
    }
  }

  /// RunInstances, retried while a just-created instance profile is not visible to EC2 yet.
  /// Each call has its own ClientToken (the parameters differ between calls; a resend of one
  /// call keeps it). The instance goes into the state before the call counts as answered.
  private func launch(_ request: EC2Client.RunInstancesRequest, _ state: BuildState) async throws -> EC2Instance {
    var attempt = 0
    var request = request
    while true {
      request.clientToken = UUID().uuidString
      state[LaunchUnanswered.self] = true
      do {
        let instances = try await run.ec2.runInstances(request)
        guard let instance = instances.first else { throw BuildError("RunInstances returned no instance") }
        state[BuildInstance.self] = instance
        if let token = state[Token.self] { run.resources.update(token, "instance \(instance.instanceID) in \(run.region)") }
        state[LaunchUnanswered.self] = false
        return instance
      } catch let error as AWSServiceError where error.status < 500 || Self.noCapacity.contains(error.code) {
        // EC2 refused the request: it launched nothing. (A capacity refusal is a 5xx, and an
        // answer all the same.)
        state[LaunchUnanswered.self] = false
        guard error.code == "InvalidParameterValue" && error.message.contains("iamInstanceProfile") && attempt < 10 else { throw error }
        attempt += 1
        try await Task.sleep(for: .seconds(2))
      }
    }
  }

  /// Instances a RunInstances call whose answer never came may have launched: this build's,
  /// by its tags, not terminated; asked a few times, as a just-launched instance can take a
  /// moment to be listed.
  private func findUnansweredLaunches(_ state: BuildState) async throws -> [String] {
    let identity = state[LaunchIdentity.self] ?? []
    guard !identity.isEmpty else {
      throw BuildError("an instance of build '\(run.context.buildName)' in \(run.region) may still be running (RunInstances was not answered)")
    }
    let filters =
      identity.map { EC2Filter("tag:\($0.key)", [$0.value]) } + [EC2Filter("instance-state-name", ["pending", "running", "stopping", "stopped"])]
    do {
      return try await run.lookAgain {
        let found = try await run.ec2.describeInstances(filters: filters).map(\.instanceID)
        return found.isEmpty ? nil : found
      } ?? []
    } catch {
      throw BuildError(
        "an instance of build '\(run.context.buildName)' in \(run.region) may still be running (RunInstances was not answered, and it could not be looked for): \(error)"
      )
    }
  }

  func cleanup(_ state: BuildState) async throws {
    var ids: [String] = []
    if let instance = state[BuildInstance.self] {
      ids = [instance.instanceID]
    } else if state[LaunchUnanswered.self] == true {
      ids = try await findUnansweredLaunches(state)
      if !ids.isEmpty { run.ui.message("RunInstances was not answered; found what it launched: \(ids.joined(separator: ", "))") }
    }
    guard !ids.isEmpty else {
      run.resources.settle(state[Token.self])
      return
    }
    run.ui.say("Terminating the source AWS instance...")
    do {
      try await run.ec2.terminateInstances(ids)
      let ui = run.ui
      for id in ids {
        _ = try await run.ec2.waitForInstance(
          id, toBe: "terminated", policy: run.waits.instance, progress: { ui.message($0) }, status: { ui.progress($0) })
      }
      run.resources.settle(state[Token.self])
    } catch let error as AWSServiceError where error.code == "InvalidInstanceID.NotFound" {
      run.resources.settle(state[Token.self])
    } catch {
      throw BuildError("instance \(ids.joined(separator: ", ")) in \(run.region) may still be running: \(error)")
    }
    run.ui.say("Cleaning up any extra volumes...")
    // This build's volumes only (its kiln:run and kiln:build): in a run of several builds,
    // another build's volumes may be available for a moment too.
    let identity = run.kilnTags.filter { ["kiln:run", "kiln:build"].contains($0.key) }
    let volumes = try await run.ec2.describeVolumes(
      filters: identity.map { EC2Filter("tag:\($0.key)", [$0.value]) } + [EC2Filter("status", ["available"])])
    var left: [String] = []
    for volume in volumes {
      do {
        try await run.ec2.deleteVolume(volume.volumeID)
      } catch {
        left.append("\(volume.volumeID) (\(error))")
      }
    }
    if !left.isEmpty { throw BuildError("volume(s) left in \(run.region): \(left.joined(separator: ", "))") }
  }
}

// MARK: - What it tells the steps after it

/// The build instance, as last described. Its id is written the moment RunInstances returns.
enum BuildInstance: StateKey { typealias Value = EC2Instance }
