import Foundation
import KilnHCL

/// Runs a data source (`data "amazon-ami" "NAME" { … }`) for a build: given the block's
/// configuration as a plugin decodes it (positions kept, already checked by the type's
/// `DataSourcePlugin.validate`), returns its outputs (`id`, `name`, … for `amazon-ami`;
/// `value`, `version`, `arn` for `amazon-parameterstore`) and which of them are secrets.
/// Validation has none: outputs are then unknown, and what depends on them validates as far
/// as it can. `kiln build` passes `PluginDataSourceEvaluator`.
public protocol DataSourceEvaluator: Sendable {
  func evaluate(type: String, name: String, configuration: JSONNode) async throws -> DataSourceOutput
}

/// An HCL template read into a `Template`, its variables resolved.
struct HCLLoaded {
  var template: Template?
  var variables: ResolvedVariables?
  var diagnostics: Diagnostics
  /// Every file read, by path: for the source lines under later diagnostics.
  var sources: [String: [UInt8]] = [:]

  /// `diagnostics` with the source line and a caret added to each one that stands in one of
  /// the template's files and has none (the plugins' problems, found after loading).
  func withExcerpts(_ diagnostics: Diagnostics) -> Diagnostics {
    var result = Diagnostics()
    for var diagnostic in diagnostics.items {
      if diagnostic.excerpt == nil, let location = diagnostic.location, let bytes = sources[location.path] {
        diagnostic.excerpt = Self.excerpt(bytes, line: location.line, column: location.column)
      }
      result.append(diagnostic)
    }
    return result
  }

  static func excerpt(_ bytes: [UInt8], line: Int, column: Int) -> SourceExcerpt? {
    var lineStart = 0
    var current = 1
    while current < line {
      guard let newline = bytes[lineStart...].firstIndex(of: 0x0A) else { return nil }
      lineStart = newline + 1
      current += 1
    }
    var offset = lineStart
    var scalars = 1
    while scalars < column, offset < bytes.count, bytes[offset] != 0x0A {
      offset += 1
      while offset < bytes.count, bytes[offset] & 0xC0 == 0x80 { offset += 1 }
      scalars += 1
    }
    return SourceExcerpt(bytes: bytes, lineStart: lineStart, offset: offset)
  }
}

/// Reads an HCL2 template (a `.pkr.hcl`/`.pkr.json` file, or a directory of them) the way
/// Packer's `hcl2template` does, phase by phase: parse every file, `packer` blocks (version),
/// variables and their values (defaults < `PKR_VAR_` < auto var files < `-var-file` <
/// `-var`), then (not for `-syntax-only`) validation rules, data sources, locals in
/// dependency order, and every `build` block's sources, provisioners and post-processors,
/// each turned into the definitions and `JSONNode` configurations Packer JSON gives, so the
/// plugins decode both the same way.
final class HCLTemplateLoader {
  let path: String
  let options: ValidationOptions
  let registry: PluginRegistry
  let root: String
  var diagnostics = Diagnostics()
  var sources: [String: [UInt8]] = [:]
  var contents: [BodyContent] = []
  var variables: [HCLInputVariable] = []
  var locals: [(name: String, expression: HCLExpression, range: HCLRange, sensitive: Bool)] = []
  var dataBlocks: [(type: String, name: String, block: Block)] = []
  var dataValues: [String: [String: HCLValue]] = [:]
  /// The strings of every sensitive data source output (an SSM SecureString's value).
  var dataSecrets: [String] = []
  var localValues: [String: HCLValue] = [:]
  var functions: [String: HCLFunction]

  init(path: String, options: ValidationOptions, registry: PluginRegistry) {
    self.path = path
    self.options = options
    self.registry = registry
    self.root = HCLInputs.root(path)
    self.functions = HCLFunctions.table(baseDirectory: HCLInputs.root(path), options: options)
  }

  // MARK: - Entry points

  static func load(path: String, options: ValidationOptions, registry: PluginRegistry) -> HCLLoaded {
    let loader = HCLTemplateLoader(path: path, options: options, registry: registry)
    guard loader.parse() else { return loader.result(nil) }
    if options.syntaxOnly { return loader.result(loader.template(builds: false)) }
    loader.checkVariableValues()
    loader.assumeUnknownDataSources()
    for index in loader.dataBlocks.indices { _ = loader.dataConfiguration(index) }
    loader.evaluateLocals()
    return loader.result(loader.template(builds: true))
  }

  static func load(
    path: String, options: ValidationOptions, registry: PluginRegistry, dataSources: any DataSourceEvaluator
  ) async -> HCLLoaded {
    let loader = HCLTemplateLoader(path: path, options: options, registry: registry)
    guard loader.parse() else { return loader.result(nil) }
    if options.syntaxOnly { return loader.result(loader.template(builds: false)) }
    loader.checkVariableValues()
    if !loader.diagnostics.hasErrors { await loader.evaluateDataSources(dataSources) }
    loader.evaluateLocals()
    return loader.result(loader.template(builds: true))
  }

  func result(_ template: Template?) -> HCLLoaded {
    HCLLoaded(template: template, variables: template == nil ? nil : resolvedVariables(), diagnostics: diagnostics, sources: sources)
  }

  // MARK: - Diagnostics

  func report(_ hcl: [HCLDiagnostic]) {
    for item in hcl { diagnostics.append(kiln(item)) }
  }

  func report(_ summary: String, _ detail: String, at range: HCLRange?, severity: HCLDiagnostic.Severity = .error) {
    report([HCLDiagnostic(severity, summary: summary, detail: detail, subject: range)])
  }

  /// An HCL diagnostic as Kiln's: `FILE:LINE:COL: error: Summary; detail`, with the source
  /// line and carets under the range.
  func kiln(_ hcl: HCLDiagnostic) -> Diagnostic {
    let range = hcl.subject ?? hcl.context
    let location = range.map(HCLConfiguration.location)
    var excerpt: SourceExcerpt?
    if let range, let bytes = sources[range.filename], let lines = hcl.excerptLines(source: bytes) {
      excerpt = SourceExcerpt(line: lines.line, caret: lines.carets)
    }
    return Diagnostic(hcl.severity == .error ? .error : .warning, hcl.message, at: location, excerpt: excerpt)
  }

  // MARK: - Parsing (what -syntax-only checks)

  static let rootSchema = BodySchema(blocks: [
    .init("packer"), .init("source", labels: ["type", "name"]), .init("variable", labels: ["name"]), .init("variables"),
    .init("locals"), .init("local", labels: ["name"]), .init("build"), .init("data", labels: ["type", "name"]),
  ])

  /// Reads every file and the blocks that need no evaluation beyond variables; false when
  /// nothing more can be checked.
  func parse() -> Bool {
    guard FileManager.default.fileExists(atPath: path) else {
      diagnostics.error("cannot read template \(path): no such file or directory", at: nil)
      return false
    }
    let files = HCLInputs.files(path, HCLInputs.configSuffixes)
    if files.isEmpty {
      report(
        "Could not find any config file in \(path)", "A config file must be suffixed with `.pkr.hcl` or `.pkr.json`. A folder can be referenced.",
        at: nil)
      return false
    }
    var parsed: [HCLFile] = []
    for file in files {
      guard let hcl = HCLInputs.read(file) else {
        diagnostics.error("cannot read template file \(file)", at: nil)
        continue
      }
      sources[file] = hcl.bytes
      report(hcl.diagnostics)
      parsed.append(hcl)
    }
    if diagnostics.hasErrors { return false }
    for file in parsed {
      let (content, problems) = file.body.content(Self.rootSchema)
      report(problems)
      contents.append(content)
    }
    guard checkPackerBlocks() else { return false }
    decodeVariables()
    decodeDataBlocks()
    decodeLocals()
    collectVariableValues()
    return true
  }

  var blocks: [Block] { contents.flatMap(\.blocks) }

  /// `packer { required_version = "…"  required_plugins { … } }`.
  func checkPackerBlocks() -> Bool {
    let ours = SemanticVersion(KilnVersion.packerCompatibility)!
    var versionOK = true
    for block in blocks where block.type == "packer" {
      let (content, problems) = block.body.content(
        BodySchema(attributes: [.init("required_version")], blocks: [.init("required_plugins")]))
      report(problems)
      if let attribute = content[attribute: "required_version"] {
        let value = attribute.expression.evaluate(in: .empty)
        report(value.diagnostics)
        guard case .string(let text) = value.value, let constraint = VersionConstraint(text) else {
          report(
            "Invalid version constraint", "This string does not use correct version constraint syntax (such as \">= 1.7.0, < 2\").",
            at: attribute.expression.range)
          versionOK = false
          continue
        }
        if !constraint.allows(ours) {
          report(
            "Unsupported Packer Core version",
            "This configuration does not support Packer version \(KilnVersion.packerCompatibility), the version whose template language kiln implements. To proceed, either choose another supported Packer version or update the root module's version constraint. Version constraints are normally set for good reason, so updating the constraint may lead to other errors or unexpected behavior.",
            at: attribute.expression.range)
          versionOK = false
        }
      }
      for plugins in content.blocks {
        let (attributes, problems) = plugins.body.justAttributes()
        report(problems)
        for attribute in attributes { notePlugin(attribute) }
      }
    }
    return versionOK
  }

  /// Kiln's plugins are built in: `packer init` has nothing to install. A plugin Kiln does not
  /// have is accepted (Packer would install it), with a note saying its components are not
  /// available.
  func notePlugin(_ attribute: Attribute) {
    let value = attribute.expression.evaluate(in: .empty)
    report(value.diagnostics)
    var source = ""
    if case .object(let fields) = value.value, case .string(let text)? = fields["source"] { source = text }
    if case .string(let text) = value.value { source = text }
    let builtIn = ["github.com/hashicorp/amazon"]
    if builtIn.contains(source.lowercased()) {
      report(
        "Plugin built in", "kiln has the \"\(attribute.name)\" plugin (\(source)) built in: no `packer init` is needed.",
        at: attribute.nameRange, severity: .warning)
    } else {
      report(
        "Plugin not available",
        "kiln does not have the \"\(attribute.name)\" plugin\(source.isEmpty ? "" : " (\(source))"), and cannot install plugins: its components are not supported by kiln. kiln's plugins are built in (no `packer init` is needed).",
        at: attribute.nameRange, severity: .warning)
    }
  }

  // MARK: - Data sources

  func decodeDataBlocks() {
    var seen: [String: HCLRange] = [:]
    for block in blocks where block.type == "data" {
      let type = block.labels[0]
      let name = block.labels[1]
      if let first = seen["\(type).\(name)"] {
        report(
          "Duplicate data block",
          "This data block has the same data type and name as a previous block declared at \(first). Each data must have a unique name per builder type.",
          at: block.definitionRange)
        continue
      }
      seen["\(type).\(name)"] = block.definitionRange
      guard registry.dataSources[type] != nil else {
        let supported = registry.dataSources.keys.sorted()
        report(
          "Unsupported data source type",
          "data source type \"\(type)\" is not supported by kiln (kiln supports: \(supported.joined(separator: ", "))).",
          at: block.labelRanges[0])
        continue
      }
      dataBlocks.append((type, name, block))
    }
  }

  /// Validation makes no cloud call: every output is unknown.
  func assumeUnknownDataSources() {
    for (type, name, _) in dataBlocks {
      let outputs = registry.dataSources[type]?.outputNames ?? []
      dataValues[type, default: [:]][name] = .unknown(.object(Dictionary(uniqueKeysWithValues: outputs.map { ($0, HCLType.dynamic) })))
    }
  }

  /// The configuration of `dataBlocks[index]` as its plugin decodes it, checked by the
  /// plugin's own decoding (unknown key, wrong type, missing option: every problem, at its
  /// position); nil when anything is wrong. No side effects, no network.
  func dataConfiguration(_ index: Int) -> JSONNode? {
    let (type, name, block) = dataBlocks[index]
    var writer = HCLConfiguration(context: context(source: nil, build: nil))
    let configuration = writer.body(block.body, at: block.definitionRange)
    report(writer.diagnostics)
    guard let plugin = registry.dataSources[type] else { return nil }
    let context = RenderContext(
      phase: .builder, clock: options.clock, environment: options.environment, templateDirectory: root,
      workingDirectory: options.workingDirectory)
    let problems = plugin.validate(configuration: configuration, name: name, context: context)
    diagnostics.append(contentsOf: problems)
    return writer.diagnostics.hasErrors || problems.hasErrors ? nil : configuration
  }

  /// Runs the data sources, each after those it refers to. A data source that fails is
  /// reported at its position (`data "TYPE" "NAME": …`), and what uses it stays unknown.
  func evaluateDataSources(_ evaluator: any DataSourceEvaluator) async {
    let order = dataSourceOrder()
    // Every block checked first, the outputs unknown as in validate: a problem in any of
    // them is reported with all the others, and no data source is called.
    let before = diagnostics
    assumeUnknownDataSources()
    for index in dataBlocks.indices { _ = dataConfiguration(index) }
    for (type, name, _) in dataBlocks { dataValues[type, default: [:]][name] = .dynamicUnknown }
    if diagnostics.hasErrors { return }
    diagnostics = before // each block's warnings come again below, with its real values
    for index in order {
      let (type, name, block) = dataBlocks[index]
      guard let configuration = dataConfiguration(index) else { return }
      do {
        let outputs = try await evaluator.evaluate(type: type, name: name, configuration: configuration)
        dataValues[type, default: [:]][name] = .object(outputs.values.mapValues(Self.value))
        for key in outputs.sensitive { outputs[key].map(addSecrets) }
      } catch let error as DataSourceError {
        diagnostics.append(error.diagnostic)
      } catch {
        report("data \"\(type)\" \"\(name)\": \(error)", "", at: block.definitionRange)
      }
      // After an error the builds are not run: the other data sources are not called.
      if diagnostics.hasErrors { return }
    }
  }

  /// Every string of a sensitive output, to be masked.
  func addSecrets(_ value: DataSourceValue) {
    switch value {
    case .string(let text): if !text.isEmpty { dataSecrets.append(text) }
    case .number, .bool: break
    case .list(let elements): elements.forEach(addSecrets)
    case .map(let members): members.values.forEach(addSecrets)
    }
  }

  /// Indices of `dataBlocks`, each after the data sources it refers to; a cycle is reported.
  func dataSourceOrder() -> [Int] {
    var index: [String: Int] = [:]
    for (offset, item) in dataBlocks.enumerated() { index["\(item.type).\(item.name)"] = offset }
    var order: [Int] = []
    var state: [Int: Bool] = [:] // false: in progress, true: done
    func visit(_ offset: Int, _ chain: [String]) {
      if state[offset] == true { return }
      let item = dataBlocks[offset]
      let key = "\(item.type).\(item.name)"
      if state[offset] == false {
        report("Cycle in data sources", "data.\((chain + [key]).joined(separator: " -> data."))", at: item.block.definitionRange)
        return
      }
      // Packer's bound (`recursivelyEvaluateDatasources`), which also bounds this recursion.
      if chain.count > 10 {
        report(
          "Max datasource recursion depth exceeded.",
          "An error occured while recursively evaluating data sources. Either your data source depends on more than ten other data sources, or your data sources have a cyclic dependency. Please simplify your config to continue.",
          at: item.block.definitionRange)
        return
      }
      state[offset] = false
      for traversal in Self.traversals(of: item.block.body) where traversal.root == "data" {
        guard traversal.steps.count >= 2, case .attribute(let type, _) = traversal.steps[0], case .attribute(let name, _) = traversal.steps[1],
          let dependency = index["\(type).\(name)"]
        else { continue }
        visit(dependency, chain + [key])
      }
      state[offset] = true
      order.append(offset)
    }
    for offset in dataBlocks.indices { visit(offset, []) }
    return order
  }

  static func traversals(of body: HCLBody) -> [HCLTraversal] {
    switch body {
    case .native(let native):
      native.attributes.flatMap(\.expression.traversals) + native.blocks.flatMap { traversals(of: $0.body) }
    case .json(let node):
      HCLExpression.json(node).traversals
    }
  }

  /// A data source's output as an HCL value.
  static func value(_ output: DataSourceValue) -> HCLValue {
    switch output {
    case .string(let text): .normalized(text)
    case .number(let number): HCLNumber(parsing: String(number)).map(HCLValue.number) ?? .dynamicNull
    case .bool(let flag): .bool(flag)
    case .list(let elements): .tuple(elements.map(value))
    case .map(let members): .object(members.mapValues(value))
    }
  }

  // MARK: - Locals

  func decodeLocals() {
    var seen: [String: HCLRange] = [:]
    func add(_ name: String, _ expression: HCLExpression, _ range: HCLRange, sensitive: Bool) {
      if seen[name] != nil {
        report("Duplicate local definition", "Duplicate \(name) definition found.", at: expression.range)
        return
      }
      seen[name] = range
      locals.append((name, expression, range, sensitive))
    }
    for block in blocks {
      switch block.type {
      case "locals":
        let (attributes, problems) = block.body.justAttributes()
        report(problems)
        for attribute in attributes { add(attribute.name, attribute.expression, attribute.range, sensitive: false) }
      case "local":
        let (content, problems) = block.body.content(BodySchema(attributes: [.init("expression", required: true), .init("sensitive")]))
        report(problems)
        guard let expression = content[attribute: "expression"] else { continue }
        var sensitive = false
        if let attribute = content[attribute: "sensitive"] {
          let value = attribute.expression.evaluate(in: .empty)
          report(value.diagnostics)
          if case .bool(let flag) = value.value { sensitive = flag }
        }
        add(block.labels[0], expression.expression, block.definitionRange, sensitive: sensitive)
      default:
        break
      }
    }
  }

  /// Evaluates every local after the locals it uses; a local that uses itself, directly or
  /// through others, is one error naming the chain, at the reference that closes it.
  func evaluateLocals() {
    var index: [String: Int] = [:]
    for (offset, local) in locals.enumerated() { index[local.name] = offset }
    var done: Set<String> = []
    var failed: Set<String> = []
    var base = context(source: nil, build: nil)
    // Depth first without recursion (a chain of thousands of locals must not exhaust the
    // stack): each entry is a local being visited and the next of its references to follow.
    var stack: [(name: String, references: [HCLTraversal], next: Int)] = []
    var onStack: Set<String> = []
    for local in locals where !done.contains(local.name) {
      stack.append((local.name, local.expression.traversals, 0))
      onStack.insert(local.name)
      while let top = stack.last {
        if top.next < top.references.count {
          stack[stack.count - 1].next += 1
          let traversal = top.references[top.next]
          guard traversal.root == "local", let dependency = traversal.firstAttribute, let offset = index[dependency],
            !done.contains(dependency)
          else { continue }
          if onStack.contains(dependency) {
            let names = stack.map(\.name)
            let cycle = names[(names.firstIndex(of: dependency) ?? 0)...] + [dependency]
            report(
              "Cycle in local variables", "local.\(dependency) refers to itself: \(cycle.map { "local.\($0)" }.joined(separator: " -> ")).",
              at: traversal.range)
            failed.formUnion(cycle)
            continue
          }
          stack.append((dependency, locals[offset].expression.traversals, 0))
          onStack.insert(dependency)
          continue
        }
        stack.removeLast()
        onStack.remove(top.name)
        done.insert(top.name)
        var value = HCLValue.dynamicUnknown
        if !failed.contains(top.name), let offset = index[top.name] {
          base.variables?["local"] = .object(localValues)
          let result = locals[offset].expression.evaluate(in: base)
          // Let go of the context's copy before `localValues` changes, or every change
          // copies the whole dictionary (quadratic in the number of locals).
          base.variables?["local"] = nil
          report(result.diagnostics)
          if !result.diagnostics.hasErrors { value = result.value }
        }
        localValues[top.name] = value
      }
    }
  }

  // MARK: - Evaluation contexts

  /// What expressions see: `var`, `local`, `data`, `path`, `packer`, and `source` and `build`
  /// as a build gives them (unknown outside one).
  func context(source: (type: String, name: String)?, build: HCLValue?) -> EvalContext {
    let sourceValue: HCLValue =
      source.map { .object(["type": .string($0.type), "name": .string($0.name)]) }
      ?? .object(["type": .unknown(.string), "name": .unknown(.string)])
    let cwd = options.workingDirectory
    return EvalContext(
      variables: [
        "var": .object(inputValues()),
        "local": .object(localValues),
        "data": .object(dataValues.mapValues { .object($0) }),
        "path": .object(["cwd": .string(cwd), "root": .string(root)]),
        "packer": .object(["version": .string(KilnVersion.packerCompatibility), "iterationID": .unknown(.string)]),
        "source": sourceValue,
        "build": build ?? .unknown(.emptyObject),
      ],
      functions: functions)
  }
}

extension SourceExcerpt {
  /// An excerpt made elsewhere (HCL's, with carets under a whole range).
  init(line: String, caret: String) {
    self.line = line
    self.caret = caret
  }
}
