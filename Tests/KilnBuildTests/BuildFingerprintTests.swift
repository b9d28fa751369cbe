import Foundation
import KilnBuild
import KilnBuilders
import KilnCore
import KilnProvisioners
import Testing
import _KilnTestSupport

/// What changes a build's fingerprint, and what does not.
@Suite struct BuildFingerprintTests {
  let work: URL
  init() throws { work = try Scratch.directory("kiln-fingerprint") }

  func fingerprint(_ assignments: [String] = [], clockOffset: TimeInterval = 0) throws -> String {
    let path = work.appendingPathComponent("t.json").path
    try """
    {"variables": {"version": "1.31", "token": "s3cret"}, "sensitive-variables": ["token"],
     "builders": [{"type": "null", "name": "n", "communicator": "none"}],
     "provisioners": [{"type": "shell-local", "script": "{{template_dir}}/step.sh", "environment_vars": ["AT={{timestamp}}", "V={{user `version`}}"]}]}
    """.write(toFile: path, atomically: true, encoding: .utf8)
    var registry = PluginRegistry()
    registry.registerBuilders()
    registry.registerProvisioners()
    var options = ValidationOptions()
    options.workingDirectory = work.path
    options.assignments = assignments.compactMap(VariableResolver.Assignment.parse)
    options.clock = BuildClock(start: Date().addingTimeInterval(clockOffset))
    let validation = TemplateValidator.validate(path: path, options: options, registry: registry)
    let build = try #require(validation.builds.first, "\(validation.diagnostics.sorted)")
    var uiOptions = ConsoleUI.Options()
    uiOptions.color = false
    let context = BuildContext(
      buildName: "n", buildType: "null", ui: ConsoleUI(options: uiOptions, masker: SecretMasker(), write: { _ in }).forBuild("n"),
      clock: options.clock, variables: validation.variables?.values ?? [:], declaredVariables: [], templateDirectory: work.path,
      workingDirectory: work.path, environment: [:], runUUID: "r", force: false)
    return try BuildFingerprint.inputs(of: build, variables: validation.variables?.values ?? [:], sensitive: ["token"], context: context)
  }

  @Test func changesWithVariablesAndFilesButNotWithTimeOrSecrets() throws {
    let script = work.appendingPathComponent("step.sh")
    try "echo one\n".write(to: script, atomically: true, encoding: .utf8)
    let base = try fingerprint()
    #expect(base.count == 64)
    #expect(try fingerprint(clockOffset: 3_600) == base, "{{timestamp}} counts as written")
    #expect(try fingerprint(["token=other"]) == base, "a secret's value never goes into the tag")
    #expect(try fingerprint(["version=1.32"]) != base)
    try "echo two\n".write(to: script, atomically: true, encoding: .utf8)
    #expect(try fingerprint() != base, "the script the provisioner runs")
  }
}
