import KilnAWS
import KilnCore
import KilnSSH

/// Mirrors the SDK's `StepCleanupTempKeys`.
///
/// With `ssh_clear_authorized_keys`, removes the temporary public key from the user's and
/// root's `authorized_keys` before the image is made, so the AMI does not carry it. A failure
/// is reported, not fatal, as in Packer.
///
/// Creates nothing; no cleanup.
struct StepCleanupTemporaryKeys: BuildStep {
  let name = "cleanup-temporary-keys"
  let run: EBSRun

  func run(_ state: BuildState) async throws {
    guard run.config.communicator.clearAuthorizedKeys, let publicKey = state[LaunchKeyPair.self]?.publicKeyLine,
      let communicator = state[ConnectedCommunicator.self]
    else { return }
    let fields = publicKey.split(separator: " ")
    guard fields.count >= 2 else { return }
    // The base64 blob never contains "|", so it can delimit the sed address.
    let address = "\\|\(fields[1])|d"
    run.ui.say("Trying to remove ephemeral keys from authorized_keys files")
    for command in [
      "sed -i.bak '\(address)' ~/.ssh/authorized_keys && rm -f ~/.ssh/authorized_keys.bak",
      "sudo -n sed -i.bak '\(address)' /root/.ssh/authorized_keys && sudo -n rm -f /root/.ssh/authorized_keys.bak",
    ] {
      let result = try await communicator.run(command, output: { _ in })
      if result != .exited(0) { run.ui.error("Error removing the temporary key (\(command.hasPrefix("sudo") ? "root" : "user")): \(result)") }
    }
  }
}
