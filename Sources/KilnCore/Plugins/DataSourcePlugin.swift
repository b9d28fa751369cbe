import Foundation

/// A data source (HCL2's `data "TYPE" "NAME" { … }`): decoded and checked like any plugin's
/// configuration, then evaluated before the builds, its outputs read as `data.TYPE.NAME.KEY`.
///
/// How a caller (the HCL2 loader's `DataSourceEvaluator` hook) uses one, in two moves:
///
/// 1. `validate(configuration:name:context:)` (no side effects, no network): the block's
///    body, as a `JSONNode` with the block's positions, decoded through `ConfigReader` as the
///    builders are: an unknown key, a wrong type or a missing required option is an error at
///    its `file:line:column`, labelled `data "TYPE" "NAME"`. `kiln validate` stops here.
/// 2. `decode(configuration:name:context:)` gives the plugin (nil when any error was found)
///    with the same diagnostics; `evaluate(_:)` makes its calls and returns a
///    `DataSourceOutput`, or throws a `DataSourceError` naming the block, its position and
///    what went wrong.
///
/// The outputs are a small value tree (`DataSourceValue`) with the names of the outputs that
/// are secrets (`DataSourceOutput.sensitive`): the caller masks them wherever values are shown.
public protocol DataSourcePlugin: Sendable {
  /// The Packer type name, e.g. `amazon-ami`.
  static var typeName: String { get }
  /// The names of every output the data source gives, each always present.
  static var outputNames: [String] { get }
  /// Decodes and checks the configuration, reporting through `reader`. No side effects.
  init(name: String, from reader: inout ConfigReader)
  /// Makes the data source's calls and returns its outputs.
  ///
  /// - Throws: `DataSourceError`, or `CancellationError`.
  func evaluate(_ context: DataSourceContext) async throws -> DataSourceOutput
}

extension DataSourcePlugin {
  /// The label of the block's messages: `data "amazon-ami" "ubuntu"`.
  public static func label(_ name: String) -> String { "data \"\(typeName)\" \"\(name)\"" }

  /// Decodes `configuration` (the block's body) and returns every problem found, with
  /// positions. No side effects beyond `stat`; no network.
  public static func validate(
    configuration: JSONNode, name: String, context: RenderContext = RenderContext(phase: .builder, clock: BuildClock())
  ) -> Diagnostics {
    decode(configuration: configuration, name: name, context: context).diagnostics
  }

  /// The plugin decoded from `configuration`, or nil when there were errors, and the
  /// diagnostics (warnings come with a plugin too).
  public static func decode(
    configuration: JSONNode, name: String, context: RenderContext = RenderContext(phase: .builder, clock: BuildClock())
  ) -> (plugin: Self?, diagnostics: Diagnostics) {
    let sink = DiagnosticSink()
    var reader = ConfigReader(node: configuration, context: context, label: label(name), sink: sink)
    let plugin = Self(name: name, from: &reader)
    reader.finish()
    return (sink.diagnostics.hasErrors ? nil : plugin, sink.diagnostics)
  }
}

/// The data sources of `kiln build`: each block decoded by the registry's plugin of its type
/// and evaluated with `context` (the process's credentials and endpoints).
public struct PluginDataSourceEvaluator: DataSourceEvaluator {
  public var registry: PluginRegistry
  public var context: DataSourceContext

  public init(registry: PluginRegistry, context: DataSourceContext) {
    self.registry = registry
    self.context = context
  }

  public func evaluate(type: String, name: String, configuration: JSONNode) async throws -> DataSourceOutput {
    guard let plugin = registry.dataSources[type] else {
      throw DataSourceError("data \"\(type)\" \"\(name)\": data source type \"\(type)\" is not supported by kiln", at: configuration.location)
    }
    return try await Self.run(plugin, name: name, configuration: configuration, context: context)
  }

  static func run<Plugin: DataSourcePlugin>(
    _: Plugin.Type, name: String, configuration: JSONNode, context: DataSourceContext
  ) async throws -> DataSourceOutput {
    let (plugin, diagnostics) = Plugin.decode(configuration: configuration, name: name)
    guard let plugin else {
      let first = diagnostics.errors.first
      throw DataSourceError(first?.message ?? "\(Plugin.label(name)): invalid configuration", at: first?.location ?? configuration.location)
    }
    return try await plugin.evaluate(context)
  }
}

/// What a data source's evaluation needs from its caller.
public struct DataSourceContext: Sendable {
  /// The process environment (credentials, `AWS_REGION`, service endpoints).
  public var environment: [String: String]
  /// A name for sessions the data source opens (an assumed role's session name).
  public var sessionName: String
  /// The debug log (`KILN_LOG`): every retry of a call.
  public var debug: (@Sendable (String) -> Void)?
  /// The console: retries of a call that keeps failing.
  public var console: (@Sendable (String) -> Void)?

  public init(
    environment: [String: String], sessionName: String = "kiln-data", debug: (@Sendable (String) -> Void)? = nil,
    console: (@Sendable (String) -> Void)? = nil
  ) {
    self.environment = environment
    self.sessionName = sessionName
    self.debug = debug
    self.console = console
  }
}

/// A value a data source gives: HCL's string, number, bool, list and map (cty's object) kinds.
public indirect enum DataSourceValue: Sendable, Equatable {
  case string(String)
  case number(Double)
  case bool(Bool)
  case list([DataSourceValue])
  case map([String: DataSourceValue])
}

/// A data source's outputs, by name, and which of them are secrets.
///
/// Its `description` shows a sensitive output as `<sensitive>`; only `values` gives it.
public struct DataSourceOutput: Sendable, Equatable, CustomStringConvertible, CustomReflectable {
  public var values: [String: DataSourceValue]
  /// The names of the outputs whose values must never be shown (an SSM SecureString's value).
  public var sensitive: Set<String>

  public init(values: [String: DataSourceValue], sensitive: Set<String> = []) {
    self.values = values
    self.sensitive = sensitive
  }

  public subscript(name: String) -> DataSourceValue? { values[name] }

  /// The values as they may be shown, sensitive ones replaced by `<sensitive>`.
  public var shown: [String: DataSourceValue] {
    values.reduce(into: [:]) { shown, entry in shown[entry.key] = sensitive.contains(entry.key) ? .string("<sensitive>") : entry.value }
  }

  public var description: String {
    shown.sorted { $0.key < $1.key }.map { "\($0.key) = \($0.value)" }.joined(separator: ", ")
  }

  public var customMirror: Mirror { Mirror(self, children: ["values": shown, "sensitive": sensitive.sorted()]) }
}

/// Why a data source could not be evaluated: names the block (`data "TYPE" "NAME"`) and,
/// when the decoder knew it, the position of the option at fault (or of the block).
public struct DataSourceError: Error, CustomStringConvertible, Sendable {
  public var message: String
  public var location: SourceLocation?

  public init(_ message: String, at location: SourceLocation?) {
    self.message = message
    self.location = location
  }

  /// The error as a diagnostic, for the caller's list of problems.
  public var diagnostic: Diagnostic { .error(message, at: location) }

  public var description: String { location.map { "\($0): \(message)" } ?? message }
}
