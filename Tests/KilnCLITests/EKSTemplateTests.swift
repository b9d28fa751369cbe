import Foundation
import Testing
import _KilnTestSupport

/// `Templates/eks-node.json` with the variable files shipped beside it.
@Suite struct EKSTemplateTests {
  static let repository = SharedFixtures.repository
  static var variableFiles: [String] {
    let directory = repository.appendingPathComponent("Templates/kubernetes")
    return ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
      .filter { $0.hasSuffix(".json") }.sorted()
  }

  @Test func shipsVariableFiles() {
    #expect(Self.variableFiles.count >= 3)
  }

  @Test(arguments: variableFiles)
  func validatesWithEachShippedVariableFile(file: String) async throws {
    let result = try await KilnProcess.run(
      ["validate", "-var-file", "Templates/kubernetes/\(file)", "Templates/eks-node.json"],
      in: Self.repository, environment: KilnProcess.isolatedEnvironment(["AWS_REGION": "us-east-1"]))
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.isEmpty, "warnings: \(result.stderr)")
  }

  @Test(arguments: ["os=al2023", "container_runtime=docker", "arch=arm64"])
  func validatesItsVariants(assignment: String) async throws {
    let result = try await KilnProcess.run(
      ["validate", "-var-file", "Templates/kubernetes/1.31.json", "-var", assignment, "Templates/eks-node.json"],
      in: Self.repository, environment: KilnProcess.isolatedEnvironment(["AWS_REGION": "us-east-1"]))
    #expect(result.status == 0, "\(result.stderr)")
  }

  @Test func aVariableFileWithoutTheBuildDateIsRejectedByName() async throws {
    let file = try Scratch.directory("kiln-k8s").appendingPathComponent("k8s.json")
    try #"{"kubernetes_version": "1.31.2"}"#.write(to: file, atomically: true, encoding: .utf8)
    let result = try await KilnProcess.run(
      ["validate", "-var-file", file.path, "Templates/eks-node.json"], in: Self.repository,
      environment: KilnProcess.isolatedEnvironment(["AWS_REGION": "us-east-1"]))
    #expect(result.status == 1)
    #expect(result.stderr.contains("Templates/eks-node.json:6:5: error: required variable not set: kubernetes_build_date"))
  }

  @Test(arguments: [
    ("examples/github-actions-eks-node.yml", "vendor.github-workflows"),
    ("examples/gitlab-ci-eks-node.yml", "vendor.gitlab-ci"),
  ])
  func ciExamplesMatchTheirSchemasAndRunKilnOnShippedFiles(file: String, schema: String) async throws {
    let (status, output) = try await TestCommand.run(["check-jsonschema", "--builtin-schema", schema, file], directory: Self.repository)
    #expect(status == 0, "check-jsonschema (installed by .ci/install-deps):\n\(output)")
    let text = try String(contentsOf: Self.repository.appendingPathComponent(file), encoding: .utf8)
    #expect(text.contains("kiln validate -var-file \"Templates/kubernetes/$KUBERNETES.json\" Templates/eks-node.json"))
    #expect(text.contains("kiln build -machine-readable"))
    #expect(!text.contains("swift build"), "the examples install the release instead of compiling Kiln")
    #expect(text.contains("sha256sum -c"), "and check it against the release's SHA256SUMS")
    #expect(text.contains("AWS_WEB_IDENTITY_TOKEN_FILE"), "credentials through OIDC web identity, not stored keys")
    #expect(!text.contains("AWS_SECRET_ACCESS_KEY"))
  }

  /// The Kubernetes fleet example: valid against Kubernetes' own schemas (the
  /// kubernetes-validate package ships them; installed by .ci/install-deps), one Indexed Job
  /// completion per image line, and every image it names validates with Kiln.
  @Test func kubernetesFleetExampleIsValidAndEveryImageItNamesValidates() async throws {
    let file = "examples/kubernetes/eks-node-images.yaml"
    let (status, output) = try await TestCommand.run(["kubernetes-validate", "--strict", "-k", "1.30.0", file], directory: Self.repository)
    #expect(status == 0, "kubernetes-validate (installed by .ci/install-deps):\n\(output)")
    let text = try String(contentsOf: Self.repository.appendingPathComponent(file), encoding: .utf8)
    #expect(text.contains("completionMode: Indexed"))
    #expect(text.contains("eks.amazonaws.com/role-arn"), "credentials through IRSA (or Pod Identity), not stored keys")
    #expect(!text.contains("AWS_SECRET_ACCESS_KEY"))
    #expect(text.contains("kiln build -machine-readable -timestamp-ui -skip-unchanged"))
    let block = try #require(text.components(separatedBy: "  images: |\n").last?.components(separatedBy: "\n  kiln-version").first)
    let images = block.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces).split(separator: " ").map(String.init) }
    #expect(text.contains("completions: \(images.count)"), "one completion per image")
    for image in images {
      let result = try await KilnProcess.run(
        ["validate", "-var-file", "Templates/kubernetes/\(image[0]).json", "-var", "arch=\(image[1])", "Templates/eks-node.json"],
        in: Self.repository, environment: KilnProcess.isolatedEnvironment(["AWS_REGION": "us-east-1"]))
      #expect(result.status == 0, "\(image): \(result.stderr)")
    }
  }

  @Test func shellScriptsAreShellcheckClean() async throws {
    let fm = FileManager.default
    var scripts = try fm.contentsOfDirectory(atPath: Self.repository.appendingPathComponent("Provisioners").path)
      .filter { $0.hasSuffix(".sh") }.map { "Provisioners/" + $0 }
    scripts += [".ci/run", ".ci/install-deps"]
    scripts += try fm.contentsOfDirectory(atPath: Self.repository.appendingPathComponent("bench").path)
      .filter { $0.hasSuffix(".sh") }.map { "bench/" + $0 }
    scripts += ["demo/run", "demo/make-sandbox.sh", "demo/publish-mirror.sh"]
    let (status, output) = try await TestCommand.run(["shellcheck", "-x"] + scripts, directory: Self.repository)
    #expect(status == 0, "shellcheck (installed by .ci/install-deps):\n\(output)")
  }
}
