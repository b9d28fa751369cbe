import Foundation
import KilnAWS
import Testing
import _KilnTestSupport

/// The amazon-ebs options that used to be accepted and dropped (issue 11, item 7): each one
/// either takes effect on EC2 (asked of moto where moto keeps the state, else read from
/// moto's request log) or is refused by `kiln validate` with the reason.
@Suite struct AmazonEBSOptionTests {
  /// A loopback stand-in for checkip.amazonaws.com that answers `address`.
  static func checkIPServer(answering address: String) async throws -> (server: LoopbackServer, url: String) {
    let directory = try Scratch.directory("kiln-checkip")
    try "\(address)\n".write(to: directory.appendingPathComponent("checkip"), atomically: true, encoding: .utf8)
    let server = try await LoopbackServer(python: TestPaths.fixture("static_server.py"), arguments: [directory.path])
    return (server, server.baseURL.appendingPathComponent("checkip").absoluteString)
  }

  /// One build that sets the launch options, fails in its provisioner and, with
  /// `-on-error=abort`, leaves the group and the instance for moto to be asked about.
  @Test func launchOptionsReachEC2AndTheGroupOpensOnlyToThisHostsPublicIP() async throws {
    let lab = try await EC2Lab()
    let checkIP = try await Self.checkIPServer(answering: "203.0.113.7")
    let path = try lab.template(
      provisioners: #"[{"type": "shell", "inline": ["exit 3"]}]"#,
      extra: """
        "temporary_security_group_source_public_ip": true,
        "placement": {"tenancy": "host", "host_id": "h-0123456789abcdef0", "host_resource_group_arn": "arn:aws:resource-groups:us-east-1:123456789012:group/hosts"},
        "license_specifications": [{"license_configuration_request": {"license_configuration_arn": "arn:aws:license-manager:us-east-1:123456789012:license-configuration:lic-0123456789abcdef0123456789abcdef"}}],
        "enable_unlimited_credits": true,
        "enable_nitro_enclave": true,
        "capacity_reservation_preference": "open",
        "capacity_reservation_group_arn": "arn:aws:resource-groups:us-east-1:123456789012:group/reservations",
        "no_ephemeral": true
        """)
    var environment = lab.environment
    environment["KILN_CHECKIP_URL"] = checkIP.url
    let result = try await KilnProcess.run(["build", "-color=false", "-on-error=abort", path], in: lab.work, environment: environment)
    #expect(result.status == 1, "the provisioner fails")
    #expect(result.stdout.contains("Current host's public IP: 203.0.113.7/32"), "\(result.stdout)\(result.stderr)")

    let east = try lab.client()
    let group = try #require(try await east.describeSecurityGroups().first { $0.groupName != "default" })
    #expect(group.ingressCIDRs == ["203.0.113.7/32"], "only this host may connect, not 0.0.0.0/0")
    let instance = try #require(try await east.describeInstances().first)
    #expect(instance.hostID == "h-0123456789abcdef0", "placement.host_id")

    // moto keeps none of these: what RunInstances was asked.
    let run = try #require(lab.moto.requests("RunInstances").first)
    #expect(run["Placement.Tenancy"] == "host", "placement.tenancy overrides tenancy")
    #expect(run["Placement.HostResourceGroupArn"] == "arn:aws:resource-groups:us-east-1:123456789012:group/hosts")
    #expect(
      run["LicenseSpecification.1.LicenseConfigurationArn"]
        == "arn:aws:license-manager:us-east-1:123456789012:license-configuration:lic-0123456789abcdef0123456789abcdef")
    #expect(run["CreditSpecification.CpuCredits"] == "unlimited")
    #expect(run["EnclaveOptions.Enabled"] == "true")
    #expect(run["CapacityReservationSpecification.CapacityReservationPreference"] == "open")
    #expect(
      run["CapacityReservationSpecification.CapacityReservationTarget.CapacityReservationResourceGroupArn"]
        == "arn:aws:resource-groups:us-east-1:123456789012:group/reservations")
    let noDevices = run.filter { $0.key.hasSuffix(".NoDevice") }.count
    let names = Set(run.filter { $0.key.hasPrefix("BlockDeviceMapping.") && $0.key.hasSuffix(".DeviceName") }.map(\.value))
    #expect(noDevices == 26 && names.contains("xvdca") && names.contains("xvdcz"), "no_ephemeral hides xvdca-xvdcz")
  }

  /// An answer that is not one usable address never opens the group: the unspecified
  /// address would mean everyone. The build stops before creating the group.
  @Test func anUnusablePublicIPAnswerFailsBeforeTheGroupIsMade() async throws {
    let lab = try await EC2Lab()
    let checkIP = try await Self.checkIPServer(answering: "0.0.0.0")
    let path = try lab.template(extra: #""temporary_security_group_source_public_ip": true"#)
    var environment = lab.environment
    environment["KILN_CHECKIP_URL"] = checkIP.url
    let result = try await KilnProcess.run(["build", "-color=false", path], in: lab.work, environment: environment)
    #expect(result.status == 1)
    #expect(
      result.stdout.contains("cannot find this host's public IP for 'temporary_security_group_source_public_ip'"), "\(result.stdout)\(result.stderr)")
    #expect(!lab.moto.actions().contains { $0.action == "CreateSecurityGroup" || $0.action == "RunInstances" })
  }

  /// `ssh_interface: ipv6` connects to the instance's IPv6 address and never falls back to
  /// IPv4; the temporary group opens to `::/0`, as in Packer.
  @Test func sshInterfaceIPv6NeverFallsBackToIPv4() async throws {
    let lab = try await EC2Lab()
    var path = try lab.template(extra: #""ssh_interface": "ipv6""#)
    // Without ssh_host, so that the interface decides (moto gives the instance no IPv6).
    let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: #""ssh_host": "127.0.0.1", "#, with: "")
    path = lab.work.appendingPathComponent("ipv6.json").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    let result = try await lab.build(["-on-error=abort", path])
    #expect(result.status == 1)
    #expect(result.stdout.contains("has no IPv6 address to connect to"), "\(result.stdout)\(result.stderr)")
    #expect(!result.stdout.contains("Waiting for SSH"), "no attempt at the IPv4 address")
    let group = try #require(try await lab.client().describeSecurityGroups().first { $0.groupName != "default" })
    #expect(group.ingressCIDRs == ["::/0"])
  }

  /// `snapshot_copy_duration_minutes` reaches CopyImage; `ami_virtualization_type: hvm`
  /// vouches for the image when enhanced networking is asked for (Packer's check).
  @Test func copyDurationReachesCopyImage() async throws {
    let lab = try await EC2Lab()
    let path = try lab.template(
      extra: #""ami_regions": ["us-west-2"], "snapshot_copy_duration_minutes": 30, "ami_virtualization_type": "hvm", "ena_support": true"#)
    let result = try await lab.build([path])
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    let copies = lab.moto.requests("CopyImage")
    #expect(copies.count == 1 && copies.allSatisfy { $0["SnapshotCopyCompletionDurationMinutes"] == "30" }, "\(copies)")
  }

  static func validate(_ builder: String) async throws -> KilnProcess.Result {
    let work = try Scratch.directory("kiln-ebsopts")
    defer { try? FileManager.default.removeItem(at: work) }
    let template = """
      {"builders": [{"type": "amazon-ebs", "region": "us-east-1", "source_ami": "ami-12345678", "instance_type": "t3.micro",
        "ssh_username": "ubuntu", "ami_name": "kiln-options", \(builder)}]}
      """
    try template.write(to: work.appendingPathComponent("t.json"), atomically: true, encoding: .utf8)
    return try await KilnProcess.run(["validate", "t.json"], in: work)
  }

  @Test(arguments: [
    (#""boot_mode": "uefi""#, "'boot_mode' is not an amazon-ebs option: the AMI takes the source AMI's boot mode"),
    (#""tpm_support": "v2.0""#, "'tpm_support' is not an amazon-ebs option"),
    (#""uefi_data": "QU1aTlVFRkk=""#, "'uefi_data' is not an amazon-ebs option"),
    (#""fast_launch": {"enable_fast_launch": true}"#, "'fast_launch' is not supported by kiln: fast launch pre-provisions Windows AMIs"),
    (#""fleet_tags": {"a": "b"}"#, "'fleet_tags' should not be set when not requesting a spot instance"),
    (
      #""fleet_tags": {"a": "b"}, "spot_price": "auto""#,
      "'fleet_tags' is not supported by kiln: it launches the spot instance with RunInstances, not an EC2 fleet"
    ),
    (
      #""temporary_security_group_source_public_ip": true, "temporary_security_group_source_cidrs": ["10.0.0.0/8"]"#,
      "only one of 'temporary_security_group_source_cidrs' or 'temporary_security_group_source_public_ip' can be specified"
    ),
    (#""ami_virtualization_type": "paravirtual", "ena_support": true"#, "'ami_virtualization_type' is \"paravirtual\""),
    (
      #""temporary_key_pair_type": "rsa", "temporary_key_pair_bits": 4096"#,
      "'temporary_key_pair_bits' must be 2048 with \"temporary_key_pair_type\": \"rsa\""
    ),
    (#""ssh_proxy_host": "proxy.example""#, "'ssh_proxy_host' is not supported by kiln"),
  ])
  func optionsKilnCannotHonourAreRefused(builder: String, message: String) async throws {
    let result = try await Self.validate(builder)
    #expect(result.status == 1)
    #expect(result.stderr.contains(message), "\(result.stdout)\(result.stderr)")
  }

  @Test func keySizeOfAnEd25519KeyIsAWarningAsInPacker() async throws {
    let result = try await Self.validate(#""temporary_key_pair_bits": 4096"#)
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    #expect(
      (result.stdout + result.stderr).contains(
        "'temporary_key_pair_bits' is accepted for compatibility and has no effect: kiln's temporary keys are ed25519"))
  }
}
