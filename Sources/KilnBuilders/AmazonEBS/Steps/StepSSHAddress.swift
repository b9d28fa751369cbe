import KilnAWS
import KilnCore

/// Mirrors the host choice of the SDK's `communicator.StepConnect` (`SSHHost` in the amazon
/// plugin).
///
/// Chooses the address SSH connects to: `ssh_host` when set, else the `ssh_interface`
/// address, else the public IP or, without one, the private IP. Re-describes the instance a
/// few times while the address is not assigned yet. The result, and the temporary key, go to
/// `StepConnectSSH` through `SSHTarget`.
///
/// Creates nothing; no cleanup.
struct StepSSHAddress: BuildStep {
  let name = "ssh-address"
  let run: EBSRun

  func run(_ state: BuildState) async throws {
    let communicator = run.config.communicator
    guard var instance = state[BuildInstance.self] else { throw BuildError("no instance") }
    var host = communicator.host
    var attempt = 0
    while host.isEmpty {
      host = Self.address(of: instance, interface: run.config.sshInterface)
      if !host.isEmpty { break }
      attempt += 1
      if attempt > 3 {
        if run.config.sshInterface == "ipv6" {
          throw BuildError(
            "instance \(instance.instanceID) has no IPv6 address to connect to (\"ssh_interface\": \"ipv6\" needs a subnet that assigns IPv6 addresses); set 'ssh_host' or another 'ssh_interface'"
          )
        }
        throw BuildError(
          "instance \(instance.instanceID) has no \(run.config.sshInterface.isEmpty ? "public or private IP address" : run.config.sshInterface) to connect to; set 'ssh_interface' or 'ssh_host'"
        )
      }
      try await Task.sleep(for: .seconds(2))
      if let fresh = try await run.ec2.describeInstances(instanceIDs: [instance.instanceID]).first {
        instance = fresh
        state[BuildInstance.self] = fresh
      }
    }
    state[SSHTarget.self] = SSHTarget.Value(host: host, privateKeyPEM: state[LaunchKeyPair.self]?.privateKeyPEM)
  }

  static func address(of instance: EC2Instance, interface: String) -> String {
    switch interface {
    case "public_ip": return instance.publicIPAddress ?? ""
    case "private_ip": return instance.privateIPAddress ?? ""
    case "public_dns": return instance.publicDNSName ?? ""
    case "private_dns": return instance.privateDNSName ?? ""
    // No fallback to IPv4: the user asked for IPv6 (Packer's `ssh.go` does the same).
    case "ipv6": return instance.ipv6Address ?? ""
    default:
      if let ip = instance.publicIPAddress, !ip.isEmpty { return ip }
      return instance.privateIPAddress ?? ""
    }
  }
}
