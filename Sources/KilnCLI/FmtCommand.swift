import ArgumentParser
import Foundation
import KilnHCL

/// `kiln fmt`: `packer fmt` over `HCLFormatRun` (KilnHCL), which does the work.
struct FmtCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "fmt",
    abstract: "Rewrite HCL2 templates (.pkr.hcl, .pkrvars.hcl) in HCL's canonical layout.",
    discussion: """
      A directory gives its .pkr.hcl and .pkrvars.hcl files; "-" reads standard input and \
      writes the formatted text. The names of the files that change are printed. Exit 3 with \
      -check when a file is not formatted, 1 on an error (a file that does not parse is \
      reported, never rewritten), 0 otherwise. JSON templates are not touched.
      """)

  @Flag(name: [.customLong("check", withSingleDash: true)], help: "Only check: exit 3 when a file is not formatted (turns -write off).")
  var check = false

  @Flag(name: [.customLong("diff", withSingleDash: true)], help: "Print a unified diff of each change.")
  var diff = false

  @Option(name: [.customLong("write", withSingleDash: true)], help: "Rewrite the files (the default); -write=false leaves them.")
  var write = true

  @Flag(name: [.customLong("recursive", withSingleDash: true)], help: "Also format the files of subdirectories.")
  var recursive = false

  @Argument(help: "Files or directories (\".\" is the current one, \"-\" standard input).")
  var paths: [String] = []

  func validate() throws {
    if paths.isEmpty { throw ValidationError("Missing expected argument '<paths> ...'") }
  }

  func run() throws {
    var options = HCLFormatRun.Options()
    options.check = check
    options.diff = diff
    options.write = write
    options.recursive = recursive
    let run = HCLFormatRun(options: options) { [UInt8](FileHandle.standardInput.readDataToEndOfFile()) }
    let outcome = run.run(paths)
    FileHandle.standardOutput.write(Data(outcome.output))
    for error in outcome.errors { FileHandle.standardError.write(Data((error + "\n").utf8)) }
    if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
  }
}
