import ArgumentParser
import Foundation
import KilnCore

struct InspectCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inspect",
    abstract: "Show a template's variables, builds and provisioners, as packer inspect does.")

  @Flag(name: [.customLong("machine-readable", withSingleDash: true)], help: "Packer's machine-readable output.")
  var machineReadable = false

  @Argument(help: "The template file.")
  var template: String

  func run() throws {
    if HCLInspection.isHCL(template) { return try inspectHCL() }
    let loaded = TemplateLoader.load(path: template)
    var output = Output()
    guard let parsed = loaded.template, !loaded.diagnostics.hasErrors else {
      for diagnostic in loaded.diagnostics.sorted { output.err(diagnostic) }
      throw ExitCode.failure
    }
    // Sensitive variables' defaults are masked by value, and by name.
    let sensitiveNames = Set(parsed.sensitiveVariables.map(\.value))
    output.masker.add(parsed.variables.filter { sensitiveNames.contains($0.name) }.compactMap(\.defaultValue))
    func shownDefault(_ variable: VariableDeclaration) -> String {
      sensitiveNames.contains(variable.name) ? SecretMasker.placeholder : (variable.defaultValue ?? "")
    }
    let variables = parsed.variables.sorted { $0.name < $1.name }

    // Packer's `Core.InspectConfig`, event by event: each `say` is a line of text (a
    // `ui,say` record with -machine-readable), each `machine` a record (nothing otherwise).
    let now = Int(Date().timeIntervalSince1970)
    func say(_ text: String) {
      output.out(machineReadable ? MachineReadable.line(timestamp: now, type: "ui", ["say", text]) : text)
    }
    func machine(_ type: String, _ data: [String]) {
      if machineReadable { output.out(MachineReadable.line(timestamp: now, type: type, data)) }
    }
    say("Packer Inspect: JSON mode")
    if let description = parsed.description, !description.isEmpty {
      say("Description:\n")
      say(description + "\n")
    }
    if variables.isEmpty {
      say("Variables:\n")
      say("  <No variables>")
    } else {
      let required = variables.filter(\.isRequired)
      if !required.isEmpty {
        say("Required variables:\n")
        for variable in required {
          machine("template-variable", [variable.name, shownDefault(variable), "1"])
          say("  " + variable.name)
        }
        say("")
      }
      say("Optional variables and their defaults:\n")
      let width = variables.map(\.name.count).max() ?? 0
      for variable in variables where !variable.isRequired {
        let padding = String(repeating: " ", count: width - variable.name.count)
        machine("template-variable", [variable.name, shownDefault(variable), "0"])
        say("  \(variable.name)\(padding) = \(shownDefault(variable))")
      }
    }
    say("")
    say("Builders:\n")
    if parsed.builders.isEmpty { say("  <No builders>") }
    let width = parsed.builders.map(\.name.count).max() ?? 0
    for builder in parsed.builders.sorted(by: { $0.name < $1.name }) {
      let padding = String(repeating: " ", count: width - builder.name.count)
      machine("template-builder", [builder.name, builder.type.value])
      say(builder.name == builder.type.value ? "  \(builder.name)\(padding)" : "  \(builder.name)\(padding) (\(builder.type.value))")
    }
    say("")
    say("Provisioners:\n")
    if parsed.provisioners.isEmpty { say("  <No provisioners>") }
    for provisioner in parsed.provisioners {
      machine("template-provisioner", [provisioner.type.value])
      say("  " + provisioner.type.value)
    }
    say(
      "\nNote: If your build names contain user variables or template\n" + "functions such as 'timestamp', these are processed at build time,\n"
        + "and therefore only show in their raw form here.")
  }

  /// Packer's HCL2 mode: variables and locals with their values (sensitive ones masked),
  /// then each build block.
  func inspectHCL() throws {
    let result = HCLInspection.inspect(path: template, options: ValidationOptions(), registry: registry)
    var output = Output()
    output.masker.add(result.sensitiveValues)
    for diagnostic in result.diagnostics.sorted { output.err(diagnostic) }
    guard let text = result.text, !result.diagnostics.hasErrors else { throw ExitCode.failure }
    let now = Int(Date().timeIntervalSince1970)
    for line in text {
      output.out(machineReadable ? MachineReadable.line(timestamp: now, type: "ui", ["say", line]) : line)
    }
  }
}
