import ArgumentParser
import Foundation
import KilnCore

struct ValidateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "validate",
    abstract: "Check a template without building it: no cloud calls, every problem at once.",
    discussion: """
      Problems are printed as FILE:LINE:COLUMN: error: MESSAGE. The exit code is 1 when there \
      is any error, 0 otherwise (warnings alone do not fail).
      """)

  @Flag(
    name: [.customLong("syntax-only", withSingleDash: true), .customLong("syntax-only")],
    help: "Only check the template's structure, not variables or plugin options.")
  var syntaxOnly = false

  @Flag(name: [.customLong("machine-readable", withSingleDash: true)], help: "Packer's machine-readable output.")
  var machineReadable = false

  @OptionGroup var variables: VariableOptions
  @OptionGroup var filter: BuildFilterOptions

  @Argument(help: "The template file.")
  var template: String

  func run() throws {
    var options = try ValidationOptions(variables, filter)
    options.syntaxOnly = syntaxOnly
    let validation = TemplateValidator.validate(path: template, options: options, registry: registry)

    var output = Output()
    output.masker.add(validation.variables?.sensitiveValues ?? [])
    let diagnostics = validation.diagnostics.sorted
    let errors = diagnostics.filter { $0.severity == .error }.count
    let warnings = diagnostics.count - errors
    let success = syntaxOnly ? "Syntax-only check passed. Everything looks okay." : "The configuration is valid."

    if machineReadable {
      let now = Int(Date().timeIntervalSince1970)
      for diagnostic in diagnostics {
        output.out(
          MachineReadable.line(
            timestamp: now, type: "ui", [diagnostic.severity == .error ? "error" : "message", output.masked(diagnostic).description]))
      }
      // Packer 1.6.6 writes nothing for a valid template (the -syntax-only line excepted);
      // Kiln adds `error-count` when there are errors.
      if errors == 0 {
        if syntaxOnly { output.out(MachineReadable.line(timestamp: now, type: "ui", ["say", success])) }
      } else {
        output.out(MachineReadable.line(timestamp: now, type: "error-count", [String(errors)]))
      }
    } else {
      for diagnostic in diagnostics { output.err(diagnostic) }
      if errors > 0 {
        output.err("\(template): \(errors) error\(errors == 1 ? "" : "s")\(warnings > 0 ? ", \(warnings) warning\(warnings == 1 ? "" : "s")" : "")")
      } else {
        output.out(success)
      }
    }
    if errors > 0 { throw ExitCode.failure }
  }
}
