import Foundation
import Testing
import _KilnTestSupport

/// `kiln fmt` run as a CI script runs `packer fmt`: exit codes, printed names, `-check`,
/// `-diff`, `-write=false`, `-recursive`, standard input, and files that do not parse.
@Suite struct FmtCommandTests {
  let directory: URL

  init() throws {
    directory = try Scratch.directory("kiln-fmt")
  }

  static let messy = "source \"null\" \"x\" {\ncommunicator=\"none\"\n}\nbuild {\nsources=[\"source.null.x\"]\n}\n"
  static let tidy = "source \"null\" \"x\" {\n  communicator = \"none\"\n}\nbuild {\n  sources = [\"source.null.x\"]\n}\n"

  func write(_ name: String, _ text: String) throws {
    let url = directory.appendingPathComponent(name)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try text.write(to: url, atomically: true, encoding: .utf8)
  }

  func read(_ name: String) throws -> String { try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8) }

  @Test func checkExitsThreeAndChangesNothing() async throws {
    try write("a.pkr.hcl", Self.messy)
    try write("ok.pkrvars.hcl", "region = \"eu-west-1\"\n")
    try write("ignored.json", "{ }")
    let result = try await KilnProcess.run(["fmt", "-check", "."], in: directory)
    #expect(result.status == 3)
    #expect(result.stdout == "a.pkr.hcl\n")
    #expect(try read("a.pkr.hcl") == Self.messy)
    // Once formatted, -check passes silently.
    let fix = try await KilnProcess.run(["fmt", "."], in: directory)
    #expect(fix.status == 0)
    #expect(fix.stdout == "a.pkr.hcl\n")
    #expect(try read("a.pkr.hcl") == Self.tidy)
    let again = try await KilnProcess.run(["fmt", "-check", "."], in: directory)
    #expect(again.status == 0)
    #expect(again.stdout.isEmpty)
  }

  /// Go's boolean flags as CI scripts write them: bare or with any value Go's ParseBool takes
  /// (`-check=true`, `-write`, `-write=0`, `-recursive=T`); a value Go refuses is refused.
  @Test func goBooleanFlagsTakeGosSpellings() async throws {
    try write("sub/a.pkr.hcl", Self.messy)
    let check = try await KilnProcess.run(["fmt", "-check=true", "-recursive=T", "."], in: directory)
    #expect(check.status == 3, "\(check.stderr)")
    #expect(check.stdout == "sub/a.pkr.hcl\n")
    let notChecking = try await KilnProcess.run(["fmt", "-check=false", "-write=0", "-recursive", "."], in: directory)
    #expect(notChecking.status == 0, "\(notChecking.stderr)")
    #expect(try read("sub/a.pkr.hcl") == Self.messy, "-write=0 leaves the file")
    let written = try await KilnProcess.run(["fmt", "-write", "--recursive=1", "."], in: directory)
    #expect(written.status == 0, "\(written.stderr)")
    #expect(try read("sub/a.pkr.hcl") == Self.tidy)
    let refused = try await KilnProcess.run(["fmt", "-check=maybe", "."], in: directory)
    #expect(refused.status == 1)
    #expect(refused.stderr.contains("'-check'") && refused.stderr.contains("'maybe'"), "names the flag and the value: \(refused.stderr)")
  }

  @Test func diffWithoutWriting() async throws {
    try write("a.pkr.hcl", Self.messy)
    let result = try await KilnProcess.run(["fmt", "-diff", "-write=false", "a.pkr.hcl"], in: directory)
    #expect(result.status == 0)
    #expect(result.stdout.hasPrefix("a.pkr.hcl\n--- old/a.pkr.hcl\n+++ new/a.pkr.hcl\n@@ -1,6 +1,6 @@\n"))
    #expect(result.stdout.contains("\n-communicator=\"none\"\n+  communicator = \"none\"\n"))
    #expect(try read("a.pkr.hcl") == Self.messy)
  }

  @Test func recursiveReachesSubdirectories() async throws {
    try write("sub/deep/b.pkr.hcl", Self.messy)
    let flat = try await KilnProcess.run(["fmt", "-check", "."], in: directory)
    #expect(flat.status == 0)
    let deep = try await KilnProcess.run(["fmt", "-check", "-recursive", "."], in: directory)
    #expect(deep.status == 3)
    #expect(deep.stdout == "sub/deep/b.pkr.hcl\n")
  }

  @Test func standardInput() async throws {
    let result = try await KilnProcess.run(["fmt", "-"], in: directory, input: Self.messy)
    #expect(result.status == 0)
    #expect(result.stdout == Self.tidy)
    let check = try await KilnProcess.run(["fmt", "-check", "-"], in: directory, input: Self.messy)
    #expect(check.status == 3)
    #expect(check.stdout.isEmpty)
  }

  @Test func aFileThatDoesNotParseIsAnErrorAndKeptAsIs() async throws {
    try write("bad.pkr.hcl", "a = \nb = 1\n")
    try write("good.pkr.hcl", Self.messy)
    let result = try await KilnProcess.run(["fmt", "."], in: directory)
    #expect(result.status == 1)
    #expect(result.stderr.contains("bad.pkr.hcl:1:5: error: Invalid expression"))
    #expect(result.stdout == "good.pkr.hcl\n")
    #expect(try read("bad.pkr.hcl") == "a = \nb = 1\n")
    #expect(try read("good.pkr.hcl") == Self.tidy)
  }

  @Test func aVariablesFileThatDoesNotParseIsNotEchoed() async throws {
    try write("secrets.pkrvars.hcl", "password = \"hunter2\" oops\n")
    let result = try await KilnProcess.run(["fmt", "secrets.pkrvars.hcl"], in: directory)
    #expect(result.status == 1)
    #expect(result.stderr.contains("secrets.pkrvars.hcl:1:"))
    #expect(!result.stderr.contains("hunter2"))
  }

  @Test func missingPathIsAUsageError() async throws {
    let result = try await KilnProcess.run(["fmt"], in: directory)
    #expect(result.status == 1)
    let absent = try await KilnProcess.run(["fmt", "absent.pkr.hcl"], in: directory)
    #expect(absent.status == 1)
    #expect(absent.stderr.contains("absent.pkr.hcl"))
  }
}
