import Foundation
import KilnCLI
import KilnCore
import Testing
import _KilnTestSupport

/// SSH options kiln cannot honour are refused or warned about by `kiln validate`, never
/// accepted and ignored.
@Suite struct SSHOptionTests {
  func diagnostics(_ extra: String) throws -> Diagnostics {
    let directory = try Scratch.directory("kiln-sshopt")
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("template.json").path
    try #"{"builders": [{"type": "null", "ssh_host": "127.0.0.1", "ssh_username": "u", "ssh_password": "p"\#(extra)}]}"#
      .write(toFile: path, atomically: true, encoding: .utf8)
    var options = ValidationOptions()
    options.workingDirectory = directory.path
    options.environment = [:]
    return TemplateValidator.validate(path: path, options: options, registry: .kiln).diagnostics
  }

  @Test func agentForwardingCannotBeRequested() throws {
    let refused = try diagnostics(#", "ssh_disable_agent_forwarding": false"#).errors.map(\.message)
    #expect(refused.contains { $0.contains("ssh_disable_agent_forwarding") && $0.contains("kiln cannot forward the ssh agent") }, "\(refused)")
    #expect(try diagnostics(#", "ssh_disable_agent_forwarding": true"#).hasErrors == false)
  }

  @Test func scpIsRefusedAndSFTPAccepted() throws {
    let refused = try diagnostics(#", "ssh_file_transfer_method": "scp""#).errors.map(\.message)
    #expect(refused.contains { $0.contains("ssh_file_transfer_method") && $0.contains("\"scp\" is not supported by kiln") }, "\(refused)")
    #expect(try diagnostics(#", "ssh_file_transfer_method": "sftp""#).hasErrors == false)
  }

  @Test func aKeySizeForEd25519KeysIsWarnedAbout() throws {
    let found = try diagnostics(#", "temporary_key_pair_bits": 4096"#)
    #expect(!found.hasErrors, "\(found.items)")
    #expect(
      found.warnings.map(\.message).contains {
        $0.hasSuffix(
          "'temporary_key_pair_bits' is accepted for compatibility and has no effect: kiln's temporary keys are ed25519, which have one size, or RSA keys made by EC2, which are 2048 bits"
        )
      }, "\(found.warnings.map(\.message))")
  }

  /// Packer acts on these; kiln cannot, so it refuses them rather than connect differently.
  @Test(arguments: [#", "ssh_bastion_interactive": true"#, #", "ssh_bastion_certificate_file": "c""#, #", "ssh_proxy_host": "p""#])
  func bastionAndProxyOptionsKilnLacksAreRefused(extra: String) throws {
    let key = String(extra.split(separator: "\"")[1])
    let errors = try diagnostics(extra).errors.map(\.message)
    #expect(errors.contains { $0.contains("'\(key)' is not supported by kiln") }, "\(errors)")
  }
}
