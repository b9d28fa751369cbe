import Foundation
import Testing
import _KilnTestSupport

/// `kiln build -events FILE`: every line of a successful, a failed and an interrupted build
/// is valid against `schemas/kiln-events.schema.json` (checked with the `jsonschema`
/// library), and the events tell the story the console tells.
@Suite struct EventStreamTests {
  let work: URL
  init() throws { work = try Scratch.directory("kiln-events") }

  func template(_ provisioners: String) throws -> String {
    let path = work.appendingPathComponent("t.json").path
    try """
    {"variables": {"secret": "hunter2-value"}, "sensitive-variables": ["secret"],
     "builders": [{"type": "null", "name": "n", "communicator": "none"}],
     "provisioners": \(provisioners),
     "post-processors": [{"type": "manifest", "output": "m.json"}]}
    """.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  /// The file's events, after checking every line against the schema.
  func events(_ file: URL) async throws -> [[String: Any]] {
    let schema = SharedFixtures.repository.appendingPathComponent("schemas/kiln-events.schema.json").path
    let (status, output) = try await TestCommand.run(["python3", TestPaths.fixture("validate_events.py").path, schema, file.path])
    #expect(status == 0, "\(output)")
    let text = try String(contentsOf: file, encoding: .utf8)
    #expect(!text.contains("hunter2-value"), "a sensitive value reached the events")
    return try text.split(separator: "\n").map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
  }

  func types(_ events: [[String: Any]]) -> [String] { events.compactMap { $0["type"] as? String } }

  @Test func aSuccessfulBuild() async throws {
    let file = work.appendingPathComponent("ok.jsonl")
    let path = try template(#"[{"type": "shell-local", "inline": ["echo made {{user `secret`}}"]}]"#)
    let result = try await KilnProcess.run(["build", "-color=false", "-events", file.path, path], in: work)
    #expect(result.status == 0, "\(result.stdout)")
    let events = try await events(file)
    let types = types(events)
    #expect(types.first == "run-start")
    #expect(Set(events.compactMap { $0["run"] as? String }).count == 1, "one run UUID throughout")
    #expect(types.filter { $0 == "step-start" }.count == types.filter { $0 == "step-end" }.count)
    #expect(events.contains { $0["type"] as? String == "output" && $0["text"] as? String == "made <sensitive>" && $0["build"] as? String == "n" })
    let artifacts = events.filter { $0["type"] as? String == "artifact" }
    #expect(artifacts.map { $0["builder_id"] as? String } == ["fnoeding.null", "fnoeding.null"], "as artifact-count says: 2")
    let end = try #require(events.first { $0["type"] as? String == "build-end" })
    #expect(end["outcome"] as? String == "succeeded" && end["error"] == nil)
    #expect(events.first { $0["type"] as? String == "run-end" }?["outcome"] as? String == "succeeded")
  }

  @Test func aFailedBuild() async throws {
    let file = work.appendingPathComponent("failed.jsonl")
    let path = try template(#"[{"type": "shell-local", "inline": ["exit 7"]}]"#)
    let result = try await KilnProcess.run(["build", "-color=false", "-events", file.path, path], in: work)
    #expect(result.status == 1)
    let events = try await events(file)
    let step = try #require(events.first { $0["type"] as? String == "step-end" })
    #expect(step["outcome"] as? String == "failed")
    #expect((step["error"] as? String)?.contains("non-zero exit status: 7") == true)
    #expect(events.first { $0["type"] as? String == "build-end" }?["outcome"] as? String == "failed")
    #expect(events.first { $0["type"] as? String == "run-end" }?["outcome"] as? String == "failed")
    #expect(!types(events).contains("artifact"))
  }

  @Test func anInterruptedBuild() async throws {
    let file = work.appendingPathComponent("interrupted.jsonl")
    let path = try template(#"[{"type": "shell-local", "inline": ["echo started", "sleep 30"]}]"#)
    let kiln = try await KilnProcess.Running(["build", "-color=false", "-events", file.path, path], in: work)
    try await kiln.waitFor("n: started")
    kiln.interrupt()
    #expect(try await kiln.finish() == 1)
    let events = try await events(file)
    let interrupt = try #require(events.first { $0["type"] as? String == "interrupt" })
    #expect(interrupt["signal"] as? String == "interrupt" && interrupt["count"] as? Int == 1)
    #expect(events.first { $0["type"] as? String == "step-end" }?["outcome"] as? String == "cancelled")
    #expect(events.first { $0["type"] as? String == "build-end" }?["outcome"] as? String == "cancelled")
    #expect(events.first { $0["type"] as? String == "run-end" }?["outcome"] as? String == "cancelled")
  }
}
