import Foundation
import Testing
import _KilnTestSupport

/// The EKS node scripts in `Provisioners/`, run for real against a throwaway root
/// (`INSTALL_ROOT`) and a loopback HTTP mirror that serves test artifacts with checksums.
@Suite(.serialized) struct ProvisionerScriptTests {
  let work: URL
  let mirror: URL
  let root: URL

  init() throws {
    work = try Scratch.directory("kiln-scripts")
    mirror = work.appendingPathComponent("mirror")
    root = work.appendingPathComponent("root")
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    try FileManager.default.createDirectory(at: mirror, withIntermediateDirectories: true)
  }

  /// A loopback HTTP server over `mirror` (the fixture demo/run uses too), stopped when the
  /// body returns.
  func withMirror<T>(_ body: (String) async throws -> T) async throws -> T {
    let server = try await LoopbackServer(python: TestPaths.fixture("static_server.py"), arguments: [mirror.path])
    do {
      let result = try await body(server.baseURL.absoluteString)
      await server.stop()
      return result
    } catch {
      await server.stop()
      throw error
    }
  }

  @discardableResult
  func shell(_ command: String, _ environment: [String: String] = [:]) async throws -> (Int32, String) {
    var env = ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": work.path]
    env.merge(environment) { $1 }
    return try await TestCommand.run(["bash", "-c", command], environment: env)
  }

  /// Publishes test artifacts laid out like the EKS bucket and the GitHub releases (the
  /// demo's mirror script), optionally with one file tampered with.
  func publishArtifacts(corrupt: String? = nil) async throws {
    let script = SharedFixtures.repository.appendingPathComponent("demo/publish-mirror.sh").path
    let (status, output) = try await shell("bash '\(script)' '\(mirror.path)' 1.31.2 2024-11-15 1.7.24 1.2.2 1.6.1")
    #expect(status == 0, "\(output)")
    if let corrupt {
      try "tampered".write(to: mirror.appendingPathComponent(corrupt), atomically: true, encoding: .utf8)
    }
  }

  func environment(_ base: String) -> [String: String] {
    [
      "INSTALL_ROOT": root.path, "WORKER_DIR": SharedFixtures.repository.appendingPathComponent("Provisioners").path,
      "ARCH": "x86_64", "KUBERNETES_VERSION": "1.31.2", "KUBERNETES_BUILD_DATE": "2024-11-15",
      "CONTAINER_RUNTIME": "containerd", "CONTAINERD_VERSION": "1.7.24", "RUNC_VERSION": "1.2.2",
      "CNI_PLUGIN_VERSION": "1.6.1", "BINARY_BUCKET_URL": base + "/amazon-eks", "GITHUB_RELEASE_URL": base,
      "SOURCE_AMI": "ami-12345678",
    ]
  }

  static let scripts = ["configure-kernel.sh", "install-runtime.sh", "install-kubelet.sh", "install-auth.sh"]

  func runAll(_ env: [String: String]) async throws -> String {
    var log = ""
    for script in Self.scripts {
      let path = SharedFixtures.repository.appendingPathComponent("Provisioners/\(script)").path
      let (status, output) = try await shell("bash '\(path)'", env)
      log += output
      #expect(status == 0, "\(script) failed:\n\(output)")
    }
    return log
  }

  /// A digest of every file under the root (path, mode and content).
  func treeDigest() async throws -> String {
    try await shell("cd '\(root.path)' && find . -type f -printf '%p %m\\n' | sort && find . -type f -exec sha256sum {} + | sort").1
  }

  @Test func installsEverythingWhereKubeletExpectsItAndASecondRunChangesNothing() async throws {
    try await publishArtifacts()
    try await withMirror { base in
      _ = try await runAll(environment(base))
      let fm = FileManager.default
      for path in [
        "usr/bin/kubelet", "usr/bin/kubectl", "usr/bin/aws-iam-authenticator",
        "etc/eks/image-credential-provider/ecr-credential-provider", "usr/local/bin/containerd",
        "usr/local/sbin/runc", "opt/cni/bin/bridge",
      ] {
        #expect(fm.isExecutableFile(atPath: root.appendingPathComponent(path).path), "\(path) missing or not executable")
      }
      let unit = try String(contentsOf: root.appendingPathComponent("etc/systemd/system/kubelet.service"), encoding: .utf8)
      #expect(unit.contains("--config /etc/kubernetes/kubelet/config.json"))
      #expect(unit.contains("After=containerd.service"))
      let config = try Data(contentsOf: root.appendingPathComponent("etc/kubernetes/kubelet/config.json"))
      let kubelet = try #require(try JSONSerialization.jsonObject(with: config) as? [String: Any])
      #expect(kubelet["kind"] as? String == "KubeletConfiguration")
      #expect(kubelet["cgroupDriver"] as? String == "systemd")
      let provider = try Data(contentsOf: root.appendingPathComponent("etc/eks/image-credential-provider/config.json"))
      #expect((try JSONSerialization.jsonObject(with: provider) as? [String: Any])?["kind"] as? String == "CredentialProviderConfig")
      let sysctl = try String(contentsOf: root.appendingPathComponent("etc/sysctl.d/99-kubernetes.conf"), encoding: .utf8)
      #expect(sysctl.contains("net.ipv4.ip_forward = 1"))
      #expect(try String(contentsOf: root.appendingPathComponent("etc/containerd/config.toml"), encoding: .utf8).contains("SystemdCgroup = true"))

      let before = try await treeDigest()
      let second = try await runAll(environment(base))
      #expect(try await treeDigest() == before, "a second run changed the root")
      #expect(second.contains("kubelet is already installed"))
    }
  }

  @Test func aWrongChecksumFailsWithAClearMessageAndInstallsNothing() async throws {
    try await publishArtifacts(corrupt: "amazon-eks/1.31.2/2024-11-15/bin/linux/amd64/kubelet")
    try await withMirror { base in
      let path = SharedFixtures.repository.appendingPathComponent("Provisioners/install-kubelet.sh").path
      let (status, output) = try await shell("bash '\(path)'", environment(base))
      #expect(status != 0)
      #expect(output.contains("checksum mismatch for \(base)/amazon-eks/1.31.2/2024-11-15/bin/linux/amd64/kubelet"))
      #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("usr/bin/kubelet").path))
    }
  }

  @Test func aMissingVersionFailsWithAClearMessage() async throws {
    try await publishArtifacts()
    try await withMirror { base in
      var env = environment(base)
      env["KUBERNETES_VERSION"] = "1.99.0"
      let path = SharedFixtures.repository.appendingPathComponent("Provisioners/install-kubelet.sh").path
      let (status, output) = try await shell("bash '\(path)'", env)
      #expect(status != 0)
      #expect(output.contains("no checksum for \(base)/amazon-eks/1.99.0/"))
      #expect(output.contains("is the version right?"))
      env["KUBERNETES_VERSION"] = ""
      let missing = try await shell("bash '\(path)'", env)
      #expect(missing.1.contains("KUBERNETES_VERSION must be set"))
    }
  }

  @Test func versionInfoRecordsTheComponents() async throws {
    try await publishArtifacts()
    try await withMirror { base in
      _ = try await runAll(environment(base))
      var env = environment(base)
      env["WORKER_DIR"] = work.path
      try FileManager.default.copyItem(
        at: SharedFixtures.repository.appendingPathComponent("Provisioners/lib.sh"), to: work.appendingPathComponent("lib.sh"))
      let path = SharedFixtures.repository.appendingPathComponent("Provisioners/write-version-info.sh").path
      let (status, output) = try await shell("bash '\(path)'", env)
      #expect(status == 0, "\(output)")
      let data = try Data(contentsOf: work.appendingPathComponent("version-info.json"))
      let info = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
      #expect(info["kubernetes_version"] as? String == "1.31.2")
      #expect(info["containerd_version"] as? String == "1.7.24")
      #expect((info["reported"] as? [String: String])?["kubelet"] == "kubelet v1.31.2 (kiln demo mirror)")
    }
  }
}
