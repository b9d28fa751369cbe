import Foundation
import KilnAWS
import Testing
import _KilnTestSupport

/// `Templates/eks-node.json` and its HCL2 twin `Templates/eks-node.pkr.hcl`, each built end to
/// end as `demo/run` builds them: moto for EC2, an sshd confined to a sandbox root made of this
/// host's binaries (`demo/make-sandbox.sh`) for the instance, and the demo's mirror of the EKS
/// bucket and GitHub releases. The scripts run for real inside the sandbox. sshd confines a
/// session only when it runs as root, so these run only as root (as CI runs them).
@Suite(.serialized, .enabled(if: getuid() == 0, "sshd's ChrootDirectory needs root"))
struct EKSTwinBuildTests {
  static let repository = SharedFixtures.repository

  @Test(arguments: [
    ("Templates/eks-node.json", ["Templates/kubernetes/1.31.json", "demo/local.json"]),
    ("Templates/eks-node.pkr.hcl", ["Templates/kubernetes/1.31.pkrvars.hcl", "demo/local.pkrvars.hcl"]),
  ])
  func buildsTheEKSNodeImage(template: String, variableFiles: [String]) async throws {
    // ChrootDirectory wants every directory on the path root-owned and not writable by
    // others: not under /tmp.
    let state = URL(fileURLWithPath: NSHomeDirectory()).appendingPathComponent(".cache/kiln-twin-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
    Scratch.removeAtExit(state.path)
    let sandbox = state.appendingPathComponent("sandbox").path
    let mirror = state.appendingPathComponent("mirror").path
    for script in [["demo/make-sandbox.sh", sandbox], ["demo/publish-mirror.sh", mirror, "1.31.2", "2024-11-15", "1.7.24", "1.2.2", "1.6.1"]] {
      let (status, output) = try await TestCommand.run(["bash"] + script, directory: Self.repository)
      #expect(status == 0, "\(script[0]): \(output)")
    }
    let lab = try await EC2Lab(chroot: sandbox)
    let files = try await LoopbackServer(python: TestPaths.fixture("static_server.py"), arguments: [mirror])
    let out = lab.work
    let result = try await KilnProcess.run(
      ["build", "-color=false"] + variableFiles.flatMap { ["-var-file", $0] } + [
        "-var", "custom_endpoint_ec2=\(lab.moto.endpoint.absoluteString)", "-var", "ssh_port=\(lab.sshd.port)",
        "-var", "binary_bucket_url=\(files.baseURL.absoluteString)/amazon-eks", "-var", "github_release_url=\(files.baseURL.absoluteString)",
        "-var", "manifest_file=\(out.path)/manifest.json", "-var", "version_info_file=\(out.path)/version-info.json", template,
      ], in: Self.repository, environment: lab.environment)
    await files.stop()
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")

    // Provisioning happened, inside the sandbox: the scripts installed and recorded the
    // components, and the version info came back from the "instance".
    #expect(FileManager.default.fileExists(atPath: sandbox + "/etc/eks/release"), "\(result.stdout)")
    let versions = try String(contentsOf: out.appendingPathComponent("version-info.json"), encoding: .utf8)
    #expect(versions.contains("1.31.2"), "\(versions)")

    // The AMI: its name and tags, from the variables and the build.
    let image = try #require(try await lab.client().describeImages(owners: ["self"]).first, "\(result.stdout)")
    #expect(image.name.hasPrefix("eks-node-demo-1.31.2-ubuntu-24.04-x86_64-"), "\(image.name)")
    let tags = Dictionary(image.tags.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
    #expect(tags["Name"] == "eks-node-demo-1.31.2-ubuntu-24.04")
    #expect(tags["kubernetes-version"] == "1.31.2")
    #expect(tags["kubernetes-build-date"] == "2024-11-15")
    #expect(tags["build-region"] == "us-east-1")
    #expect(tags["source-ami"]?.hasPrefix("ami-") == true)
    #expect(tags["build-date"]?.hasSuffix("Z") == true, "RFC 3339 in UTC: \(tags["build-date"] ?? "")")
    let manifest = try String(contentsOf: out.appendingPathComponent("manifest.json"), encoding: .utf8)
    #expect(manifest.contains("us-east-1:\(image.imageID)"))

    // Nothing left but the AMI and its snapshot.
    let left = try await lab.leftovers(["us-east-1"]).filter { !$0.hasPrefix("AMI ") && !$0.hasPrefix("snapshot ") }
    #expect(left.isEmpty, "left: \(left)")
  }
}
