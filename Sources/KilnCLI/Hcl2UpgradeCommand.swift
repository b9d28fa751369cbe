import ArgumentParser
import Foundation
import KilnCore
import KilnUpgrade

/// `kiln hcl2_upgrade`: `packer hcl2_upgrade` over `HCL2Upgrade` (KilnUpgrade), which does
/// the work; this reads the flags, writes the file and prints.
struct Hcl2UpgradeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "hcl2_upgrade",
    abstract: "Write a JSON template as an HCL2 configuration (TEMPLATE.json.pkr.hcl).",
    discussion: """
      The template is read and checked as `kiln validate -syntax-only` reads it; when it has an \
      error nothing is written and the exit code is 1. What cannot be carried over (a Go \
      template call HCL2 has no use for) is kept as written, with a comment and a warning.
      """)

  @Option(
    name: [.customLong("output-file", withSingleDash: true)],
    help: ArgumentHelp("Where to write the HCL2 (default: TEMPLATE.pkr.hcl).", valueName: "path"))
  var outputFile: String?

  @Flag(name: [.customLong("with-annotations", withSingleDash: true)], help: "Add comments explaining each part of the result.")
  var withAnnotations = false

  @Argument(help: "The JSON template.")
  var template: String

  func run() throws {
    let output = Output()
    let upgraded = HCL2Upgrade.upgrade(path: template, withAnnotations: withAnnotations)
    for diagnostic in upgraded.diagnostics.items { output.err(diagnostic) }
    guard let text = upgraded.text else {
      output.err("\(template): not upgraded: the template has errors")
      throw ExitCode.failure
    }
    let destination = outputFile ?? template + ".pkr.hcl"
    do {
      let url = URL(fileURLWithPath: destination)
      try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      try Data(text).write(to: url)
    } catch {
      output.err("error: cannot write \(destination): \(error.localizedDescription)")
      throw ExitCode.failure
    }
    output.out("Successfully created \(destination). Exit 0")
  }
}
