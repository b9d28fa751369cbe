import Foundation
import KilnHCL

/// `kiln inspect` of an HCL template, as Packer's HCL2 mode prints it (`InspectConfig`):
/// input variables and locals with their values, then each build block's sources,
/// provisioners and post-processor chains.
public enum HCLInspection {
  /// Whether `path` is an HCL template (`.pkr.hcl`, `.pkr.json`, a directory).
  public static func isHCL(_ path: String) -> Bool { HCLInputs.isHCL(path) }

  public struct Result: Sendable {
    /// The text, one `say` per element; `nil` when the template could not be read.
    public var text: [String]?
    /// Values to mask (sensitive variables and locals).
    public var sensitiveValues: [String]
    public var diagnostics: Diagnostics
  }

  public static func inspect(path: String, options: ValidationOptions, registry: PluginRegistry) -> Result {
    let loader = HCLTemplateLoader(path: path, options: options, registry: registry)
    guard loader.parse() else { return Result(text: nil, sensitiveValues: [], diagnostics: loader.diagnostics) }
    loader.assumeUnknownDataSources()
    loader.evaluateLocals()
    let secrets = loader.resolvedVariables().sensitiveValues
    return Result(
      text: ["Packer Inspect: HCL2 mode\n", loader.printedVariables(), loader.printedBuilds()], sensitiveValues: secrets,
      diagnostics: loader.diagnostics)
  }
}

extension HCLTemplateLoader {
  /// Packer's `PrintableCtyValue`, Go-quoted as `%q` prints it.
  static func printable(_ value: HCLValue) -> String {
    let text: String
    if !value.isWhollyKnown {
      text = "<unknown>"
    } else if case .string(let string) = value {
      text = string
    } else {
      text = "\(value)"
    }
    return GoQuote.quote(text)
  }

  func printedVariables() -> String {
    var out = "> input-variables:\n\n"
    for variable in variables.sorted(by: { $0.name < $1.name }) {
      out += "var.\(variable.name): \(Self.printable(variable.value))\n"
    }
    out += "\n> local-variables:\n\n"
    for name in localValues.keys.sorted() {
      out += "local.\(name): \(Self.printable(localValues[name] ?? .dynamicNull))\n"
    }
    return out
  }

  func printedBuilds() -> String {
    var out = "> builds:\n"
    let outer = context(source: nil, build: nil)
    for (offset, block) in blocks.filter({ $0.type == "build" }).enumerated() {
      let (content, _) = block.body.content(Self.buildSchema)
      func text(_ name: String) -> String {
        guard let attribute = content[attribute: name], case .string(let value) = attribute.expression.evaluate(in: outer).value else { return "" }
        return value
      }
      let name = text("name")
      out += "\n  > \(name.isEmpty ? "<unnamed build \(offset)>" : name):\n"
      let description = text("description")
      if !description.isEmpty { out += "\n  > Description: \(description)\n" }
      var sources: [String] = []
      if let attribute = content[attribute: "sources"], let list = attribute.expression.evaluate(in: outer).value.sequenceElements {
        for case .string(let reference) in list {
          if let (type, name) = Self.sourceReference(reference) { sources.append("\(type).\(name)") }
        }
      }
      for inner in content.blocks where inner.type == "source" {
        if let (type, name) = Self.sourceReference(inner.labels[0]) { sources.append("\(type).\(name)") }
      }
      out += "\n    sources:\n"
      if sources.isEmpty { out += "\n      <no source>\n" }
      for source in sources { out += "\n      \(source)\n" }
      out += "\n    provisioners:\n\n"
      let provisioners = content.blocks.filter { $0.type == "provisioner" }
      if provisioners.isEmpty { out += "      <no provisioner>\n" }
      for provisioner in provisioners { out += "      \(labelWithName(provisioner, outer))\n" }
      out += "\n    post-processors:\n"
      let chains = content.blocks.filter { $0.type == "post-processor" || $0.type == "post-processors" }
      if chains.isEmpty { out += "\n      <no post-processor>\n" }
      for (index, chain) in chains.enumerated() {
        out += "\n      \(index):\n"
        var members = [chain]
        if chain.type == "post-processors" {
          members = chain.body.content(BodySchema(blocks: [.init("post-processor", labels: ["type"])])).0.blocks
        }
        for member in members { out += "        \(labelWithName(member, outer))\n" }
      }
    }
    return out
  }

  /// `TYPE` or `TYPE.NAME` of a provisioner or post-processor.
  func labelWithName(_ block: Block, _ context: EvalContext) -> String {
    let meta = metaAttributes(block.body, ["name"])
    if let attribute = meta["name"], case .string(let name) = attribute.expression.evaluate(in: context).value, !name.isEmpty {
      return "\(block.labels[0]).\(name)"
    }
    return block.labels[0]
  }
}
