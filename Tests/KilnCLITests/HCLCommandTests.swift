import Foundation
import Testing
import _KilnTestSupport

/// `kiln validate`, `inspect` and `build` on HCL2 templates (a directory, as Packer users
/// run them), and Packer's verdicts on the HCL2 forms of the conformance corpus.
@Suite struct HCLCommandTests {
  let directory: URL

  init() throws {
    directory = try Scratch.directory("kiln-hcl-cli")
  }

  func write(_ name: String, _ text: String) throws {
    try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
  }

  static let variables = """
    variable "greeting" {
      type    = string
      default = "hello"
    }

    variable "token" {
      type      = string
      sensitive = true
    }

    """

  static let build = """
    source "null" "one" {
      communicator = "none"
    }

    build {
      name    = "demo"
      sources = ["source.null.one"]

      provisioner "shell-local" {
        inline = ["echo ${var.greeting} from ${source.name} in ${build.name}: ${var.token}"]
      }

      post-processor "manifest" {
        output = "${path.root}/manifest.json"
      }
    }

    """

  @Test func aDirectoryValidatesWithItsAutoVarFiles() async throws {
    try write("variables.pkr.hcl", Self.variables)
    try write("build.pkr.hcl", Self.build)
    try write("secrets.auto.pkrvars.hcl", "token = \"t0ps3cret\"\n")
    let result = try await KilnProcess.run(["validate", "."], in: directory)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout == "The configuration is valid.\n")
    let syntax = try await KilnProcess.run(["validate", "-syntax-only", "."], in: directory)
    #expect(syntax.stdout == "Syntax-only check passed. Everything looks okay.\n")
  }

  @Test func everyProblemWithItsSourceLineAndCaret() async throws {
    try write("variables.pkr.hcl", Self.variables)
    try write(
      "build.pkr.hcl",
      Self.build.replacingOccurrences(of: "communicator = \"none\"", with: "communicator = \"none\"\n  colour = \"red\"")
        .replacingOccurrences(of: "var.greeting", with: "var.greting"))
    let result = try await KilnProcess.run(["validate", "."], in: directory)
    #expect(result.status == 1)
    let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    #expect(lines.contains { $0.hasPrefix("./variables.pkr.hcl:6:1: error: Unset variable \"token\"") }, "\(result.stderr)")
    let unknown = try #require(
      lines.firstIndex { $0.hasPrefix("./build.pkr.hcl:3:3: error: null builder \"demo.null.one\": unknown configuration key 'colour'") })
    #expect(lines[unknown + 1] == "    colour = \"red\"")
    #expect(lines[unknown + 2] == "    ^")
    let attribute = try #require(lines.firstIndex { $0.hasPrefix("./build.pkr.hcl:11:26: error: Unsupported attribute") })
    #expect(lines[attribute + 2].trimmingCharacters(in: .whitespaces).allSatisfy { $0 == "^" })
    #expect(lines.contains(".: 3 errors"))
  }

  @Test func inspectShowsHCL2ModeWithSecretsMasked() async throws {
    try write("variables.pkr.hcl", Self.variables)
    try write("build.pkr.hcl", Self.build)
    let result = try await KilnProcess.run(["inspect", "."], in: directory, environment: ["PKR_VAR_token": "t0ps3cret"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.hasPrefix("Packer Inspect: HCL2 mode\n"))
    #expect(result.stdout.contains("var.greeting: \"hello\"\n"))
    #expect(result.stdout.contains("var.token: \"<sensitive>\"\n"))
    #expect(!result.stdout.contains("t0ps3cret"))
    #expect(result.stdout.contains("  > demo:\n\n    sources:\n\n      null.one\n"))
  }

  /// The whole path: PKR_VAR_, `-var`, the build's name in output, and the secret masked.
  @Test func buildRunsAnHCLTemplate() async throws {
    try write("variables.pkr.hcl", Self.variables)
    try write("build.pkr.hcl", Self.build)
    let result = try await KilnProcess.run(
      ["build", "-color=false", "-var", "greeting=hi", "."], in: directory, environment: ["PKR_VAR_token": "t0ps3cret"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("demo.null.one: hi from one in demo: <sensitive>"), "\(result.stdout)")
    #expect(!result.stdout.contains("t0ps3cret"))
    let manifest = try String(contentsOf: directory.appendingPathComponent("manifest.json"), encoding: .utf8)
    // Packer ≥ 1.7 (hcl2template's `packer_build_name`): the manifest names the source
    // (`one`), while the build's full name (`demo.null.one`) prefixes the output.
    #expect(manifest.contains("\"name\" : \"one\""), "\(manifest)")
    #expect(manifest.contains("\"builder_type\" : \"null\""), "\(manifest)")
  }

  // MARK: - Packer's verdicts on the HCL2 corpus

  static let corpus = SharedFixtures.root.appendingPathComponent("conformance/hcl2")

  static var templates: [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: corpus.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
  }

  /// Where Packer 1.6.6 and current Packer disagree, Kiln follows current Packer:
  /// - Packer ≥ 1.8.4 refuses a template with no `build` block ("Missing build block",
  ///   hashicorp/packer a298617e, "command/build: warn and exit when nothing to build"); 1.6.6
  ///   validated it. hcl2_upgrade wrote none for templates without builders.
  /// (`path.root` in a variable default is refused by 1.6.6 and by Packer 1.9.4 and 1.16 alike:
  /// a default may call `env` and nothing else, so that is no difference.)
  static func currentPackerVerdict(_ name: String, _ packer166: Int32) throws -> Int32 {
    let text = try String(contentsOf: corpus.appendingPathComponent("\(name)/template.pkr.hcl"), encoding: .utf8)
    let hasBuild = text.split(separator: "\n").contains { $0.hasPrefix("build {") }
    return hasBuild ? packer166 : 1
  }

  static func verdict(_ name: String, _ mode: String) throws -> Int32 {
    let text = try String(contentsOf: corpus.appendingPathComponent("\(name)/packer-1.6.6.\(mode).rc"), encoding: .utf8)
    return try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
  }

  @Test func corpusIsPresent() {
    #expect(Self.templates.count >= 50, "expected the shared corpus at \(Self.corpus.path)")
  }

  @Test(arguments: templates)
  func syntaxOnlyVerdictMatchesPacker(name: String) async throws {
    let result = try await KilnProcess.run(["validate", "-syntax-only", "."], in: Self.corpus.appendingPathComponent(name))
    #expect(result.status == (try Self.verdict(name, "syntax")), "\(name)\n\(result.stderr)")
  }

  /// Full validation, with Packer's function table (`timestamp`, `file`, …).
  @Test(arguments: templates)
  func fullVerdictMatchesCurrentPacker(name: String) async throws {
    let result = try await KilnProcess.run(["validate", "."], in: Self.corpus.appendingPathComponent(name))
    let expected = try Self.currentPackerVerdict(name, try Self.verdict(name, "full"))
    let errors = result.stderr.split(separator: "\n").filter { $0.contains(": error: ") }
    #expect(result.status == expected, "\(name)\n\(result.stderr)")
    if result.status != 0 {
      // Every problem in a file names it, its line and column.
      for line in errors where line.contains(".pkr.") {
        #expect(line.contains(try Regex(#"\.pkr\.(hcl|json):\d+:\d+: error: "#)), "\(name): \(line)")
      }
    }
  }
}
