import Foundation
import KilnBuild
import KilnBuilders
import KilnCore
import Synchronization
import Testing
import _KilnTestSupport

/// What the run's ledger hears reaches `-events`: a resource recorded, renamed once its id is
/// known, and settled, each with its build and plugin.
@Suite struct EventLedgerTests {
  struct LedgerProvisioner: RunnableProvisioner {
    static let typeName = "test-ledger"
    init(from reader: inout ConfigReader) {}

    func provision(_ context: BuildContext, communicator: (any Communicator)?, buildValues: [String: String]) async throws {
      let token = context.resources.record("thing (asked for)", by: .init(build: context.buildName, plugin: Self.typeName))
      context.resources.update(token, "thing t-1")
      context.resources.settle(token)
    }
  }

  @Test func recordUpdateAndSettleAreEvents() async throws {
    let work = try Scratch.directory("kiln-ledger-events")
    let path = work.appendingPathComponent("t.json").path
    try #"{"builders": [{"type": "null", "name": "b", "communicator": "none"}], "provisioners": [{"type": "test-ledger"}]}"#
      .write(toFile: path, atomically: true, encoding: .utf8)
    var registry = PluginRegistry()
    registry.registerBuilders()
    registry.register(provisioner: LedgerProvisioner.self)
    var validationOptions = ValidationOptions()
    validationOptions.workingDirectory = work.path
    let validation = TemplateValidator.validate(path: path, options: validationOptions, registry: registry)
    let lines = Mutex<[String]>([])
    let stream = EventStream(runUUID: "00000000-0000-4000-8000-000000000000") { line in lines.withLock { $0.append(line) } }
    var uiOptions = ConsoleUI.Options()
    uiOptions.color = false
    let console = ConsoleUI(options: uiOptions, masker: SecretMasker(), events: stream, write: { _ in })
    var options = BuildSession.Options(templatePath: path)
    options.watchesSignals = false
    let session = BuildSession(validation: validation, validationOptions: validationOptions, options: options, console: console)
    #expect(session.runUUID == "00000000-0000-4000-8000-000000000000", "the run's UUID is the stream's")
    guard case .ran(let report) = await session.run(), report.succeeded else {
      Issue.record("the build failed")
      return
    }
    let events = try lines.withLock { $0 }.map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    let ledger = events.filter { ($0["type"] as? String)?.hasPrefix("resource-") == true }
    #expect(ledger.map { $0["type"] as? String } == ["resource-created", "resource-updated", "resource-deleted"])
    #expect(ledger.map { $0["resource"] as? String } == ["thing (asked for)", "thing t-1", "thing t-1"])
    #expect(ledger.allSatisfy { $0["build"] as? String == "b" && $0["plugin"] as? String == "test-ledger" })
    #expect(session.resources.outstanding.isEmpty)
  }
}
