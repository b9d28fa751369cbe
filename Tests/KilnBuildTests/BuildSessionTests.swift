import Foundation
import KilnBuild
import KilnBuilders
import KilnCore
import KilnProvisioners
import Synchronization
import Testing
import _KilnTestSupport

/// `BuildSession` as a library: no binary, no sshd, no moto. `null` builds without a
/// communicator, with `shell-local` and a provisioner of the test's own.
@Suite struct BuildSessionTests {
  let work: URL

  init() throws { work = try Scratch.directory("kiln-session") }

  /// A provisioner that records one resource for its build in the run's ledger and never
  /// settles it (as a build interrupted before its cleanup would leave it).
  struct RecordingProvisioner: RunnableProvisioner {
    static let typeName = "test-record"
    init(from reader: inout ConfigReader) {}

    func provision(_ context: BuildContext, communicator: (any Communicator)?, buildValues: [String: String]) async throws {
      context.resources.record(
        "thing of build '\(context.buildName)'", by: .init(build: context.buildName, plugin: Self.typeName))
    }
  }

  static let registry: PluginRegistry = {
    var registry = PluginRegistry()
    registry.registerBuilders()
    registry.registerProvisioners()
    registry.register(provisioner: RecordingProvisioner.self)
    return registry
  }()

  /// Runs `template` (JSON text) through a session; returns the session, its result and
  /// what the console printed.
  func run(_ template: String, _ configure: (inout BuildSession.Options) -> Void = { _ in }) async throws -> (
    BuildSession, BuildSessionResult, String
  ) {
    let path = work.appendingPathComponent("template.json").path
    try template.write(toFile: path, atomically: true, encoding: .utf8)
    var validationOptions = ValidationOptions()
    validationOptions.workingDirectory = work.path
    let validation = TemplateValidator.validate(path: path, options: validationOptions, registry: Self.registry)
    let printed = Mutex("")
    var uiOptions = ConsoleUI.Options()
    uiOptions.color = false
    let console = ConsoleUI(options: uiOptions, masker: SecretMasker(), write: { text in printed.withLock { $0 += text } })
    var options = BuildSession.Options(templatePath: path)
    options.watchesSignals = false
    configure(&options)
    let session = BuildSession(validation: validation, validationOptions: validationOptions, options: options, console: console)
    let result = await session.run()
    return (session, result, printed.withLock { $0 })
  }

  @Test func runsANullBuildWithShellLocalAndReturnsItsArtifact() async throws {
    let made = work.appendingPathComponent("made.txt").path
    let (session, result, printed) = try await run(
      """
      {
        "builders": [{"type": "null", "name": "local", "communicator": "none"}],
        "provisioners": [{"type": "shell-local", "inline": ["echo \\"$PACKER_BUILD_NAME {{build `PackerRunUUID`}}\\" > \(made)", "echo said-by-the-script"]}]
      }
      """)
    guard case .ran(let report) = result else {
      Issue.record("the build did not run: \(result)")
      return
    }
    #expect(report.succeeded)
    #expect(report.builds.map(\.name) == ["local"])
    #expect(report.artifacts.map(\.build) == ["local"])
    #expect(report.artifacts.first?.artifacts.map(\.id) == ["Null"])
    #expect(report.artifacts.first?.artifacts.map(\.builderID) == ["fnoeding.null"])
    #expect(report.left.isEmpty)
    #expect(try String(contentsOfFile: made, encoding: .utf8) == "local \(session.runUUID)\n")
    #expect(printed.contains("local: said-by-the-script"))
  }

  @Test func aFailingProvisionerIsTheBuildsErrorAndTheOtherBuildStillRuns() async throws {
    let (_, result, _) = try await run(
      """
      {
        "builders": [{"type": "null", "name": "bad", "communicator": "none"}, {"type": "null", "name": "good", "communicator": "none"}],
        "provisioners": [{"type": "shell-local", "inline": ["test \\"$PACKER_BUILD_NAME\\" = good || exit 3"]}]
      }
      """
    ) { $0.parallelBuilds = 1 }
    guard case .ran(let report) = result else {
      Issue.record("the builds did not run: \(result)")
      return
    }
    #expect(!report.succeeded)
    #expect(report.errors.map(\.build) == ["bad"])
    #expect(report.errors.first?.message.contains("exit") == true)
    #expect(report.artifacts.map(\.build) == ["good"])
  }

  @Test func anInvalidTemplateRunsNothing() async throws {
    let (_, result, printed) = try await run(#"{"builders": [{"type": "null", "name": "x", "communicator": "none", "no_such_key": 1}]}"#)
    guard case .invalid = result else {
      Issue.record("expected .invalid, got \(result)")
      return
    }
    #expect(printed.isEmpty)
  }

  @Test func whatBuildsRecordIsInTheSessionsLedgerByBuild() async throws {
    let (session, result, _) = try await run(
      """
      {
        "builders": [{"type": "null", "name": "a", "communicator": "none"}, {"type": "null", "name": "b", "communicator": "none"}],
        "provisioners": [{"type": "test-record"}]
      }
      """)
    guard case .ran(let report) = result else {
      Issue.record("the builds did not run: \(result)")
      return
    }
    #expect(report.succeeded)
    #expect(Set(report.left) == ["thing of build 'a'", "thing of build 'b'"])
    #expect(Set(session.resources.outstanding) == Set(report.left))
    #expect(session.resources.outstanding(build: "a") == ["thing of build 'a'"])
    #expect(session.resources.outstanding(of: .init(build: "b", plugin: "test-record")) == ["thing of build 'b'"])
    #expect(session.resources.outstanding(of: .init(build: "b", plugin: "amazon-ebs")).isEmpty)
  }
}

@Suite struct ResourceLedgerTests {
  @Test func filtersByBuildAndOwnerAndFollowsUpdates() {
    let ledger = ResourceJournal()
    let ebsA = ResourceJournal.Owner(build: "a", plugin: "amazon-ebs")
    let shellA = ResourceJournal.Owner(build: "a", plugin: "shell")
    let ebsB = ResourceJournal.Owner(build: "b", plugin: "amazon-ebs")
    let instance = ledger.record("instance launched by build 'a'", by: ebsA)
    let script = ledger.record("script /tmp/s.sh on the machine of build 'a'", by: shellA)
    ledger.record("key pair kiln_b in us-east-1", by: ebsB)
    ledger.update(instance, "instance i-1 in us-east-1")
    #expect(ledger.outstanding == ["instance i-1 in us-east-1", "script /tmp/s.sh on the machine of build 'a'", "key pair kiln_b in us-east-1"])
    #expect(ledger.outstanding(build: "a") == ["instance i-1 in us-east-1", "script /tmp/s.sh on the machine of build 'a'"])
    #expect(ledger.outstanding(of: ebsA) == ["instance i-1 in us-east-1"])
    ledger.settle(script)
    ledger.update(script, "settled entries stay gone")
    #expect(ledger.outstanding(build: "a") == ["instance i-1 in us-east-1"])
  }
}
