import Foundation
import Testing
import _KilnTestSupport

/// `kiln hcl2_upgrade` run as a user runs `packer hcl2_upgrade`: where it writes, what it
/// prints, and that a template with errors is reported and not written.
@Suite struct Hcl2UpgradeCommandTests {
  let directory: URL

  init() throws {
    directory = try Scratch.directory("kiln-hcl2-upgrade-cli")
  }

  static let template = #"""
    {
      "variables": {"greeting": "hello"},
      "builders": [{"type": "null", "communicator": "none"}],
      "provisioners": [{"type": "shell-local", "inline": ["echo {{user `greeting`}}"]}]
    }
    """#

  @Test func writesBesideTheTemplateByDefault() async throws {
    try Self.template.write(to: directory.appendingPathComponent("t.json"), atomically: true, encoding: .utf8)
    let result = try await KilnProcess.run(["hcl2_upgrade", "t.json"], in: directory)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout == "Successfully created t.json.pkr.hcl. Exit 0\n")
    let hcl = try String(contentsOf: directory.appendingPathComponent("t.json.pkr.hcl"), encoding: .utf8)
    #expect(hcl.contains("inline = [\"echo ${var.greeting}\"]"))
    // The result is already formatted: `kiln fmt -check` agrees.
    let check = try await KilnProcess.run(["fmt", "-check", "t.json.pkr.hcl"], in: directory)
    #expect(check.status == 0)
  }

  @Test func outputFileAndAnnotations() async throws {
    try Self.template.write(to: directory.appendingPathComponent("t.json"), atomically: true, encoding: .utf8)
    let result = try await KilnProcess.run(["hcl2_upgrade", "-with-annotations", "-output-file=out/new.pkr.hcl", "t.json"], in: directory)
    #expect(result.status == 0, "\(result.stderr)")
    let hcl = try String(contentsOf: directory.appendingPathComponent("out/new.pkr.hcl"), encoding: .utf8)
    #expect(hcl.hasPrefix("# Written by 'kiln hcl2_upgrade'"))
  }

  @Test func aTemplateWithErrorsIsReportedAndNotWritten() async throws {
    try #"{"builders": [{"type": "null"}], "provisioners": "nope"}"#.write(
      to: directory.appendingPathComponent("bad.json"), atomically: true, encoding: .utf8)
    let result = try await KilnProcess.run(["hcl2_upgrade", "bad.json"], in: directory)
    #expect(result.status == 1)
    #expect(result.stderr.contains("bad.json:1:"))
    #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("bad.json.pkr.hcl").path))
  }
}
