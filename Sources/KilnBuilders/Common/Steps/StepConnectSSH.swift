import KilnCore
import KilnSSH
import Synchronization

/// Mirrors the SDK's `communicator.StepConnect` for SSH, for every builder with an SSH
/// communicator.
///
/// Connects with Packer's waiting rules, to the `SSHTarget` a builder found (amazon-ebs: the
/// instance's address and the temporary key) or else the template's `ssh_host`.
///
/// Creates: the SSH session (through a bastion when configured). Cleanup: closes the
/// session. Writes `ConnectedCommunicator`.
struct StepConnectSSH: BuildStep {
  let name = "connect-ssh"
  let communicator: CommunicatorConfig
  let ui: any BuildUI
  /// The group of the machine it connects to, when the builder releases that machine early.
  var earlyCleanup: EarlyCleanupGroup? = nil

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
      config.bastion = SSHBastion(
        host: bastion.host, port: bastion.port, username: bastion.username.isEmpty ? communicator.username : bastion.username, authentication: hop)
    }
    var connector = SSHConnector(config: config)
    connector.timeout = .seconds(communicator.timeout)
    connector.handshakeAttempts = communicator.handshakeAttempts
    connector.pauseBeforeConnecting = .seconds(communicator.pauseBeforeConnecting)
    ui.say("Using SSH communicator to connect: \(host)")
    ui.say("Waiting for SSH to become available...")
    // A booting host refuses many times: the first refusal is a line, the repeats only the
    // status line (Packer prints them only to its debug log). The same for the reconnections
    // after a restart the session makes later.
    let lastSaid = Mutex("")
    let say: @Sendable (String) -> Void = { message in
      let repeated = lastSaid.withLock { last in
        defer { last = message }
        return last == message
      }
      if repeated { ui.progress(message) } else { ui.message(message) }
    }
    let session = try await connector.connect(progress: say)
    state[ConnectedCommunicator.self] = ReconnectingCommunicator(connector: connector, first: session, progress: say)
    ui.say("Connected to SSH! (host key \(session.hostKeyFingerprint))")
  }

  func cleanup(_ state: BuildState) async throws {
    // Closed here, on the session's queue, not whenever a thread drops the last reference:
    // that could be during the process's exit, after OpenSSL's atexit cleanup.
    await state[ConnectedCommunicator.self]?.close()
    state[ConnectedCommunicator.self] = nil
  }
}

// MARK: - State it reads and writes

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
