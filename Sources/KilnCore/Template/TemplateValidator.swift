import Foundation

/// What a run of `validate` (and the first phase of `build`) is given.
public struct ValidationOptions: Sendable {
  public var syntaxOnly = false
  public var variableFiles: [String] = []
  public var assignments: [VariableResolver.Assignment] = []
  /// `-only` / `-except`: build names (and, for `-except`, post-processor names).
  public var only: [String] = []
  public var except: [String] = []
  public var environment: [String: String] = ProcessInfo.processInfo.environment
  public var workingDirectory: String = FileManager.default.currentDirectoryPath
  public var clock = BuildClock()

  public init() {}
}

/// A build whose every plugin decoded its configuration: what `build` will run.
public struct PreparedBuild: Sendable {
  public var name: String
  public var definition: BuilderDefinition
  public var builder: any BuilderPlugin
  public var provisioners: [PreparedProvisioner]
  public var errorCleanupProvisioner: PreparedProvisioner?
  public var postProcessors: [[PreparedPostProcessor]]
}

public struct PreparedProvisioner: Sendable {
  public var definition: ProvisionerDefinition
  public var plugin: any ProvisionerPlugin
  public var pauseBefore: Double?
  public var timeout: Double?
  public var maxRetries: Int
}

public struct PreparedPostProcessor: Sendable {
  public var definition: PostProcessorDefinition
  public var plugin: any PostProcessorPlugin
}

/// The outcome of validation: everything found, and the builds that can run.
public struct Validation: Sendable {
  public var template: Template?
  public var variables: ResolvedVariables?
  public var builds: [PreparedBuild] = []
  public var diagnostics = Diagnostics()
}

/// Loads a template and checks all of it without touching the network or writing a file:
/// the template's shape, variables, the template's cross-references, and every plugin's
/// configuration. Reports every problem at once.
public enum TemplateValidator {
  /// Validates the template at `path`: Packer JSON, or HCL2 (`.pkr.hcl`, `.pkr.json`, a
  /// directory) chosen by name as Packer does. An HCL template's data sources are not run
  /// (validation makes no cloud call): their outputs are unknown.
  public static func validate(path: String, options: ValidationOptions, registry: PluginRegistry) -> Validation {
    if HCLInputs.isHCL(path) {
      return validate(HCLTemplateLoader.load(path: path, options: options, registry: registry), options: options, registry: registry)
    }
    return validate(TemplateLoader.load(path: path), options: options, registry: registry)
  }

  /// As `validate(path:options:registry:)`, running an HCL template's data sources with
  /// `dataSources` (what `build` needs). A Packer JSON template has none.
  public static func validate(
    path: String, options: ValidationOptions, registry: PluginRegistry, dataSources: any DataSourceEvaluator
  ) async -> Validation {
    guard HCLInputs.isHCL(path) else { return validate(path: path, options: options, registry: registry) }
    let loaded = await HCLTemplateLoader.load(path: path, options: options, registry: registry, dataSources: dataSources)
    return validate(loaded, options: options, registry: registry)
  }

  /// Validates a template already in memory (the fuzzer's entry, and tests).
  public static func validate(_ file: SourceFile, options: ValidationOptions, registry: PluginRegistry) -> Validation {
    validate(TemplateLoader.load(file), options: options, registry: registry)
  }

  static func validate(_ loaded: TemplateLoader.Result, options: ValidationOptions, registry: PluginRegistry) -> Validation {
    var validation = Validation()
    validation.diagnostics.append(contentsOf: loaded.diagnostics)
    guard let template = loaded.template else { return validation }
    validation.template = template
    if options.syntaxOnly {
      checkInterpolationSyntax(template, &validation.diagnostics)
      return validation
    }
    let variables = VariableResolver.resolve(
      template: template, variableFiles: options.variableFiles, assignments: options.assignments,
      context: baseContext(template, options))
    check(template, variables, options, registry, &validation)
    return validation
  }

  /// An HCL template: its variables were resolved while loading it (sources need them).
  static func validate(_ loaded: HCLLoaded, options: ValidationOptions, registry: PluginRegistry) -> Validation {
    var validation = Validation()
    validation.diagnostics.append(contentsOf: loaded.diagnostics)
    guard let template = loaded.template else { return validation }
    validation.template = template
    validation.variables = loaded.variables
    if options.syntaxOnly { return validation }
    check(
      template, loaded.variables ?? ResolvedVariables(values: [:], sensitiveValues: [], diagnostics: Diagnostics()), options, registry, &validation)
    validation.diagnostics = loaded.withExcerpts(validation.diagnostics)
    return validation
  }

  static func baseContext(_ template: Template, _ options: ValidationOptions) -> RenderContext {
    RenderContext(
      phase: .variables, clock: options.clock, environment: options.environment,
      templateDirectory: template.directory, workingDirectory: options.workingDirectory)
  }

  /// Whether a `-only`/`-except` name selects `name`: equal, or for an HCL template a glob
  /// (`*`, `?`, `[…]`), as Packer ≥ 1.7 matches them.
  static func matches(_ pattern: String, _ name: String, _ template: Template) -> Bool {
    guard template.language == .hcl else { return pattern == name }
    return fnmatch(pattern, name, 0) == 0
  }

  static func check(
    _ template: Template, _ variables: ResolvedVariables, _ options: ValidationOptions, _ registry: PluginRegistry,
    _ validation: inout Validation
  ) {
    let baseContext = baseContext(template, options)
    validation.variables = variables
    validation.diagnostics.append(contentsOf: variables.diagnostics)

    checkReferences(template, &validation.diagnostics)
    checkTypes(template, registry, &validation.diagnostics)
    checkMinimumVersion(template, &validation.diagnostics)

    for name in options.only + options.except {
      let known =
        template.builders.contains { matches(name, $0.name, template) }
        || template.postProcessors.joined().contains { matches(name, $0.name, template) }
      if !known {
        validation.diagnostics.warning("-only/-except names '\(name)', which is not a build or post-processor in this template", at: nil)
      }
    }

    var context = baseContext
    context.variables = variables.values
    context.declaredVariables = Set(template.variables.map(\.name))
    for definition in template.builders {
      if !options.only.isEmpty, !options.only.contains(where: { matches($0, definition.name, template) }) { continue }
      if options.except.contains(where: { matches($0, definition.name, template) }) { continue }
      if let build = prepare(definition, template, context, options, registry, &validation.diagnostics) {
        validation.builds.append(build)
      }
    }
  }

  // MARK: - Template-level checks

  static func checkReferences(_ template: Template, _ diagnostics: inout Diagnostics) {
    // An HCL template's loader says "Missing build block" itself.
    if template.builders.isEmpty, template.language == .json {
      diagnostics.error("at least one builder must be defined", at: template.location)
    }
    let names = Set(template.builders.map(\.name))
    func check(_ list: [Located<String>], _ what: String, _ label: String) {
      for name in list where !names.contains(name.value) {
        let hint = Suggestions.closest(to: name.value, in: names).map { "; did you mean '\($0)'?" } ?? ""
        diagnostics.error("\(label): '\(what)' specified builder '\(Diagnostic.quote(name.value))' not found\(hint)", at: name.location)
      }
    }
    var provisioners = template.provisioners.map { ("provisioner \($0.index)", $0) }
    provisioners += template.errorCleanupProvisioners.map { ("error-cleanup-provisioner", $0) }
    for (label, provisioner) in provisioners {
      if !provisioner.only.isEmpty, !provisioner.except.isEmpty {
        diagnostics.error("\(label): only one of 'only' or 'except' may be specified", at: provisioner.location)
      }
      check(provisioner.only, "only", label)
      check(provisioner.except, "except", label)
      for (name, _) in provisioner.override where !names.contains(name.value) {
        let hint = Suggestions.closest(to: name.value, in: names).map { "; did you mean '\($0)'?" } ?? ""
        diagnostics.error("\(label): override '\(Diagnostic.quote(name.value))' doesn't exist\(hint)", at: name.location)
      }
    }
    for postProcessor in template.postProcessors.joined() {
      let label = "post-processor \(postProcessor.chain).\(postProcessor.index)"
      if !postProcessor.only.isEmpty, !postProcessor.except.isEmpty {
        diagnostics.error("\(label): only one of 'only' or 'except' may be specified", at: postProcessor.location)
      }
      check(postProcessor.only, "only", label)
      check(postProcessor.except, "except", label)
    }
  }

  /// Every plugin type named anywhere must be one Kiln has, whether or not a selected build
  /// uses it (the per-build pass reports the same problem; duplicates are merged).
  static func checkTypes(_ template: Template, _ registry: PluginRegistry, _ diagnostics: inout Diagnostics) {
    let supported = registry.supportedTypes
    for builder in template.builders where registry.builders[builder.type.value] == nil {
      diagnostics.error(unsupported("builder", builder.type.value, supported.builders), at: builder.type.location)
    }
    for provisioner in template.provisioners + template.errorCleanupProvisioners
    where registry.provisioners[provisioner.type.value] == nil {
      diagnostics.error(unsupported("provisioner", provisioner.type.value, supported.provisioners), at: provisioner.type.location)
    }
    for postProcessor in template.postProcessors.joined() where registry.postProcessors[postProcessor.type.value] == nil {
      diagnostics.error(unsupported("post-processor", postProcessor.type.value, supported.postProcessors), at: postProcessor.type.location)
    }
  }

  static func checkMinimumVersion(_ template: Template, _ diagnostics: inout Diagnostics) {
    guard let required = template.minimumPackerVersion else { return }
    guard let wanted = SemanticVersion(required.value) else {
      diagnostics.error("'min_packer_version' is not a version: \"\(Diagnostic.quote(required.value))\"", at: required.location)
      return
    }
    let ours = SemanticVersion(KilnVersion.packerCompatibility)!
    if wanted > ours {
      diagnostics.error(
        "this template requires Packer version \(Diagnostic.quote(required.value)) or higher; kiln follows Packer \(KilnVersion.packerCompatibility)",
        at: required.location)
    }
  }

  /// `-syntax-only`: the template's `{{ }}` expressions must parse (as Packer's does not
  /// check, so this only warns, to keep Packer's verdict).
  static func checkInterpolationSyntax(_ template: Template, _ diagnostics: inout Diagnostics) {
    func visit(_ node: JSONNode) {
      switch node.value {
      case .string(let text) where text.contains("{{"):
        do { try Interpolator.check(text) } catch {
          diagnostics.warning("template expression will not render: \(error.message)", at: node.location(ofDecodedByte: error.offset))
        }
      case .array(let items): for item in items { visit(item) }
      case .object(let members): for member in members { visit(member.value) }
      default: break
      }
    }
    for builder in template.builders { visit(builder.configuration) }
    for provisioner in template.provisioners { visit(provisioner.configuration) }
    for postProcessor in template.postProcessors.joined() { visit(postProcessor.configuration) }
  }

  // MARK: - Builds

  static func prepare(
    _ definition: BuilderDefinition, _ template: Template, _ baseContext: RenderContext,
    _ options: ValidationOptions, _ registry: PluginRegistry, _ diagnostics: inout Diagnostics
  ) -> PreparedBuild? {
    let sink = DiagnosticSink()
    var context = baseContext
    context.phase = .builder
    context.buildType = definition.type.value
    // The build name may use {{user}}; Packer renders it once variables are known.
    var buildName = definition.name
    if buildName.contains("{{") {
      if let rendered = try? Interpolator.render(buildName, in: context).output { buildName = rendered }
    }
    context.buildName = definition.sourceName ?? buildName

    var builder: (any BuilderPlugin)?
    var buildKeys = RenderContext.commonBuildKeys
    if let type = registry.builders[definition.type.value] {
      var builderContext = context
      builderContext.deferredFields = type.generatedDataKeys
      var reader = ConfigReader(
        node: definition.configuration, context: builderContext, lateKeys: type.lateKeys,
        label: "\(Diagnostic.quote(definition.type.value)) builder \"\(Diagnostic.quote(buildName))\"", sink: sink)
      builder = type.init(from: &reader)
      reader.finish()
      buildKeys.formUnion(type.generatedDataKeys)
    } else {
      sink.append(.error(unsupported("builder", definition.type.value, registry.supportedTypes.builders), at: definition.type.location))
    }

    var provisioners: [PreparedProvisioner] = []
    var provisionerContext = context
    provisionerContext.phase = .provisioner
    provisionerContext.buildKeys = buildKeys
    for provisioner in template.provisioners where provisioner.applies(to: definition.name) {
      if let prepared = prepareProvisioner(
        provisioner, label: "provisioner \(provisioner.index)", definition.name, builder, provisionerContext, registry, sink)
      {
        provisioners.append(prepared)
      }
    }
    var cleanup: PreparedProvisioner?
    if let provisioner = template.errorCleanupProvisioners.first(where: { $0.applies(to: definition.name) }) {
      cleanup = prepareProvisioner(provisioner, label: "error-cleanup-provisioner", definition.name, builder, provisionerContext, registry, sink)
    }

    var chains: [[PreparedPostProcessor]] = []
    var postContext = context
    postContext.phase = .postProcessor
    postContext.buildKeys = buildKeys
    for chain in template.postProcessors {
      var prepared: [PreparedPostProcessor] = []
      for postProcessor in chain {
        // Packer: -except naming a post-processor drops it and the rest of its chain.
        if options.except.contains(where: { matches($0, postProcessor.name, template) }) { break }
        guard postProcessor.applies(to: definition.name) else { continue }
        let label = "post-processor \(postProcessor.chain).\(postProcessor.index) (\(Diagnostic.quote(postProcessor.type.value)))"
        guard let type = registry.postProcessors[postProcessor.type.value] else {
          sink.append(
            .error(unsupported("post-processor", postProcessor.type.value, registry.supportedTypes.postProcessors), at: postProcessor.type.location))
          continue
        }
        var reader = ConfigReader(node: postProcessor.configuration, context: postContext, lateKeys: type.lateKeys, label: label, sink: sink)
        let plugin = type.init(from: &reader)
        reader.finish()
        prepared.append(PreparedPostProcessor(definition: postProcessor, plugin: plugin))
      }
      if !prepared.isEmpty { chains.append(prepared) }
    }

    diagnostics.append(contentsOf: sink.diagnostics)
    guard let builder, !sink.diagnostics.hasErrors else { return nil }
    return PreparedBuild(
      name: buildName, definition: definition, builder: builder, provisioners: provisioners,
      errorCleanupProvisioner: cleanup, postProcessors: chains)
  }

  static func prepareProvisioner(
    _ provisioner: ProvisionerDefinition, label: String, _ buildName: String, _ builder: (any BuilderPlugin)?,
    _ context: RenderContext, _ registry: PluginRegistry, _ sink: DiagnosticSink
  ) -> PreparedProvisioner? {
    let label = "\(label) (\(Diagnostic.quote(provisioner.type.value)))"
    guard let type = registry.provisioners[provisioner.type.value] else {
      sink.append(.error(unsupported("provisioner", provisioner.type.value, registry.supportedTypes.provisioners), at: provisioner.type.location))
      return nil
    }
    var reader = ConfigReader(
      node: provisioner.configuration(for: buildName), context: context, lateKeys: type.lateKeys,
      label: label, sink: sink)
    let plugin = type.init(from: &reader)
    reader.finish()
    if type.needsCommunicator, let builder, !builder.hasCommunicator {
      sink.append(
        .error(
          "\(label): needs a connection to the machine, but build '\(Diagnostic.quote(buildName))' has \"communicator\": \"none\"",
          at: provisioner.type.location))
    }
    func duration(_ value: Located<String>?, _ key: String) -> Double? {
      guard let value else { return nil }
      let text = (try? Interpolator.render(value.value, in: context).output) ?? value.value
      guard let seconds = GoDuration.parse(text) else {
        sink.append(.error("\(label): '\(key)' must be a duration such as \"30s\" or \"5m\", not \"\(Diagnostic.quote(text))\"", at: value.location))
        return nil
      }
      return seconds
    }
    let pause = duration(provisioner.pauseBefore, "pause_before")
    let timeout = duration(provisioner.timeout, "timeout")
    var retries = 0
    if let node = provisioner.maxRetries {
      var text: String?
      switch node.value {
      case .number(let n): text = n
      case .string(let s): text = (try? Interpolator.render(s, in: context).output) ?? s
      default: text = nil
      }
      if let text, let value = Int(text), value >= 0 {
        retries = value
      } else if !(text?.isEmpty ?? false) {
        sink.append(
          .error(
            "\(label): 'max_retries' must be a non-negative integer, not \(text.map { "\"\(Diagnostic.quote($0))\"" } ?? node.typeNameWithArticle)",
            at: node.location))
      }
    }
    return PreparedProvisioner(definition: provisioner, plugin: plugin, pauseBefore: pause, timeout: timeout, maxRetries: retries)
  }

  static func unsupported(_ kind: String, _ type: String, _ supported: [String]) -> String {
    let hint = Suggestions.closest(to: type, in: supported).map { "; did you mean \"\($0)\"?" } ?? ""
    return "\(kind) type \"\(Diagnostic.quote(type))\" is not supported by kiln\(hint) (kiln supports: \(supported.joined(separator: ", ")))"
  }
}

/// `MAJOR.MINOR.PATCH` with optional pre-release, enough for `min_packer_version`.
public struct SemanticVersion: Comparable, Sendable {
  public var parts: [Int]

  public init?(_ text: String) {
    let core = text.trimmingCharacters(in: .whitespaces).drop { $0 == "v" }.split(separator: "-").first ?? ""
    let parts = core.split(separator: ".").map { Int($0) }
    guard !parts.isEmpty, parts.count <= 3, parts.allSatisfy({ $0 != nil }) else { return nil }
    self.parts = parts.map { $0! } + Array(repeating: 0, count: 3 - parts.count)
  }

  public static func < (lhs: SemanticVersion, rhs: SemanticVersion) -> Bool {
    lhs.parts.lexicographicallyPrecedes(rhs.parts)
  }
}
