public import KilnCore
import Foundation
import KilnSSH

/// The connection a build made, for the provisioning step.
enum ConnectedCommunicator: StateKey { typealias Value = ReconnectingCommunicator }

/// Where the machine is when only the run knows it (amazon-ebs: the instance's address and
/// the temporary key); `StepConnectSSH` prefers it to the template's `ssh_host`.
enum SSHTarget: StateKey {
  struct Value: Sendable {
    var host: String
    var privateKeyPEM: String?
  }
}

extension NullBuilder: RunnableBuilder {
  public func run(_ context: BuildContext, hooks: ProvisionHooks) async throws -> (any Artifact)? {
    let state = BuildState()
    var steps: [any BuildStep] = []
    if communicator.kind == .ssh {
      steps.append(StepConnectSSH(communicator: communicator, ui: context.ui))
    }
    let values = communicator.hookData(runUUID: context.runUUID)
    steps.append(StepProvision(values: { _ in values }, hooks: hooks, ui: context.ui))
    let log = context.log
    let outcome = await StepRunner(steps: steps, onError: context.onError, hooks: context.stepHooks, onCleanup: { step in log?.log("cleanup of step \(step)") }).run(state)
    for skipped in outcome.skippedCleanups { context.ui.error("aborted: skipping cleanup of step \"\(skipped)\"") }
    for (step, problem) in outcome.cleanupProblems { context.ui.error("cleanup of step \"\(step)\" failed: \(problem)") }
    switch outcome.ending {
    case .succeeded:
      return BasicArtifact(builderID: "fnoeding.null", id: "Null", summary: "Did not export anything. This is the null builder")
    case .failed(let failure):
      throw failure.underlying
    case .cancelled:
      throw outcome.cancellationError(left: [])
    }
  }
}

/// Connects over SSH with Packer's waiting rules; its cleanup closes the session.
struct StepConnectSSH: BuildStep {
  let name = "connect-ssh"
  let communicator: CommunicatorConfig
  let ui: any BuildUI

  func run(_ state: BuildState) async throws {
    let target = state[SSHTarget.self]
    let host = target?.host ?? communicator.host
    var authentication: [SSHConnectionConfig.Authentication] = []
    if let key = target?.privateKeyPEM { authentication.append(.privateKey(pem: key)) }
    if !communicator.privateKeyFile.isEmpty { authentication.append(.privateKeyFile(path: communicator.privateKeyFile)) }
    if communicator.agentAuth { authentication.append(.agent()) }
    if !communicator.password.isEmpty { authentication.append(.password(communicator.password)) }
    var config = SSHConnectionConfig(host: host, port: communicator.port, username: communicator.username, authentication: authentication)
    config.readWriteTimeout = communicator.readWriteTimeout > 0 ? .seconds(communicator.readWriteTimeout) : nil
    config.keepAliveInterval = communicator.keepAliveInterval > 0 ? .seconds(communicator.keepAliveInterval) : nil
    config.requestPTY = communicator.pty
    config.expectedHostKeyFingerprint = communicator.hostKeyFingerprint.isEmpty ? nil : communicator.hostKeyFingerprint
    if let bastion = communicator.bastion {
      var hop: [SSHConnectionConfig.Authentication] = []
      if !bastion.privateKeyFile.isEmpty { hop.append(.privateKeyFile(path: bastion.privateKeyFile)) }
      if bastion.agentAuth { hop.append(.agent()) }
      if !bastion.password.isEmpty { hop.append(.password(bastion.password)) }
      config.bastion = SSHBastion(host: bastion.host, port: bastion.port, username: bastion.username.isEmpty ? communicator.username : bastion.username, authentication: hop)
    }
    var connector = SSHConnector(config: config)
    connector.timeout = .seconds(communicator.timeout)
    connector.handshakeAttempts = communicator.handshakeAttempts
    connector.pauseBeforeConnecting = .seconds(communicator.pauseBeforeConnecting)
    ui.say("Using SSH communicator to connect: \(host)")
    ui.say("Waiting for SSH to become available...")
    let session = try await connector.connect { message in ui.message(message) }
    state[ConnectedCommunicator.self] = ReconnectingCommunicator(connector: connector, first: session) { message in ui.message(message) }
    ui.say("Connected to SSH! (host key \(session.hostKeyFingerprint))")
  }

  func cleanup(_ state: BuildState) async throws {
    // Closed here, on the session's queue, not whenever a thread drops the last reference:
    // that could be during the process's exit, after OpenSSL's atexit cleanup.
    await state[ConnectedCommunicator.self]?.close()
    state[ConnectedCommunicator.self] = nil
  }
}

/// Marks a build whose provisioning failed, for the error-cleanup-provisioner.
enum ProvisioningFailed: StateKey { typealias Value = Bool }

/// Runs the template's provisioners through the hook (Packer's `StepProvision`); its cleanup
/// runs the `error-cleanup-provisioner` when provisioning failed, before anything else is
/// torn down.
struct StepProvision: BuildStep {
  let name = "provision"
  /// The hook data (`ID`, `Host`, `SSHPrivateKey`, generated data …), read from the state
  /// when provisioning starts.
  let values: @Sendable (BuildState) -> [String: String]
  let hooks: ProvisionHooks
  let ui: any BuildUI
  var cleansUpWhenAborting: Bool { true }

  func run(_ state: BuildState) async throws {
    do {
      try await hooks.provision(state[ConnectedCommunicator.self], values(state))
    } catch {
      // An error, not an interrupt: Packer runs the error-cleanup-provisioner only then.
      if !(error is CancellationError) { state[ProvisioningFailed.self] = true }
      throw error
    }
  }

  func cleanup(_ state: BuildState) async throws {
    guard state[ProvisioningFailed.self] == true, let errorCleanup = hooks.errorCleanup else { return }
    ui.say("Provisioning failed: running the error-cleanup-provisioner")
    try await errorCleanup(state[ConnectedCommunicator.self], values(state))
  }
}
