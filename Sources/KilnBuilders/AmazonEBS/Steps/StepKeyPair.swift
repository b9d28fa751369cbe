import Foundation
import KilnAWS
import KilnCore
import KilnSSH

/// Decides how SSH authenticates (Packer's `StepKeyPair`). With `ssh_keypair_name` and a
/// private key file, or a key baked into the image, or a password or agent, nothing is
/// created. Otherwise a temporary key pair: ed25519 (the default `temporary_key_pair_type`)
/// is generated here and imported, so the private key never crosses the network; "rsa" asks
/// EC2 to create one. The key pair is recorded under its name before the call goes out, so
/// a Ctrl-C while the call is in flight still deletes what EC2 may have made. Its cleanup
/// deletes the key pair from EC2 and checks it is gone (and `-debug`'s key file).
struct StepKeyPair: BuildStep {
  let name = "key-pair"
  let run: EBSRun

  /// The temporary key pair's name, and its entry in the list of live resources: written
  /// before the create call, whether or not EC2 answers it.
  enum Created: StateKey { typealias Value = (name: String, token: Int) }
  enum DebugKeyFile: StateKey { typealias Value = String }

  func run(_ state: BuildState) async throws {
    let communicator = run.config.communicator
    if !communicator.keyPairName.isEmpty {
      run.ui.say("Using existing SSH key pair \(communicator.keyPairName)")
      state[LaunchKeyPair.self] = (communicator.keyPairName, nil, nil)
      return
    }
    guard communicator.kind == .ssh, communicator.privateKeyFile.isEmpty, !communicator.agentAuth, communicator.password.isEmpty else {
      return
    }
    let keyName = communicator.temporaryKeyPairName.isEmpty ? EBSRun.temporaryName() : communicator.temporaryKeyPairName
    let tags = run.withKilnTags(try run.renderTags(run.config.runTags, state))
    run.ui.say("Creating temporary keypair: \(keyName)")
    state[Created.self] = (keyName, run.resources.record("key pair \(keyName) in \(run.region)"))
    let privateKey: String
    let publicKey: String?
    if communicator.temporaryKeyPairType == "rsa" {
      let created = try await refusalMakesNothing(state) { try await run.ec2.createKeyPair(name: keyName, type: "rsa", tags: tags) }
      privateKey = created.privateKey
      publicKey = nil
      run.ui.message("Note: libssh2 signs RSA keys with SHA-1 only, which OpenSSH 8.8 and later refuse; \"temporary_key_pair_type\": \"ed25519\" (the default) works everywhere")
    } else {
      let pair = try SSHKeyPair.generateEd25519(comment: keyName)
      state[LaunchKeyPair.self] = (keyName, pair.privateKeyPEM, pair.publicKeyLine)
      _ = try await refusalMakesNothing(state) { try await run.ec2.importKeyPair(name: keyName, publicKey: pair.publicKeyLine, tags: tags) }
      privateKey = pair.privateKeyPEM
      publicKey = pair.publicKeyLine
    }
    state[LaunchKeyPair.self] = (keyName, privateKey, publicKey)
    if run.context.stepHooks != nil {
      // -debug: the key on disk, so the user can log in while the build is paused.
      let path = URL(fileURLWithPath: run.context.workingDirectory).appendingPathComponent("ec2_\(run.context.buildName).pem").path
      do {
        try SSHKeyPair.writePrivateKey(privateKey, to: path, replacing: true)
        state[DebugKeyFile.self] = path
        run.ui.message("Saving key for debug purposes: \(path)")
      } catch {
        run.ui.error("Could not save the key for debugging: \(error)")
      }
    }
  }

  /// The key pair is recorded before its create call, so that a Ctrl-C while the call is in
  /// flight still deletes it. But when EC2 refuses the call (a 4xx, e.g. `InvalidKeyPair.Duplicate`
  /// for a `temporary_key_pair_name` that exists), nothing was made, and the record must go:
  /// the cleanup would otherwise delete a same-named key pair that is not this build's.
  private func refusalMakesNothing<Value>(_ state: BuildState, _ create: () async throws -> Value) async throws -> Value {
    do {
      return try await create()
    } catch let error as AWSServiceError where error.status < 500 {
      if let (_, token) = state[Created.self] { run.resources.settle(token) }
      state[Created.self] = nil
      throw error
    }
  }

  func cleanup(_ state: BuildState) async throws {
    if let path = state[DebugKeyFile.self] { try? FileManager.default.removeItem(atPath: path) }
    guard let (keyName, token) = state[Created.self] else { return }
    run.ui.say("Deleting temporary keypair...")
    do {
      // DeleteKeyPair succeeds whether or not the key exists: ask again until it is gone
      // (a create call cut short by a Ctrl-C may land after the first delete).
      let gone: Bool? = try await run.lookAgain {
        try await run.ec2.deleteKeyPair(name: keyName)
        return try await run.ec2.describeKeyPairs(filters: [EC2Filter("key-name", [keyName])]).isEmpty ? true : nil
      }
      guard gone == true else { throw BuildError("it is still there after three deletions") }
      run.resources.settle(token)
    } catch {
      throw BuildError("key pair \(keyName) in \(run.region) may be left: \(error)")
    }
  }
}

/// The security groups of the instance (Packer's `StepSecurityGroup`): the user's
/// `security_group_id(s)` (checked to exist) or `security_group_filter` matches, else a
/// temporary group opening the SSH port from `temporary_security_group_source_cidrs` (or
/// this host's public IP, `temporary_security_group_source_public_ip`), tagged
/// and deleted in cleanup (retried while the terminated instance's interface lets go of it).
/// The group is recorded under the name Kiln chose before CreateSecurityGroup goes out; when
/// its answer never came (a Ctrl-C while it was in flight), the cleanup finds it by name.
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
    let groupID = try await run.ec2.createSecurityGroup(name: groupName, description: "Temporary group for Kiln", vpcID: vpcID, tags: tags)
    state[Created.self] = (groupName, groupID, token)
    run.resources.update(token, "security group \(groupID) in \(run.region)")
    state[SecurityGroupIDs.self] = [groupID]
    try await run.ec2.waitForSecurityGroup(groupID, policy: run.waits.securityGroup)
    let port = config.communicator.kind == .none ? 22 : config.communicator.port
    run.ui.say("Authorizing access to port \(port) from \(cidrs) in the temporary security groups...")
    try await run.ec2.authorizeSecurityGroupIngress(groupID: groupID, port: port, cidrs: cidrs)
  }

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

  /// The group a CreateSecurityGroup whose answer never came may have made, by its name,
  /// asked a few times (a just-made group can take a moment to be listed).
  private func findGroup(named groupName: String) async throws -> String? {
    do {
      return try await run.lookAgain {
        try await run.ec2.describeSecurityGroups(filters: [EC2Filter("group-name", [groupName])]).first?.groupID
      }
    } catch {
      throw BuildError("security group \(groupName) in \(run.region) may be left (its create call was not answered, and it could not be looked for): \(error)")
    }
  }
}
