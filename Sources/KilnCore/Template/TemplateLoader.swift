import Foundation

/// Reads a template file into a `Template`, checking what Packer's template parser checks:
/// JSON syntax, duplicate keys, the root keys, and the shape of builders, provisioners and
/// post-processors. Every problem is collected; only a JSON syntax error stops reading.
public enum TemplateLoader {
  public struct Result: Sendable {
    /// `nil` when the file could not be read as JSON at all.
    public var template: Template?
    public var diagnostics: Diagnostics
  }

  static let rootKeys: Set<String> = [
    "description", "min_packer_version", "variables", "sensitive-variables", "builders",
    "provisioners", "error-cleanup-provisioner", "post-processors", "push",
  ]

  public static func load(path: String) -> Result {
    var diagnostics = Diagnostics()
    guard let data = FileManager.default.contents(atPath: path) else {
      var isDirectory: ObjCBool = false
      let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
      diagnostics.error(
        exists && isDirectory.boolValue ? "\(path) is a directory, not a template file" : "cannot read template \(path): no such file",
        at: nil)
      return Result(template: nil, diagnostics: diagnostics)
    }
    return load(SourceFile(path: path, bytes: Array(data)))
  }

  public static func load(_ file: SourceFile) -> Result {
    var diagnostics = Diagnostics()
    let root: JSONNode
    do {
      let read = try JSONReader.read(file)
      root = read.root
      for duplicate in read.duplicateKeys { diagnostics.append(duplicate) }
    } catch {
      diagnostics.append(error)
      return Result(template: nil, diagnostics: diagnostics)
    }
    let absolute = URL(fileURLWithPath: file.path).standardizedFileURL
    var template = Template(
      path: file.path, directory: absolute.deletingLastPathComponent().path, location: root.location,
      description: nil, minimumPackerVersion: nil, variables: [], sensitiveVariables: [], builders: [],
      provisioners: [], postProcessors: [])
    guard let members = root.members else {
      diagnostics.error("a template must be a JSON object, not \(root.typeNameWithArticle)", at: root.location)
      return Result(template: nil, diagnostics: diagnostics)
    }
    var reader = ShapeReader(diagnostics: diagnostics)
    for member in members {
      let value = member.value
      switch member.key {
      case "description":
        template.description = reader.string(value, "description")
      case "min_packer_version":
        if let text = reader.string(value, "min_packer_version") {
          template.minimumPackerVersion = Located(text, at: value.location)
        }
      case "variables":
        template.variables = reader.variables(value)
      case "sensitive-variables":
        template.sensitiveVariables = reader.stringList(value, "sensitive-variables") ?? []
      case "builders":
        template.builders = reader.builders(value)
      case "provisioners":
        if let list = reader.list(value, "provisioners") {
          template.provisioners = list.enumerated().compactMap { reader.provisioner($1, index: $0 + 1, label: "provisioner \($0 + 1)") }
        }
      case "error-cleanup-provisioner":
        template.errorCleanupProvisioner = reader.provisioner(value, index: 1, label: "error-cleanup-provisioner")
      case "post-processors":
        template.postProcessors = reader.postProcessors(value)
      case "push":
        reader.diagnostics.warning("\"push\" (Atlas push) was removed from Packer and is ignored", at: member.keyLocation)
      default:
        if member.key.hasPrefix("_") {
          if value.stringValue == nil {
            reader.diagnostics.error(
              "comment key '\(Diagnostic.quote(member.key))' must have a string value, not \(value.typeNameWithArticle)", at: value.location)
          }
          continue
        }
        let hint = Suggestions.closest(to: member.key, in: rootKeys).map { "; did you mean '\($0)'?" } ?? ""
        reader.diagnostics.error("unknown root level key in template: '\(Diagnostic.quote(member.key))'\(hint)", at: member.keyLocation)
      }
    }
    return Result(template: template, diagnostics: reader.diagnostics)
  }
}

/// Shape checks for the template's own keys. Messages name the key and say what was found.
struct ShapeReader {
  var diagnostics: Diagnostics

  mutating func string(_ node: JSONNode, _ what: String) -> String? {
    guard let text = node.stringValue else {
      diagnostics.error("'\(what)' must be a string, not \(node.typeNameWithArticle)", at: node.location)
      return nil
    }
    return text
  }

  mutating func list(_ node: JSONNode, _ what: String) -> [JSONNode]? {
    guard let elements = node.elements else {
      diagnostics.error("'\(what)' must be a list, not \(node.typeNameWithArticle)", at: node.location)
      return nil
    }
    return elements
  }

  mutating func stringList(_ node: JSONNode, _ what: String) -> [Located<String>]? {
    // Packer decodes these weakly: "a,b" is the list [a, b].
    if let text = node.stringValue {
      return text.isEmpty ? [] : text.split(separator: ",").map { Located(String($0), at: node.location) }
    }
    guard let elements = list(node, what) else { return nil }
    return elements.compactMap { element in
      string(element, what).map { Located($0, at: element.location) }
    }
  }

  mutating func variables(_ node: JSONNode) -> [VariableDeclaration] {
    guard let members = node.members else {
      diagnostics.error("'variables' must be an object of name to default value, not \(node.typeNameWithArticle)", at: node.location)
      return []
    }
    return members.compactMap { member in
      let value = member.value
      switch value.value {
      case .null:
        return VariableDeclaration(name: member.key, defaultValue: nil, location: member.keyLocation, node: value)
      case .string(let text):
        return VariableDeclaration(name: member.key, defaultValue: text, location: member.keyLocation, node: value)
      case .number(let text):
        return VariableDeclaration(name: member.key, defaultValue: text, location: member.keyLocation, node: value)
      case .bool(let flag):
        // Packer decodes defaults weakly: a boolean becomes "1" or "0".
        return VariableDeclaration(name: member.key, defaultValue: flag ? "1" : "0", location: member.keyLocation, node: value)
      default:
        diagnostics.error(
          "variable '\(Diagnostic.quote(member.key))': the default must be a string or null (required), not \(value.typeNameWithArticle)",
          at: value.location)
        return nil
      }
    }
  }

  mutating func builders(_ node: JSONNode) -> [BuilderDefinition] {
    guard let elements = list(node, "builders") else { return [] }
    var seen: [String: SourceLocation] = [:]
    var result: [BuilderDefinition] = []
    for (offset, element) in elements.enumerated() {
      let index = offset + 1
      guard let members = element.members else {
        diagnostics.error("builder \(index): must be an object, not \(element.typeNameWithArticle)", at: element.location)
        continue
      }
      var type: Located<String>?
      var name: String?
      var rest: [JSONMember] = []
      for member in members {
        switch member.key {
        case "type":
          if let text = string(member.value, "type") { type = Located(text, at: member.value.location) }
        case "name":
          name = string(member.value, "name")
        default:
          rest.append(member)
        }
      }
      guard let type else {
        diagnostics.error("builder \(index): missing 'type'", at: element.location)
        continue
      }
      let buildName = name ?? type.value
      if let first = seen[buildName] {
        diagnostics.error(
          "builder \(index): builder with name '\(Diagnostic.quote(buildName))' already exists (first at line \(first.line)); give each builder a unique \"name\"",
          at: element.location)
        continue
      }
      seen[buildName] = element.location
      var configuration = element
      configuration.value = .object(rest)
      result.append(BuilderDefinition(index: index, name: buildName, type: type, configuration: configuration, location: element.location))
    }
    return result
  }

  mutating func provisioner(_ node: JSONNode, index: Int, label: String) -> ProvisionerDefinition? {
    guard let members = node.members else {
      diagnostics.error("\(label): must be an object, not \(node.typeNameWithArticle)", at: node.location)
      return nil
    }
    var type: Located<String>?
    var definition = ProvisionerDefinition(
      index: index, type: Located("", at: node.location), only: [], except: [], override: [],
      pauseBefore: nil, maxRetries: nil, timeout: nil, configuration: node, location: node.location)
    var rest: [JSONMember] = []
    for member in members {
      let value = member.value
      switch member.key {
      case "type":
        if let text = string(value, "type") { type = Located(text, at: value.location) }
      case "only": definition.only = stringList(value, "only") ?? []
      case "except": definition.except = stringList(value, "except") ?? []
      case "override":
        guard let entries = value.members else {
          diagnostics.error(
            "\(label): 'override' must be an object of build name to configuration, not \(value.typeNameWithArticle)", at: value.location)
          continue
        }
        for entry in entries {
          guard entry.value.members != nil else {
            diagnostics.error(
              "\(label): override '\(Diagnostic.quote(entry.key))' must be an object, not \(entry.value.typeNameWithArticle)",
              at: entry.value.location)
            continue
          }
          definition.override.append((Located(entry.key, at: entry.keyLocation), entry.value))
        }
      case "pause_before":
        if let text = string(value, "pause_before") { definition.pauseBefore = Located(text, at: value.location) }
      case "timeout":
        if let text = string(value, "timeout") { definition.timeout = Located(text, at: value.location) }
      case "max_retries":
        definition.maxRetries = value
      default:
        rest.append(member)
      }
    }
    guard let type else {
      diagnostics.error("\(label): missing 'type'", at: node.location)
      return nil
    }
    definition.type = type
    definition.configuration.value = .object(rest)
    return definition
  }

  mutating func postProcessors(_ node: JSONNode) -> [[PostProcessorDefinition]] {
    guard let elements = list(node, "post-processors") else { return [] }
    var chains: [[PostProcessorDefinition]] = []
    for (offset, element) in elements.enumerated() {
      let chain = offset + 1
      switch element.value {
      case .array(let sequence):
        var definitions: [PostProcessorDefinition] = []
        for (position, item) in sequence.enumerated() {
          if item.elements != nil {
            diagnostics.error("post-processor \(chain).\(position + 1): a sequence cannot contain another sequence", at: item.location)
            continue
          }
          if let definition = postProcessor(item, chain: chain, index: position + 1) { definitions.append(definition) }
        }
        chains.append(definitions)
      default:
        if let definition = postProcessor(element, chain: chain, index: 1) { chains.append([definition]) }
      }
    }
    return chains
  }

  mutating func postProcessor(_ node: JSONNode, chain: Int, index: Int) -> PostProcessorDefinition? {
    let label = "post-processor \(chain).\(index)"
    if let type = node.stringValue {
      var empty = node
      empty.value = .object([])
      return PostProcessorDefinition(
        chain: chain, index: index, type: Located(type, at: node.location), name: type, only: [], except: [],
        keepInputArtifact: nil, configuration: empty, location: node.location)
    }
    guard let members = node.members else {
      diagnostics.error("\(label): must be a type name, an object or a list, not \(node.typeNameWithArticle)", at: node.location)
      return nil
    }
    var type: Located<String>?
    var name: String?
    var only: [Located<String>] = []
    var except: [Located<String>] = []
    var keep: Bool?
    var rest: [JSONMember] = []
    for member in members {
      let value = member.value
      switch member.key {
      case "type": if let text = string(value, "type") { type = Located(text, at: value.location) }
      case "name": name = string(value, "name")
      case "only": only = stringList(value, "only") ?? []
      case "except": except = stringList(value, "except") ?? []
      case "keep_input_artifact":
        switch value.value {
        case .bool(let flag): keep = flag
        case .string(let text) where ["true", "false", "1", "0"].contains(text.lowercased()):
          keep = ["true", "1"].contains(text.lowercased())
        default:
          diagnostics.error("\(label): 'keep_input_artifact' must be a boolean, not \(value.typeNameWithArticle)", at: value.location)
        }
      default: rest.append(member)
      }
    }
    guard let type else {
      diagnostics.error("\(label): missing 'type'", at: node.location)
      return nil
    }
    var configuration = node
    configuration.value = .object(rest)
    return PostProcessorDefinition(
      chain: chain, index: index, type: type, name: name ?? type.value, only: only, except: except,
      keepInputArtifact: keep, configuration: configuration, location: node.location)
  }
}
