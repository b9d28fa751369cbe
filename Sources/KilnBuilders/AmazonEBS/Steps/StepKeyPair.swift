import Foundation
import KilnAWS
import KilnCore
import KilnSSH

/// Mirrors Packer's `StepKeyPair`.
///
/// Decides how SSH authenticates. With `ssh_keypair_name` and a private key file, or a key
/// baked into the image, or a password or agent, nothing is created. Otherwise a temporary
/// key pair: ed25519 (the default `temporary_key_pair_type`) is generated here and imported,
/// so the private key never crosses the network; "rsa" asks EC2 to create one. The key pair
/// is recorded under its name before the call goes out, so a Ctrl-C while the call is in
/// flight still deletes what EC2 may have made. The key pair carries `run_tags` and Kiln's tags
/// from ImportKeyPair/CreateKeyPair itself.
///
/// Neither call has an idempotency token: when EC2 made the key pair but its answer was lost
/// (a 5xx, a dropped connection), the client's retry is refused `InvalidKeyPair.Duplicate`.
/// A duplicate that carries this build's `kiln:run` and `kiln:build` tags is the one this
/// call made, and is used (for "rsa", whose private key came only in the lost answer, it is
/// deleted and created again); one without them is someone else's and stays an error, and is
/// never deleted.
///
/// Creates: the temporary EC2 key pair, and with `-debug` its private key in
/// `ec2_<build>.pem`. Cleanup: deletes the key pair (when its create call was never answered,
/// asking again until EC2 no longer lists it) and the `-debug` key file; early, as soon as the
/// instance runs (`EarlyCleanupGroup.temporaryKeyPair`, released by `StepRunInstance`, which
/// says why that is safe), where Packer keeps it to the end. Writes `LaunchKeyPair`.
struct StepKeyPair: BuildStep {
  let name = "key-pair"
  let run: EBSRun

  /// The temporary key pair's name, its entry in the list of live resources, and whether EC2
  /// answered its create call: written before the call, whether or not EC2 answers it.
  enum Created: StateKey { typealias Value = (name: String, token: Int, answered: Bool) }
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
    state[Created.self] = (keyName, run.resources.record("key pair \(keyName) in \(run.region)"), false)
    let privateKey: String
    let publicKey: String?
    if communicator.temporaryKeyPairType == "rsa" {
      let create = { try await run.ec2.createKeyPair(name: keyName, type: "rsa", tags: tags) }
      let created = try await refusalMakesNothing(state, create) { _ in
        // Ours, but its private key was in the lost answer: make it again.
        run.ui.message("EC2 made the key pair but its answer was lost; making it again to get its private key")
        try await run.ec2.deleteKeyPair(name: keyName)
        return try await create()
      }
      privateKey = created.privateKey
      publicKey = nil
      run.ui.message(
        "Note: libssh2 signs RSA keys with SHA-1 only, which OpenSSH 8.8 and later refuse; \"temporary_key_pair_type\": \"ed25519\" (the default) works everywhere"
      )
    } else {
      let pair = try SSHKeyPair.generateEd25519(comment: keyName)
      state[LaunchKeyPair.self] = (keyName, pair.privateKeyPEM, pair.publicKeyLine)
      let importKeyPair = { try await run.ec2.importKeyPair(name: keyName, publicKey: pair.publicKeyLine, tags: tags) }
      _ = try await refusalMakesNothing(state, importKeyPair) { made in
        run.ui.message("EC2 made the key pair but its answer was lost; using it")
        return made
      }
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
  ///
  /// Except a `InvalidKeyPair.Duplicate` whose key pair is this build's (`ownKeyPair`): the
  /// client resent a call whose answer was lost, and `adopt` makes the most of what the first
  /// attempt made.
  private func refusalMakesNothing<Value>(
    _ state: BuildState, _ create: () async throws -> Value, adopt: (EC2KeyPair) async throws -> Value
  ) async throws -> Value {
    do {
      let value = try await create()
      state[Created.self]?.answered = true
      return value
    } catch let error as AWSServiceError where error.status < 500 {
      if error.code == "InvalidKeyPair.Duplicate", let name = state[Created.self]?.name {
        let own: EC2KeyPair?
        do {
          own = try await ownKeyPair(named: name)
        } catch let lookup {
          forget(state)
          throw BuildError("\(error.description)\nWhether key pair \(name) is this build's could not be checked, so it is left alone: \(lookup)")
        }
        if let own {
          let value = try await adopt(own)
          state[Created.self]?.answered = true
          return value
        }
      }
      forget(state)
      throw error
    }
  }

  private func forget(_ state: BuildState) {
    if let (_, token, _) = state[Created.self] { run.resources.settle(token) }
    state[Created.self] = nil
  }

  /// The key pair `name` if it carries this build's `kiln:run` and `kiln:build` tags (the run's
  /// UUID is unique, so no one else's does), else nil. Asked again while EC2 does not list it
  /// yet (a key pair just made can take a moment to be listed).
  private func ownKeyPair(named name: String) async throws -> EC2KeyPair? {
    let found: EC2KeyPair?? = try await run.lookAgain {
      guard let pair = try await run.ec2.describeKeyPairs(filters: [EC2Filter("key-name", [name])]).first else { return nil }
      return .some(run.isOwn(pair.tags) ? pair : nil)
    }
    return found ?? nil
  }

  var earlyCleanup: EarlyCleanupGroup? { .temporaryKeyPair }

  func cleanup(_ state: BuildState) async throws {
    if let path = state[DebugKeyFile.self] { try? FileManager.default.removeItem(atPath: path) }
    guard let (keyName, token, answered) = state[Created.self] else { return }
    run.ui.say("Deleting temporary keypair...")
    do {
      if answered {
        // The key pair exists and nothing else will make it: one delete removes it.
        try await run.ec2.deleteKeyPair(name: keyName)
        run.resources.settle(token)
        return
      }
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

// MARK: - What it tells the steps after it

/// The key pair the instance is launched with, and the private key Kiln holds for it (a
/// temporary one, in memory).
enum LaunchKeyPair: StateKey { typealias Value = (name: String, privateKeyPEM: String?, publicKeyLine: String?) }
