import KilnCore

/// Mirrors the SDK's `commonsteps.StepProvision`, for every builder.
///
/// Runs the template's provisioners through the hook, with the hook data (`ID`, `Host`,
/// `SSHPrivateKey`, generated data, …) read from the state when provisioning starts.
///
/// Creates whatever the provisioners make on the machine. Cleanup: when provisioning failed
/// (not on an interrupt), runs the `error-cleanup-provisioner`, before anything else is torn
/// down; it is the one cleanup `-on-error=run-cleanup-provisioner` keeps. Writes
/// `ProvisioningFailed`.
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

// MARK: - State it reads and writes

/// Marks a build whose provisioning failed, for the error-cleanup-provisioner.
enum ProvisioningFailed: StateKey { typealias Value = Bool }
