import KilnCore

/// Mirrors the SDK's `commonsteps.StepProvision`, for every builder.
///
/// Runs the template's provisioners through the hook, with the hook data (`ID`, `Host`,
/// `SSHPrivateKey`, generated data, …) read from the state when provisioning starts.
///
/// Creates whatever the provisioners make on the machine. Cleanup: when a step failed (this
/// one or a later one; not on an interrupt), runs the `error-cleanup-provisioner`, before
/// the machine is torn down; it is the one cleanup `-on-error=run-cleanup-provisioner`
/// keeps. Reads `StepRunFailed`.
struct StepProvision: BuildStep {
  let name = "provision"
  /// The hook data (`ID`, `Host`, `SSHPrivateKey`, generated data …), read from the state
  /// when provisioning starts.
  let values: @Sendable (BuildState) -> [String: String]
  let hooks: ProvisionHooks
  let ui: any BuildUI
  var cleansUpWhenAborting: Bool { true }

  func run(_ state: BuildState) async throws {
    try await hooks.provision(state[ConnectedCommunicator.self], values(state))
  }

  /// As Packer's `StepProvision.Cleanup`: when a step of the build failed (this one or a
  /// later one; not on an interrupt), say so and run the error-cleanup-provisioner, if any,
  /// while the communicator is still connected.
  func cleanup(_ state: BuildState) async throws {
    guard state[StepRunFailed.self] == true else { return }
    ui.say("Provisioning step had errors: Running the cleanup provisioner, if present...")
    guard let errorCleanup = hooks.errorCleanup else { return }
    try await errorCleanup(state[ConnectedCommunicator.self], values(state))
  }
}
