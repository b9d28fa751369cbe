import ArgumentParser
import Foundation
import KilnCore

struct InspectCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inspect",
    abstract: "Show a template's variables, builds, provisioners and post-processors.")

  @Flag(name: [.customLong("machine-readable", withSingleDash: true)], help: "Packer's machine-readable output.")
  var machineReadable = false

  @Argument(help: "The template file.")
  var template: String

  func run() throws {
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

    if machineReadable {
      let now = Int(Date().timeIntervalSince1970)
      for variable in variables {
        output.out(MachineReadable.line(timestamp: now, type: "template-variable", [variable.name, shownDefault(variable), variable.isRequired ? "1" : "0"]))
      }
      for builder in parsed.builders.sorted(by: { $0.name < $1.name }) {
        output.out(MachineReadable.line(timestamp: now, type: "template-builder", [builder.name, builder.type.value]))
      }
      for provisioner in parsed.provisioners {
        output.out(MachineReadable.line(timestamp: now, type: "template-provisioner", [provisioner.type.value]))
      }
      for postProcessor in parsed.postProcessors.joined() {
        output.out(MachineReadable.line(timestamp: now, type: "template-post-processor", [postProcessor.name, postProcessor.type.value]))
      }
      return
    }

    var lines: [String] = []
    if let description = parsed.description, !description.isEmpty {
      lines += ["Description:", "", description, ""]
    }
    if variables.isEmpty {
      lines += ["Variables:", "", "  <No variables>"]
    } else {
      let width = variables.map(\.name.count).max() ?? 0
      let required = variables.filter(\.isRequired)
      if !required.isEmpty {
        lines += ["Required variables:", ""] + required.map { "  " + $0.name } + [""]
      }
      lines += ["Optional variables and their defaults:", ""]
      for variable in variables where !variable.isRequired {
        let padding = String(repeating: " ", count: width - variable.name.count)
        lines.append("  \(variable.name)\(padding) = \(shownDefault(variable))")
      }
    }
    lines += ["", "Builders:", ""]
    if parsed.builders.isEmpty { lines.append("  <No builders>") }
    let width = parsed.builders.map(\.name.count).max() ?? 0
    for builder in parsed.builders.sorted(by: { $0.name < $1.name }) {
      let padding = String(repeating: " ", count: width - builder.name.count)
      lines.append(builder.name == builder.type.value ? "  \(builder.name)" : "  \(builder.name)\(padding) (\(builder.type.value))")
    }
    lines += ["", "Provisioners:", ""]
    if parsed.provisioners.isEmpty { lines.append("  <No provisioners>") }
    lines += parsed.provisioners.map { "  " + $0.type.value }
    lines += ["", "Post-processors:", ""]
    if parsed.postProcessors.isEmpty { lines.append("  <No post-processors>") }
    for chain in parsed.postProcessors {
      lines.append("  " + chain.map { $0.name == $0.type.value ? $0.type.value : "\($0.name) (\($0.type.value))" }.joined(separator: " -> "))
    }
    lines += ["", "Note: If your build names contain user variables or template", "functions such as 'timestamp', these are processed at build time,", "and therefore only show in their raw form here."]
    output.out(lines.joined(separator: "\n"))
  }
}
