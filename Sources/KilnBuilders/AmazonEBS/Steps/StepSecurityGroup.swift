import KilnAWS
import KilnCore

/// Mirrors Packer's `StepSecurityGroup`.
///
/// The security groups of the instance: the user's `security_group_id(s)` (checked to exist)
/// or `security_group_filter` matches, else a temporary group opening the SSH port from
/// `temporary_security_group_source_cidrs` (or this host's public IP,
/// `temporary_security_group_source_public_ip`). The group is recorded under the name Kiln
/// chose before CreateSecurityGroup goes out.
///
/// Creates: the temporary security group (tagged by CreateSecurityGroup) and its ingress rule,
/// added as soon as EC2 sees the group. Cleanup: deletes the
/// group, retried while the terminated instance's interface lets go of it; when its create
/// call was never answered (a Ctrl-C while it was in flight), finds it by name first. Part of
/// `EarlyCleanupGroup.sourceInstance`: deleted right after the instance's early termination.
/// Writes `SecurityGroupIDs`.
///
/// Neither CreateSecurityGroup nor AuthorizeSecurityGroupIngress has an idempotency token:
/// when EC2 acted but the answer was lost (a 5xx, a dropped connection), the client's retry
/// is refused as a duplicate. An `InvalidGroup.Duplicate` whose group (by name and VPC)
/// carries this build's `kiln:run` and `kiln:build` tags is the group this call made, and is
/// used; one without them is someone else's, stays an error and is never deleted. An
/// `InvalidPermission.Duplicate` on the group Kiln just made is the rule the first attempt added.
struct StepSecurityGroup: BuildStep {
  let name = "security-group"
  let run: EBSRun

  /// The temporary group: its name (chosen by Kiln), its id once EC2 answered, and its entry
  /// in the list of live resources, written before the create call.
  enum Created: StateKey { typealias Value = (groupName: String, groupID: String?, token: Int) }

  func run(_ state: BuildState) async throws {
    let config = run.config
    let vpcID = state[NetworkPlacement.self]?.vpcID ?? ""
    if !config.securityGroupIDs.isEmpty {
      let found = Set(try await run.ec2.describeSecurityGroups(groupIDs: config.securityGroupIDs).map(\.groupID))
      let missing = config.securityGroupIDs.filter { !found.contains($0) }
      if !missing.isEmpty { throw BuildError("security group(s) \(missing.joined(separator: ", ")) not found in \(run.region)") }
      state[SecurityGroupIDs.self] = config.securityGroupIDs
      return
    }
    if !config.securityGroupFilter.isEmpty {
      var filters = config.securityGroupFilter.map { EC2Filter($0.key, [$0.value]) }
      if !vpcID.isEmpty { filters.append(EC2Filter("vpc-id", [vpcID])) }
      let groups = try await run.ec2.describeSecurityGroups(filters: filters)
      guard !groups.isEmpty else { throw BuildError("'security_group_filter' matched no security group") }
      run.ui.message("Found security group(s): \(groups.map(\.groupID).joined(separator: ", "))")
      state[SecurityGroupIDs.self] = groups.map(\.groupID)
      return
    }
    // Before the group exists, so a failed lookup leaves nothing to clean up.
    var cidrs = config.temporarySecurityGroupSourceCIDRs
    if config.temporarySecurityGroupSourcePublicIP {
      run.ui.say("Checking current host's public IP...")
      cidrs = [try await HostPublicIP.cidr(environment: run.context.environment, caBundle: run.caBundle)]
      run.ui.say("Current host's public IP: \(cidrs[0])")
    }
    let groupName = EBSRun.temporaryName()
    run.ui.say("Creating temporary security group for this instance: \(groupName)")
    let tags = run.withKilnTags(try run.renderTags(config.runTags, state))
    let token = run.resources.record("security group \(groupName) in \(run.region)")
    state[Created.self] = (groupName, nil, token)
    let groupID: String
    do {
      groupID = try await run.ec2.createSecurityGroup(name: groupName, description: "Temporary group for Kiln", vpcID: vpcID, tags: tags)
    } catch let error as AWSServiceError where error.code == "InvalidGroup.Duplicate" {
      let own: String?
      do {
        own = try await ownGroup(named: groupName, vpcID: vpcID)
      } catch let lookup {
        state[Created.self] = nil
        run.resources.settle(token)
        throw lookup
      }
      guard let own else {
        // Someone else's group: nothing of this build's to look for or delete.
        state[Created.self] = nil
        run.resources.settle(token)
        throw error
      }
      run.ui.message("EC2 made the security group but its answer was lost; using it: \(own)")
      groupID = own
    }
    state[Created.self] = (groupName, groupID, token)
    run.resources.update(token, "security group \(groupID) in \(run.region)")
    state[SecurityGroupIDs.self] = [groupID]
    let port = config.communicator.kind == .none ? 22 : config.communicator.port
    run.ui.say("Authorizing access to port \(port) from \(cidrs) in the temporary security groups...")
    // EC2 is eventually consistent: a group just made may not be visible yet. Packer polls
    // DescribeSecurityGroups until it is, then adds the rule; Kiln adds the rule at once and
    // asks again (as long as the wait policy allows) while EC2 says the group does not exist:
    // the same wait, one call fewer when the group is visible at once.
    let ec2 = run.ec2
    _ = try await Waiter.wait(for: "security group \(groupID) to exist", resourceID: groupID, policy: run.waits.securityGroup) {
      () async throws -> PollResult<Bool> in
      do {
        try await ec2.authorizeSecurityGroupIngress(groupID: groupID, port: port, cidrs: cidrs)
        return .done(true)
      } catch let error as AWSServiceError where error.code == "InvalidGroup.NotFound" {
        return .pending(state: "not visible yet", progress: nil)
      } catch let error as AWSServiceError where error.code == "InvalidPermission.Duplicate" {
        // The group is this build's, made just now: the rule is there from an attempt whose
        // answer was lost.
        return .done(true)
      }
    }
  }

  var earlyCleanup: EarlyCleanupGroup? { .sourceInstance }

  func cleanup(_ state: BuildState) async throws {
    guard let (groupName, knownID, token) = state[Created.self] else { return }
    run.ui.say("Deleting temporary security group...")
    var found = knownID
    if found == nil { found = try await findGroup(named: groupName) }
    guard let groupID = found else {
      run.resources.settle(token)
      return
    }
    var lastError: (any Error)?
    for attempt in 1...5 {
      do {
        try await run.ec2.deleteSecurityGroup(groupID: groupID)
        run.resources.settle(token)
        return
      } catch let error as AWSServiceError where error.code == "InvalidGroup.NotFound" {
        run.resources.settle(token)
        return
      } catch {
        // DependencyViolation: the terminated instance's network interface still holds it.
        lastError = error
        if attempt < 5 { try? await Task.sleep(for: .seconds(5)) }
      }
    }
    throw BuildError("security group \(groupID) in \(run.region) is left: \(lastError.map { "\($0)" } ?? "")")
  }

  /// The id of the group `groupName` in `vpcID` (the default VPC when empty) if it carries this
  /// build's `kiln:run` and `kiln:build` tags, else nil; asked again while EC2 does not list it.
  private func ownGroup(named groupName: String, vpcID: String) async throws -> String? {
    var filters = [EC2Filter("group-name", [groupName])]
    if !vpcID.isEmpty { filters.append(EC2Filter("vpc-id", [vpcID])) }
    do {
      let found: String?? = try await run.lookAgain {
        let groups = try await run.ec2.describeSecurityGroups(filters: filters)
        guard !groups.isEmpty else { return nil }
        return .some(groups.first { run.isOwn($0.tags) }?.groupID)
      }
      return found ?? nil
    } catch {
      throw BuildError(
        "security group \(groupName) in \(run.region): EC2 says it exists, and whether it is this build's could not be checked, so it is left alone: \(error)"
      )
    }
  }

  /// The group a CreateSecurityGroup whose answer never came may have made, by its name,
  /// asked a few times (a just-made group can take a moment to be listed).
  private func findGroup(named groupName: String) async throws -> String? {
    do {
      return try await run.lookAgain {
        try await run.ec2.describeSecurityGroups(filters: [EC2Filter("group-name", [groupName])]).first?.groupID
      }
    } catch {
      throw BuildError(
        "security group \(groupName) in \(run.region) may be left (its create call was not answered, and it could not be looked for): \(error)")
    }
  }
}

// MARK: - What it tells the steps after it

/// Security groups the instance joins.
enum SecurityGroupIDs: StateKey { typealias Value = [String] }
