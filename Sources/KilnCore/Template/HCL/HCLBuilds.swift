import Foundation
import KilnHCL

/// `source` and `build` blocks into `Template`'s definitions. Each (build block, source) pair
/// is one build named as Packer names it (`TYPE.NAME`, or `BUILD.TYPE.NAME` when the build
/// block has a name). Provisioners and post-processors are evaluated per build (they may use
/// `source.name` and `build.*`), so each definition is limited (`only`) to its one build.
extension HCLTemplateLoader {
  struct SourceUse {
    var type: String
    var name: String
    var localName: String
    /// The `source` block inside the build: its overrides (without `name`).
    var block: Block?
    var range: HCLRange
    var label: String { "\(type).\(localName)" }
  }

  static let buildSchema = BodySchema(
    attributes: [.init("name"), .init("description"), .init("sources")],
    blocks: [
      .init("source", labels: ["reference"]), .init("provisioner", labels: ["type"]), .init("error-cleanup-provisioner", labels: ["type"]),
      .init("post-processor", labels: ["type"]), .init("post-processors"),
    ])
  static let provisionerKeys: Set<String> = ["name", "pause_before", "max_retries", "timeout", "only", "except", "override"]
  static let postProcessorKeys: Set<String> = ["name", "only", "except", "keep_input_artifact"]

  func template(builds: Bool) -> Template {
    let absolute = URL(fileURLWithPath: root, relativeTo: URL(fileURLWithPath: options.workingDirectory, isDirectory: true)).standardizedFileURL
    var template = Template(
      path: path, directory: absolute.path, location: SourceLocation(path: path, line: 1, column: 1), description: nil,
      minimumPackerVersion: nil, variables: [], sensitiveVariables: [], builders: [], provisioners: [], postProcessors: [], language: .hcl)
    template.variables = variables.map { variable in
      let range = variable.values.first?.range ?? variable.range
      var shown: String?
      if let first = variable.values.first(where: { $0.from == "default" }) {
        shown =
          (try? HCLConvert.convert(first.value, to: .string)).flatMap { if case .string(let text) = $0 { text } else { nil } } ?? "\(first.value)"
      }
      return VariableDeclaration(
        name: variable.name, defaultValue: shown, location: HCLConfiguration.location(variable.range),
        node: JSONNode(.string(shown ?? ""), at: HCLConfiguration.location(range)))
    }
    template.dataSources = dataBlocks.map { Located("\($0.type).\($0.name)", at: HCLConfiguration.location($0.block.definitionRange)) }
    if builds { addBuilds(to: &template) }
    return template
  }

  func addBuilds(to template: inout Template) {
    var sourceBlocks: [String: Block] = [:]
    for block in blocks where block.type == "source" {
      let key = "\(block.labels[0]).\(block.labels[1])"
      if let first = sourceBlocks[key] {
        report(
          "Duplicate source block",
          "This source block has the same builder type and name as a previous block declared at \(first.definitionRange). Each source must have a unique name per builder type.",
          at: block.definitionRange)
        continue
      }
      sourceBlocks[key] = block
    }
    let buildBlocks = blocks.filter { $0.type == "build" }
    if buildBlocks.isEmpty {
      report("Missing build block", "A build block with one or more sources is required for executing a build.", at: nil)
    }
    for block in buildBlocks { addBuild(block, sourceBlocks, to: &template) }
  }

  func addBuild(_ block: Block, _ sourceBlocks: [String: Block], to template: inout Template) {
    let (content, problems) = block.body.content(Self.buildSchema)
    report(problems)
    let outer = context(source: nil, build: nil)
    var buildName = ""
    if let attribute = content[attribute: "name"], case .string(let text)? = evaluate(attribute.expression, outer, as: .string) {
      buildName = text
    }
    if let attribute = content[attribute: "description"], case .string(let text)? = evaluate(attribute.expression, outer, as: .string) {
      template.description = template.description ?? text
    }

    var uses: [SourceUse] = []
    if let attribute = content[attribute: "sources"], case .list(let names, _)? = evaluate(attribute.expression, outer, as: .list(.string)) {
      for case .string(let reference) in names {
        guard let (type, name) = Self.sourceReference(reference) else {
          report(
            "Invalid source reference",
            "A source reference is made of three parts split by a dot `.`: `source.TYPE.NAME`, not \"\(reference)\".",
            at: attribute.expression.range)
          continue
        }
        uses.append(SourceUse(type: type, name: name, localName: name, block: nil, range: attribute.expression.range))
      }
    }
    for inner in content.blocks where inner.type == "source" {
      guard let (type, name) = Self.sourceReference(inner.labels[0]) else {
        report(
          "Invalid source reference", "A source reference is made of three parts split by a dot `.`: `source.TYPE.NAME`.", at: inner.labelRanges[0])
        continue
      }
      var localName = name
      if case .native(let body) = inner.body, let attribute = body.attributes.first(where: { $0.name == "name" }),
        case .string(let text)? = evaluate(attribute.expression, .empty, as: .string)
      {
        localName = text
      } else if case .json(let node) = inner.body, case .object(let properties, _, _) = node.kind,
        let property = properties.first(where: { $0.name == "name" }),
        case .string(let text)? = evaluate(.json(property.value), .empty, as: .string)
      {
        localName = text
      }
      uses.append(SourceUse(type: type, name: name, localName: localName, block: inner, range: inner.definitionRange))
    }
    if uses.isEmpty, !problems.hasErrors {
      report("missing source reference", "a build block must reference at least one source to be built", at: block.definitionRange)
    }

    for use in uses {
      guard let source = sourceBlocks["\(use.type).\(use.name)"] else {
        let known = sourceBlocks.keys.sorted()
        let hint = Suggestions.closest(to: "\(use.type).\(use.name)", in: known).map { "Did you mean to use \"\($0)\"?" } ?? "Known: \(known)"
        report("Unknown source \(use.type).\(use.name)", hint, at: use.range)
        continue
      }
      let fullName = buildName.isEmpty ? use.label : "\(buildName).\(use.label)"
      if template.builders.contains(where: { $0.name == fullName }) {
        report("Duplicate build", "The build \"\(fullName)\" is defined twice.", at: use.range)
        continue
      }
      var writer = HCLConfiguration(context: context(source: (use.type, use.localName), build: nil))
      var configuration = writer.body(source.body, at: source.definitionRange)
      if let overrides = use.block {
        let extra = writer.body(overrides.body, excluding: ["name"], at: overrides.definitionRange)
        configuration = merge(configuration, extra)
      }
      report(writer.diagnostics)
      template.builders.append(
        BuilderDefinition(
          index: template.builders.count + 1, name: fullName,
          type: Located(use.type, at: HCLConfiguration.location(source.labelRanges[0])), configuration: configuration,
          location: HCLConfiguration.location(source.definitionRange), sourceName: use.name))

      let build = buildValue(name: buildName, type: use.type)
      let inner = context(source: (use.type, use.localName), build: build)
      var provisionerIndex = 0
      for item in content.blocks where item.type == "provisioner" {
        provisionerIndex += 1
        if let definition = provisioner(item, index: provisionerIndex, use: use, fullName: fullName, context: inner) {
          template.provisioners.append(definition)
        }
      }
      let cleanups = content.blocks.filter { $0.type == "error-cleanup-provisioner" }
      for extra in cleanups.dropFirst() {
        report("Only one error-cleanup-provisioner is allowed", "", at: extra.definitionRange)
      }
      if let item = cleanups.first, let definition = provisioner(item, index: 1, use: use, fullName: fullName, context: inner) {
        template.errorCleanupProvisioners.append(definition)
      }
      var chainIndex = 0
      for item in content.blocks where item.type == "post-processor" || item.type == "post-processors" {
        chainIndex += 1
        var members: [Block] = [item]
        if item.type == "post-processors" {
          let (chain, problems) = item.body.content(BodySchema(blocks: [.init("post-processor", labels: ["type"])]))
          report(problems)
          members = chain.blocks
        }
        let chain = members.enumerated().compactMap { offset, member in
          postProcessor(member, chain: chainIndex, index: offset + 1, use: use, fullName: fullName, context: inner)
        }
        if !chain.isEmpty { template.postProcessors.append(chain) }
      }
    }
  }

  /// `build.*` in a provisioner or post-processor: `name`, and every key the build will know
  /// (`ID`, `Host`, the builder's own), as the Go-template call the plugin renders late.
  func buildValue(name: String, type: String) -> HCLValue {
    var keys = RenderContext.commonBuildKeys
    if let builder = registry.builders[type] { keys.formUnion(builder.generatedDataKeys) }
    var fields: [String: HCLValue] = ["name": .string(name)]
    for key in keys { fields[key] = .string("{{ build `\(key)` }}") }
    return .object(fields)
  }

  /// `source.TYPE.NAME` (or `TYPE.NAME`).
  static func sourceReference(_ text: String) -> (String, String)? {
    var parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    if parts.count == 3, parts[0] == "source" { parts.removeFirst() }
    guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
    return (parts[0], parts[1])
  }

  /// `source` overrides merged into the source's body, as HCL's `MergeBodies`: an argument set
  /// in both is an error, blocks are added.
  func merge(_ base: JSONNode, _ extra: JSONNode) -> JSONNode {
    guard var members = base.members, let more = extra.members else { return base }
    for member in more {
      guard let index = members.firstIndex(where: { $0.key == member.key }) else {
        members.append(member)
        continue
      }
      if members[index].value.hclForm == .blocks, member.value.hclForm == .blocks, let first = members[index].value.elements,
        let second = member.value.elements
      {
        members[index].value.value = .array(first + second)
        continue
      }
      let first = members[index].keyLocation
      diagnostics.append(
        .error("Duplicate argument; argument \"\(member.key)\" was already set at \(first) (in the source block)", at: member.keyLocation))
    }
    var result = base
    result.value = .object(members)
    return result
  }

  func evaluate(_ expression: HCLExpression, _ context: EvalContext, as type: HCLType) -> HCLValue? {
    let result = expression.evaluate(in: context)
    report(result.diagnostics)
    if result.diagnostics.hasErrors || !result.value.isWhollyKnown || result.value.isNull { return nil }
    do {
      return try HCLConvert.convert(result.value, to: type)
    } catch {
      report("Unsuitable value type", "Unsuitable value: \(error.message)", at: expression.range)
      return nil
    }
  }

  /// The meta-arguments Packer reads itself from a provisioner or post-processor body.
  func metaAttributes(_ body: HCLBody, _ names: Set<String>) -> [String: Attribute] {
    let (content, _) = body.content(BodySchema(attributes: names.sorted().map { .init($0) }))
    return Dictionary(content.attributes.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
  }

  func stringList(_ attribute: Attribute?, _ context: EvalContext) -> [String] {
    guard let attribute, case .list(let items, _)? = evaluate(attribute.expression, context, as: .list(.string)) else { return [] }
    return items.compactMap { if case .string(let text) = $0 { text } else { nil } }
  }

  /// Whether a provisioner or post-processor with these `only`/`except` runs for `use`.
  func applies(only: [String], except: [String], to use: SourceUse, at range: HCLRange) -> Bool {
    if !only.isEmpty, !except.isEmpty {
      report("only one of 'only' or 'except' may be specified", "", at: range)
      return false
    }
    if !only.isEmpty { return only.contains(use.label) }
    return !except.contains(use.label)
  }

  func provisioner(_ block: Block, index: Int, use: SourceUse, fullName: String, context: EvalContext) -> ProvisionerDefinition? {
    let meta = metaAttributes(block.body, Self.provisionerKeys)
    let only = stringList(meta["only"], context)
    let except = stringList(meta["except"], context)
    guard applies(only: only, except: except, to: use, at: block.definitionRange) else { return nil }
    var writer = HCLConfiguration(context: context)
    let configuration = writer.body(block.body, excluding: Self.provisionerKeys, at: block.definitionRange)
    var definition = ProvisionerDefinition(
      index: index, type: Located(block.labels[0], at: HCLConfiguration.location(block.labelRanges[0])),
      only: [Located(fullName, at: HCLConfiguration.location(block.definitionRange))], except: [], override: [], pauseBefore: nil,
      maxRetries: nil, timeout: nil, configuration: configuration, location: HCLConfiguration.location(block.definitionRange))
    if let attribute = meta["override"] {
      let overrides = writer.expression(attribute.expression)
      if let entries = overrides.members {
        for entry in entries where entry.key == use.localName {
          guard entry.value.members != nil else {
            writerError(&writer, "provisioner's override.'\(entry.key)' block must be an HCL object", entry.value)
            continue
          }
          definition.override.append((Located(fullName, at: entry.keyLocation), entry.value))
        }
      } else if !overrides.isNull {
        writerError(&writer, "provisioner's override block must be an HCL object", overrides)
      }
    }
    for (key, keyPath) in [("pause_before", \ProvisionerDefinition.pauseBefore), ("timeout", \ProvisionerDefinition.timeout)] {
      if let attribute = meta[key] {
        let node = writer.expression(attribute.expression)
        if let text = node.stringValue { definition[keyPath: keyPath] = Located(text, at: node.location) }
      }
    }
    if let attribute = meta["max_retries"] { definition.maxRetries = writer.expression(attribute.expression) }
    report(writer.diagnostics)
    return definition
  }

  func writerError(_ writer: inout HCLConfiguration, _ message: String, _ node: JSONNode) {
    diagnostics.error(message, at: node.location)
  }

  func postProcessor(_ block: Block, chain: Int, index: Int, use: SourceUse, fullName: String, context: EvalContext) -> PostProcessorDefinition? {
    let meta = metaAttributes(block.body, Self.postProcessorKeys)
    let only = stringList(meta["only"], context)
    let except = stringList(meta["except"], context)
    guard applies(only: only, except: except, to: use, at: block.definitionRange) else { return nil }
    var name = block.labels[0]
    if let attribute = meta["name"], case .string(let text)? = evaluate(attribute.expression, context, as: .string) { name = text }
    var keep: Bool?
    if let attribute = meta["keep_input_artifact"], case .bool(let flag)? = evaluate(attribute.expression, context, as: .bool) { keep = flag }
    var writer = HCLConfiguration(context: context)
    let configuration = writer.body(block.body, excluding: Self.postProcessorKeys, at: block.definitionRange)
    report(writer.diagnostics)
    return PostProcessorDefinition(
      chain: chain, index: index, type: Located(block.labels[0], at: HCLConfiguration.location(block.labelRanges[0])), name: name,
      only: [Located(fullName, at: HCLConfiguration.location(block.definitionRange))], except: [], keepInputArtifact: keep,
      configuration: configuration, location: HCLConfiguration.location(block.definitionRange))
  }
}
