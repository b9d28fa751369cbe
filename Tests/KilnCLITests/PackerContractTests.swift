import Foundation
import KilnCore
import Testing
import _KilnTestSupport

/// Packer 1.6.6 (Debian's `packer`, installed by `.ci/install-deps`) and Kiln run side by side
/// on the same templates; their `-machine-readable` streams and exit codes must be the same,
/// line for line, once what differs between any two runs is normalised (timestamps,
/// durations, temporary script names, working directories).
///
/// Kiln's intended differences, each normalised here and listed in the README:
/// - a failed provisioner's error names it: "provisioner shell-local (#1) failed: …";
/// - sensitive values are masked in machine-readable output too (Packer 1.6.6 leaks them);
/// - `timeout` also applies to a provisioner with `pause_before` (Packer 1.6.6 drops it);
/// - `version`'s `ui,say` line names Kiln ("Kiln v… (Packer v1.9.4 template compatible)"), and
///   its `version` record is the template language version Kiln implements (1.9.4), not 1.6.6.
@Suite struct PackerContractTests {
  struct Case: CustomTestStringConvertible, Sendable {
    var name: String
    var template: String
    var arguments: [String]
    /// Whether the order of the lines is part of the contract (Packer lists the artifacts of
    /// several builds in Go's random map order).
    var ordered = true
    var files: [String: String] = [:]
    var testDescription: String { name }
  }

  static let cases: [Case] = [
    Case(
      name: "shell-local with variables, a sensitive one, and a manifest",
      template: """
        {"variables": {"greeting": "hi", "secret": "s3cr3t"}, "sensitive-variables": ["secret"],
         "builders": [{"type": "null", "name": "n", "communicator": "none"}],
         "provisioners": [{"type": "shell-local", "inline": ["echo {{user `greeting`}} {{user `secret`}}", "printf 'a,b\\\\nc\\\\n'"]}],
         "post-processors": [{"type": "manifest", "output": "m.json", "strip_time": true}]}
        """, arguments: ["build", "-machine-readable", "t.json"]),
    Case(
      name: "a failing provisioner retried, then the error-cleanup-provisioner",
      template: """
        {"builders": [{"type": "null", "communicator": "none"}],
         "provisioners": [{"type": "shell-local", "inline": ["echo before", "exit 3"], "max_retries": 1},
                          {"type": "shell-local", "inline": ["echo never"]}],
         "error-cleanup-provisioner": {"type": "shell-local", "inline": ["echo cleaning"]}}
        """, arguments: ["build", "-machine-readable", "t.json"]),
    Case(
      name: "post-processor chains, a named one, pause_before and timeout",
      template: """
        {"variables": {"v": "x"},
         "builders": [{"type": "null", "name": "a", "communicator": "none"}],
         "provisioners": [{"type": "shell-local", "inline": ["echo a"], "pause_before": "1s"},
                          {"type": "shell-local", "script": "step.sh", "timeout": "90s", "valid_exit_codes": [0, 4]}],
         "post-processors": [[{"type": "manifest", "output": "m1.json"}, {"type": "checksum", "output": "sums.txt", "checksum_types": ["md5"]}],
                             {"type": "shell-local", "inline": ["echo pp {{user `v`}}"], "name": "sh"}]}
        """, arguments: ["build", "-machine-readable", "t.json"], files: ["step.sh": "#!/bin/sh\necho step\nexit 4\n"]),
    Case(
      name: "a failing post-processor ends its chain, not the others",
      template: """
        {"builders": [{"type": "null", "name": "a", "communicator": "none"}],
         "post-processors": [{"type": "shell-local", "inline": ["exit 2"]}, {"type": "manifest", "output": "m.json"}]}
        """, arguments: ["build", "-machine-readable", "t.json"]),
    Case(
      name: "two builds, one at a time, with -var and -var-file",
      template: """
        {"variables": {"who": "nobody", "where": "nowhere"},
         "builders": [{"type": "null", "name": "first", "communicator": "none"}, {"type": "null", "name": "second", "communicator": "none"}],
         "provisioners": [{"type": "shell-local", "inline": ["echo {{user `who`}} at {{user `where`}} in {{build_name}}"]}]}
        """, arguments: ["build", "-machine-readable", "-parallel-builds=1", "-var", "who=someone", "-var-file=vars.json", "t.json"], ordered: false,
      files: ["vars.json": #"{"where": "home", "who": "file"}"#]),
    Case(
      name: "-only picks one build",
      template: """
        {"builders": [{"type": "null", "name": "first", "communicator": "none"}, {"type": "null", "name": "second", "communicator": "none"}]}
        """, arguments: ["build", "-machine-readable", "-only=second", "t.json"]),
    Case(
      name: "inspect: description, a required and optional variables, builders, provisioners",
      template: """
        {"description": "A node image", "variables": {"region": null, "b": "2", "a_long_name": "1", "key": "k"}, "sensitive-variables": ["key"],
         "builders": [{"type": "null", "name": "n", "communicator": "none"}, {"type": "null", "communicator": "none"}],
         "provisioners": [{"type": "shell-local", "inline": ["true"]}, {"type": "shell-local", "inline": ["true"]}]}
        """, arguments: ["inspect", "-machine-readable", "t.json"]),
    Case(
      name: "inspect without variables or provisioners",
      template: #"{"builders": [{"type": "null", "communicator": "none"}]}"#, arguments: ["inspect", "-machine-readable", "t.json"]),
    Case(
      name: "validate of a valid template writes nothing",
      template: #"{"builders": [{"type": "null", "communicator": "none"}]}"#, arguments: ["validate", "-machine-readable", "t.json"]),
    Case(
      name: "validate -syntax-only",
      template: #"{"builders": [{"type": "null", "communicator": "none"}]}"#, arguments: ["validate", "-syntax-only", "-machine-readable", "t.json"]),
  ]

  /// Runs `tool` on `template` in a directory of its own; returns the exit code and the
  /// normalised standard output.
  static func run(_ tool: String, _ testCase: Case) async throws -> (status: Int32, lines: [String]) {
    let directory = try Scratch.directory("kiln-contract-\(tool)")
    try testCase.template.write(to: directory.appendingPathComponent("t.json"), atomically: true, encoding: .utf8)
    for (name, text) in testCase.files {
      let url = directory.appendingPathComponent(name)
      try text.write(to: url, atomically: true, encoding: .utf8)
      _ = chmod(url.path, 0o755)
    }
    let arguments = testCase.arguments
    let environment = KilnProcess.isolatedEnvironment(["CHECKPOINT_DISABLE": "1", "HOME": directory.path])
    let status: Int32
    let output: String
    if tool == "kiln" {
      let result = try await KilnProcess.run(arguments, in: directory, environment: environment)
      (status, output) = (result.status, result.stdout)
    } else {
      let packer = try #require(Self.packer, "Packer 1.6.6 is not installed: .ci/install-deps installs Debian's packer")
      let result = try await TestCommand.run([packer] + arguments, environment: environment, directory: directory, includeStderr: false)
      (status, output) = (result.status, result.output)
    }
    return (status, try normalise(output, directory: directory.path))
  }

  static var packer: String? {
    ["/usr/bin/packer", "/usr/local/bin/packer"].first { FileManager.default.isExecutableFile(atPath: $0) }
  }

  /// What differs between any two runs, and Kiln's intended differences (see the suite's
  /// comment), replaced by placeholders.
  static func normalise(_ output: String, directory: String) throws -> [String] {
    let rules: [(Regex<AnyRegexOutput>, String)] = [
      (try Regex(#"^[0-9]+,"#), "T,"),
      (try Regex(#"after [0-9]+ [a-z]+(?: [0-9]+ [a-z]+)?"#), "after D"),
      (try Regex(#"/tmp/packer-shell[0-9]+"#), "SCRIPT"),
      (try Regex(#"/tmp/kiln-inline-[0-9A-F-]+\.sh"#), "SCRIPT"),
      (try Regex(#"provisioner [a-z-]+ \(#[0-9]+\) failed: "#), ""),
      // Packer 1.6.6 leaks sensitive values in machine-readable output; Kiln never does.
      (try Regex(#"s3cr3t"#), "<sensitive>"),
    ]
    return output.split(separator: "\n").map { line in
      var text = String(line).replacingOccurrences(of: directory, with: "DIR")
      for (pattern, replacement) in rules { text = text.replacing(pattern, with: replacement) }
      return text
    }
  }

  @Test(arguments: cases)
  func machineReadableStreamsAreLikePackers(testCase: Case) async throws {
    let packer = try await Self.run("packer", testCase)
    let kiln = try await Self.run("kiln", testCase)
    #expect(kiln.status == packer.status, "exit codes: kiln \(kiln.status), packer \(packer.status)")
    #expect(!packer.lines.isEmpty || testCase.arguments.first == "validate", "packer printed nothing")
    let (expected, seen) = testCase.ordered ? (packer.lines, kiln.lines) : (packer.lines.sorted(), kiln.lines.sorted())
    #expect(seen == expected, "\(Self.difference(expected: expected, seen: seen))")
  }

  static func difference(expected: [String], seen: [String]) -> String {
    var text = ""
    for index in 0..<max(expected.count, seen.count) {
      let a = index < expected.count ? expected[index] : "(none)"
      let b = index < seen.count ? seen[index] : "(none)"
      text += a == b ? "   \(a)\n" : " - packer: \(a)\n + kiln:   \(b)\n"
    }
    return text
  }

  /// Packer's records of `version -machine-readable`, with Kiln's own `ui,say` text.
  @Test func versionRecordsAreLikePackers() async throws {
    let testCase = Case(name: "version", template: "{}", arguments: ["version", "-machine-readable"])
    let packer = try await Self.run("packer", testCase)
    let kiln = try await Self.run("kiln", testCase)
    #expect(kiln.status == 0 && packer.status == 0)
    let records = { (lines: [String]) in lines.filter { !$0.hasPrefix("T,,ui,") } }
    // The one intended difference: Kiln reports the Packer version whose template languages
    // it implements (KilnVersion.packerCompatibility, HCL2 as in Packer 1.9.4), where Debian's
    // Packer reports its own 1.6.6.
    #expect(records(packer.lines) == ["T,,version,1.6.6", "T,,version-prelease,", "T,,version-commit,"])
    #expect(records(kiln.lines) == ["T,,version,1.9.4", "T,,version-prelease,", "T,,version-commit,"])
    #expect(kiln.lines.last?.hasPrefix("T,,ui,say,Kiln v") == true)
  }

  /// Usage errors: the exit codes scripts test. (`packer inspect` without a template
  /// inspects the current directory in 1.6.6; Kiln asks for the template.)
  @Test(arguments: [
    ["build", "-machine-readble", "t.json"], ["build"], ["validate", "-bogus", "t.json"], ["frobnicate"],
    ["build", "-on-error=sometimes", "t.json"],
  ])
  func usageErrorsExitAsPackersDo(arguments: [String]) async throws {
    let testCase = Case(
      name: arguments.joined(separator: " "), template: #"{"builders": [{"type": "null", "communicator": "none"}]}"#, arguments: arguments)
    let packer = try await Self.run("packer", testCase)
    let kiln = try await Self.run("kiln", testCase)
    #expect(packer.status != 0)
    #expect(kiln.status == packer.status, "kiln \(kiln.status), packer \(packer.status)")
  }
}
